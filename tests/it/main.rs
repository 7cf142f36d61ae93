//! The integration tests: one binary, one module per area, real services from `support`.

mod archive;
mod daemon;
mod install;
mod model;
mod registry;
mod support;
