//! Test-only behaviour, not part of XNAT: the request log and write counter, injected faults
//! (fail the Nth write or writes matching a path, slow responses, forced login redirects,
//! every session ended at the Nth write),
//! and the `/__emulator/` hook endpoints that expose them over HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::reply;
use crate::state::{Emulator, Inner, LoggedRequest};

/// Prefix of the test hooks, outside every XNAT path.
pub const HOOKS: &str = "/__emulator";

/// Switchable faults; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Faults {
    /// Answer the Nth write (1-based, POST/PUT/DELETE under `/xapi`) with a 500.
    pub fail_nth_write: Option<u64>,
    /// Answer every write whose path contains this text with a 500.
    pub fail_writes_matching: Option<String>,
    /// Delay every response by this many milliseconds.
    pub delay_ms: u64,
    /// Answer every `/xapi` and `/data` request with a 302 to the login page.
    pub force_login_redirect: bool,
    /// End every session when the Nth write (1-based, as `fail_nth_write` counts) arrives,
    /// before it is served: it and every request after it on an old session find the session
    /// expired, as after XNAT's session timeout or a restart.
    pub expire_sessions_at_write: Option<u64>,
}

fn is_write(method: &Method, path: &str) -> bool {
    (method == Method::POST || method == Method::PUT || method == Method::DELETE)
        && path.starts_with("/xapi/")
}

/// Outermost middleware: apply faults, then log the request with its final status.
pub async fn record(State(app): State<Arc<Inner>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if path.starts_with(HOOKS) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let (faults, write_no) = {
        let mut st = app.state();
        let write_no = is_write(&method, &path).then(|| {
            st.writes += 1;
            st.writes
        });
        if write_no.is_some() && write_no == st.faults.expire_sessions_at_write {
            st.sessions.clear();
        }
        (st.faults.clone(), write_no)
    };
    if faults.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
    }
    let injected = write_no.is_some_and(|n| {
        faults.fail_nth_write == Some(n)
            || faults
                .fail_writes_matching
                .as_deref()
                .is_some_and(|m| path.contains(m))
    });
    let response = if injected {
        reply::advice(500, "emulator fault injected")
    } else if faults.force_login_redirect
        && (path.starts_with("/xapi") || path.starts_with("/data"))
    {
        crate::auth::login_redirect(&app)
    } else {
        next.run(req).await
    };
    app.state().log.push(LoggedRequest {
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
    });
    response
}

fn emulator(app: &Arc<Inner>) -> Emulator {
    Emulator {
        inner: Arc::clone(app),
    }
}

/// `GET /__emulator/log`.
pub async fn log(State(app): State<Arc<Inner>>) -> Response {
    reply::json(200, &json!(emulator(&app).log()))
}

/// `GET /__emulator/counters`: requests by method, and writes.
pub async fn counters(State(app): State<Arc<Inner>>) -> Response {
    let st = app.state();
    let mut by_method: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &st.log {
        *by_method.entry(r.method.as_str()).or_default() += 1;
    }
    reply::json(
        200,
        &json!({"requests": st.log.len(), "writes": st.writes, "by-method": by_method}),
    )
}

/// `POST /__emulator/reset`: clear the log and write counter.
pub async fn reset(State(app): State<Arc<Inner>>) -> Response {
    emulator(&app).reset_log();
    reply::empty(204)
}

/// `GET /__emulator/state`.
pub async fn state(State(app): State<Arc<Inner>>) -> Response {
    reply::json(200, &emulator(&app).dump())
}

/// `GET /__emulator/faults`.
pub async fn get_faults(State(app): State<Arc<Inner>>) -> Response {
    reply::json(200, &json!(app.state().faults))
}

/// `PUT /__emulator/faults` with a [`Faults`] JSON body (missing keys = off).
pub async fn put_faults(State(app): State<Arc<Inner>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            app.state().faults = f;
            reply::empty(204)
        }
        Err(e) => reply::text(400, format!("invalid faults: {e}")),
    }
}
