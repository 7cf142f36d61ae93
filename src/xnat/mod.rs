//! Talking to XNAT: credentials, the session-keeping client with its typed errors, and the
//! preflight that checks the server and the user's role before any write.

pub mod client;
pub mod credentials;
pub mod listing;
pub mod preflight;

pub use client::{parse_base, ClientOptions, XnatClient, XnatError};
pub use credentials::{CredentialInputs, CredentialSource, Credentials};
