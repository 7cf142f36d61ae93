//! The registry client of a run, as callers see it: made once, shared by every read, each read
//! run as its own task. What it shares lives below it: `read` (documents and cache), `auth`
//! (tokens per scope or planned scope set, remembered challenges, credentials) and `transport`
//! (schemes, keep-alive connections, a concurrency bound per registry, retries, redirects).

use std::sync::Arc;

use tracing::Instrument as _;

use super::read::Run;
use super::{RegistryError, RegistryOptions};
use crate::credentials::{Chain, CredentialEnv};
use crate::reference::Reference;
use crate::source::{ReadOptions, ReadResult};

/// The registry client of a run; every read runs as its own task.
pub struct RegistryClient {
    run: Arc<Run>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

/// Aborts the read's task when the caller stops waiting for it (deadline, Ctrl-C).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RegistryClient {
    pub fn new(opts: &RegistryOptions) -> Result<Self, RegistryError> {
        let chain = Chain::new(&opts.credentials, &CredentialEnv::from_env(&opts.env))?;
        Self::with_chain(opts, chain)
    }

    /// Reads the `--registry-ca` files now; the HTTP clients are built on first use.
    pub fn with_chain(opts: &RegistryOptions, chain: Chain) -> Result<Self, RegistryError> {
        Ok(RegistryClient {
            run: Arc::new(Run::new(opts, chain)?),
        })
    }

    /// HTTP requests answered so far (every hop, token requests included).
    pub fn requests(&self) -> u64 {
        self.run.transport.requests()
    }

    /// Announce the references this run will read, so that reads of several repositories on
    /// one token registry share one token request per set of up to 16 repositories instead of
    /// one each. Optional: without it every repository gets its own token. Texts that are not
    /// valid references are left out (their reads report the error).
    pub fn plan<'a>(&self, references: impl IntoIterator<Item = &'a str>) {
        let parsed: Vec<Reference> = references
            .into_iter()
            .filter_map(|t| Reference::parse(t).ok())
            .collect();
        self.run.auth.plan(&parsed);
    }

    /// Read one reference's labels (one record, or one per platform with `all_platforms`).
    ///
    /// The read runs as its own task, on the runtime's workers next to the connection tasks
    /// it talks to: awaited in place, inside the caller's single `join_all` task on the
    /// `block_on` thread, every response woke that thread across cores (measured on 40 images:
    /// 733 → 291 context switches, 31 → 25 ms CPU per run).
    pub async fn read(&self, text: &str, opts: &ReadOptions) -> Result<ReadResult, RegistryError> {
        let run = self.run.clone();
        let (text, opts) = (text.to_string(), opts.clone());
        let work = async move { run.read(&text, &opts).await };
        let mut task = AbortOnDrop(tokio::spawn(work.in_current_span()));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task (our own abort runs when nobody
            // awaits any more); the caller is being torn down with it.
            Err(_) => std::future::pending().await,
        }
    }
}
