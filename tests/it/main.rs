//! The integration tests: one binary, one module per area, real services from `support`.

mod archive;
mod catalogue;
mod daemon;
mod first_hour;
mod inspect;
mod install;
mod model;
mod registry;
mod registry_cli;
mod rules;
mod secrets;
mod status;
mod support;
mod sync;
mod xnat_tls;
