//! Integration tests of the emulator: each test starts it in-process on 127.0.0.1:0 and talks
//! HTTP to it with reqwest, as a client would.

mod auth;
mod cli;
mod commands;
mod corpus;
mod enablement;
mod faults;
mod support;
mod tls;

// The root crate's rcgen test PKI, the same file rather than a second copy.
#[path = "../../../tests/it/support/pki.rs"]
mod pki;
