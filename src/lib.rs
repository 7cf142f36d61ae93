//! xnat-cmd: XNAT Container Service commands from image labels to a running XNAT.
//!
//! The data flow, one module per step:
//! 1. [`source`] reads an image's config from a registry, a daemon or an archive
//!    (with [`platform`] selection and the shared [`source::manifest`] model; with keys,
//!    [`cosign`] decides whether a registry image's signature is accepted);
//! 2. [`labels`] takes the `org.nrg.commands` label apart into raw commands, reading JSON as
//!    leniently as XNAT does ([`lenient_json`]);
//! 3. [`command`] gives typed, XNAT-lenient access to each command and validates it with
//!    Container Service's own rules and messages;
//! 4. [`xnat`], [`plan`] and [`apply`] compare with what XNAT has and write the difference.
// Unit tests read their fixtures directly; the product reads files and the environment only
// through `limits` and `env` (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod apply;
pub mod atomic;
pub mod command;
pub mod cosign;
pub mod credentials;
pub mod digest;
pub mod enablement;
pub mod env;
pub mod export;
pub mod fleet;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod labels;
pub mod lenient_json;
pub mod limits;
pub mod pipeline;
pub mod platform;
pub mod problem;
pub mod reference;
pub mod schema;
pub mod secret;
pub mod source;
#[cfg(test)]
mod source_files;
pub mod status;
pub mod summary;
pub mod sync;
mod tls;

pub use command::validate::validate;
pub use command::{CommandView, Diagnostic, Form, Severity};
pub use digest::Digest;
pub use env::Env;
pub use labels::{parse_label, ParsedLabel, LABEL_KEY};
pub use platform::Platform;
pub use source::{ImageRecord, ReadOptions, ReadResult, SourceOptions, SourceSpec};
pub mod plan;
pub mod xnat;
