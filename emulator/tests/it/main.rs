//! Integration tests of the emulator: each test starts it in-process on 127.0.0.1:0 and talks
//! HTTP to it with reqwest, as a client would.
// Test code reads fixtures, logs and its own environment directly (clippy.toml bans that in
// the product only).
#![allow(clippy::disallowed_methods)]

mod auth;
mod available;
mod cli;
mod clients;
mod commands;
mod corpus;
mod enablement;
mod faults;
mod images_save;
mod lenient;
mod state;
mod support;
mod tls;
mod wrapper_config;
mod wrappers;

// The root package's rcgen test PKI, from the shared test kit rather than a second copy.
use xnat_cmd_testkit::pki;
