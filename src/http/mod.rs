//! The HTTP layer every client of a server sits on (the registry's transport, the XNAT client,
//! the Pushgateway; the container daemon speaks HTTP over its own socket but takes the user
//! agent and the CA bundle reader from here): when to try a request again ([`retry`]), how a
//! body is read within a cap ([`body`]: a document whole, an error body's start), and how a
//! client is built ([`client`]: user agent, CA bundle, timeouts, proxies). An error body
//! becomes one line of a message through the one summariser, [`crate::summary`].
//!
//! Each client keeps its own typed errors and maps what this layer reports into them, so a
//! message still names the server, the document and the flag that helps; this layer owns the
//! rules, and their deliberate differences between servers are the fields of
//! [`retry::Policy`].

pub mod body;
pub mod client;
pub mod retry;

pub use body::{read_capped, read_prefix, BodyError};
pub use client::{ca_bundle, pem_certificates, CaError, USER_AGENT};
pub use retry::{Decision, Outcome, Policy, Repeat};
