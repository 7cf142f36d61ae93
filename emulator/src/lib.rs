//! An emulator of XNAT Container Service 3.7.3 on XNAT 1.9 (spec: xnat-container-service.md §7).
//!
//! It is stateful, not a mock: commands, wrapper ids, enablement, users, tokens and sessions
//! live in memory and follow the real server's rules, so the project's tests, README quickstart
//! and benchmarks all run against the same thing. Validation and GET normalisation come from
//! the `xnat_cmd` library itself, so the emulator can never disagree with the client's rules.
//!
//! [`start`] binds a loopback port and returns a [`Running`] handle with the base URL and test
//! access to the state ([`Emulator`]); [`cli::Args`] turns the binary's flags into a [`Config`].

// Handlers return ready XNAT answers as `Err(Response)` for early exits; boxing them would
// only add noise on a test server's cold paths.
#![allow(clippy::result_large_err)]

mod auth;
mod available;
pub mod cli;
mod commands;
mod config;
mod docker;
mod enablement;
mod endpoints;
mod faults;
mod info;
mod reply;
mod router;
mod snapshot;
mod state;
mod tls;
mod wrapper_config;
mod wrappers;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Backend, Config, LabelledImage, Level, Project, Token, User, VersionMode};
pub use faults::Faults;
pub use snapshot::{Access, Counters, Snapshot, StateFileError, TokenEntry, UserEntry};
pub use state::{Emulator, LoggedRequest};
pub use tls::TlsError;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("refusing to bind `{addr}`: the emulator listens on loopback only (127.0.0.1 or ::1)")]
    NotLoopback { addr: SocketAddr },
    #[error(
        "invalid context path `{path}`: use \"\" or a path like /xnat without a trailing slash"
    )]
    ContextPath { path: String },
    #[error("failed to bind `{addr}`")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("HTTPS needs both a certificate and a key: pass --tls-cert FILE and --tls-key FILE together")]
    TlsPair,
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A started emulator; dropping it does not stop the server, call [`Running::shutdown`].
pub struct Running {
    addr: SocketAddr,
    context_path: String,
    https: bool,
    emulator: Emulator,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Base URL including the context path, without a trailing slash
    /// (`http://127.0.0.1:PORT`, `https://127.0.0.1:PORT/xnat`, ...).
    pub fn url(&self) -> String {
        let host = match self.addr {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        };
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}{}", self.context_path)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// State and counters, for tests.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stop accepting connections and wait for the server task to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Start the emulator on `addr` (port 0 picks a free port). Loopback addresses only.
/// With [`Config::tls_cert`] and [`Config::tls_key`] set it serves HTTPS.
pub async fn start(config: Config, addr: SocketAddr) -> Result<Running, StartError> {
    if !addr.ip().is_loopback() {
        return Err(StartError::NotLoopback { addr });
    }
    let ctx = config.context_path.clone();
    if !(ctx.is_empty() || (ctx.starts_with('/') && !ctx.ends_with('/') && ctx.len() > 1)) {
        return Err(StartError::ContextPath { path: ctx });
    }
    // Read the TLS files before binding: a bad file is the user's error, not a port problem.
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        (None, None) => None,
        _ => return Err(StartError::TlsPair),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let emulator = Emulator::new(config);
    let app = router::build(Arc::clone(&emulator.inner));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let https = tls.is_some();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = match tls {
        None => tokio::spawn(async move {
            // As Tomcat (tcpNoDelay="true" by default): an answer is not held back waiting for
            // the client's ACK of its first segment.
            use axum::serve::ListenerExt as _;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown);
            if let Err(e) = serve.await {
                tracing::error!("emulator server failed: {e}");
            }
        }),
        Some(config) => {
            let listener = tls::TlsListener::new(listener, bound, config);
            tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown);
                if let Err(e) = serve.await {
                    tracing::error!("emulator server failed: {e}");
                }
            })
        }
    };
    Ok(Running {
        addr: bound,
        context_path: ctx,
        https,
        emulator,
        stop,
        task,
    })
}
