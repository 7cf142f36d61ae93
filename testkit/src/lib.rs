//! Test fixtures shared by three users: `xnat-cmd`'s integration tests (`tests/it`), its
//! examples (`examples/registry_testbed.rs`, `examples/make_bench_archive.rs`) and the
//! emulator's tests (the PKI).
//!
//! A crate of its own (`publish = false`) rather than files the examples pull in with
//! `#[path]`: an example that includes a test file compiles it a second time under other
//! lints and module paths, so every helper had to be written "standalone" and
//! `#[allow(dead_code)]`-ed; as a crate it is compiled once, has one module tree and real
//! `pub` items. It holds only what the examples or the emulator need too; fixtures that
//! exercise the library itself (Podman, the emulator harness, the CLI sandbox) stay in
//! `tests/it/support`.
//!
//! - [`corpus`]: where the corpus of real command files is, and its skip line;
//! - [`cosign`]: cosign signatures made in Rust (P-256 key, payload, signature manifest);
//! - [`fault_proxy`]: a seeded HTTP fault proxy between `xnat-cmd` and a real upstream;
//! - [`images`]: OCI/Docker images built in code (labels → config → layers → manifest),
//!   written as OCI layouts and archives, or by skopeo;
//! - [`pki`]: a throw-away CA and server certificate for loopback TLS;
//! - [`pushgateway`]: the Prometheus Pushgateway (Debian's) on a loopback port;
//! - [`registry`]: the CNCF `docker-registry` on a loopback port (plain, Basic, TLS, token);
//! - [`token_server`]: a Docker-style token server for the registry's token mode.
// Test code reads fixtures, logs and its own environment directly (clippy.toml bans that in
// the product only).
#![allow(clippy::disallowed_methods)]

pub mod corpus;
pub mod cosign;
pub mod fault_proxy;
pub mod images;
pub mod pki;
pub mod pushgateway;
pub mod registry;
pub mod token_server;
