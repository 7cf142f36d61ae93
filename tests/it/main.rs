//! The integration tests: one binary, one module per area, real services from `support`.
// Test code reads fixtures, logs and its own environment directly (clippy.toml bans that in
// the product only).
#![allow(clippy::disallowed_methods)]

mod alerts;
mod archive;
mod bulk_reads;
mod catalogue;
mod cosign;
mod daemon;
mod dist;
mod docs;
mod export;
mod faults;
mod first_hour;
mod fleet_format;
mod inspect;
mod install;
mod lenient;
mod model;
mod pushgateway;
mod registry;
mod registry_cli;
mod rules;
mod schema;
mod secrets;
mod status;
mod support;
mod sync;
mod xnat_tls;
