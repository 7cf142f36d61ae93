//! The catalogue's loopback server for answers no real service gives on demand: registry
//! quirks under `/v2/q-<quirk>/…` (HTML, endless and truncated bodies, wrong digests, redirect
//! loops, broken token servers), and XNAT quirks under `/x/<quirk>/…`, which forward to the
//! real emulator except for the one request the quirk replaces (a login page with 200, an SSO
//! redirect, invalid UTF-8, an array where an object belongs…), so XNAT's state is the
//! emulator's and "nothing written" is checked there.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::support::images::BuiltImage;

/// A login page, as XNAT (or an SSO proxy in front of it) serves one.
const LOGIN_PAGE: &str = "<!DOCTYPE html><html><head><title>XNAT Login</title></head><body><form action=\"/login\"></form></body></html>";

struct Shared {
    /// The emulator's base URL, without a trailing slash.
    upstream: String,
    /// The image the registry quirks serve (or corrupt).
    image: BuiltImage,
    port: u16,
    http: reqwest::Client,
}

pub struct QuirkServer {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl QuirkServer {
    pub fn start(upstream: &str, image: BuiltImage) -> Self {
        let upstream = upstream.trim_end_matches('/').to_string();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("quirk server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the quirk server");
                let port = listener.local_addr().expect("local addr").port();
                let shared = Arc::new(Shared {
                    upstream,
                    image,
                    port,
                    http: reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .expect("proxy client"),
                });
                let app = Router::new().fallback(handle).with_state(shared);
                let _ = ready_tx.send(port);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let port = ready_rx.recv().expect("the quirk server started");
        QuirkServer {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, the registry host of the registry quirks.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The XNAT base URL whose answers carry `quirk`.
    pub fn xnat(&self, quirk: &str) -> String {
        format!("http://127.0.0.1:{}/x/{quirk}", self.port)
    }
}

impl Drop for QuirkServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/x/") {
        let (quirk, rest) = rest.split_once('/').unwrap_or((rest, ""));
        return xnat(&s, quirk.to_string(), rest.to_string(), req).await;
    }
    registry(&s, &path, req.headers())
}

fn respond(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).expect("status");
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_str(content_type).expect("content type"),
    );
    r
}

/// 64 KiB chunks forever: a body no cap can be reached the end of.
fn endless() -> Body {
    let chunk = Bytes::from(vec![b'['; 64 * 1024]);
    Body::from_stream(futures::stream::repeat_with(move || {
        Ok::<_, std::io::Error>(chunk.clone())
    }))
}

/// The start of `bytes`, then the connection is cut (after a pause, so the head is sent
/// first rather than dropped with the connection).
fn truncated(bytes: &[u8]) -> Body {
    let head = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
    let parts = futures::stream::unfold(Some(head), |head| async move {
        match head {
            Some(h) => Some((Ok(h), None)),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                Some((Err(std::io::Error::other("cut")), None))
            }
        }
    });
    Body::from_stream(futures::StreamExt::take(parts, 2))
}

fn redirect(status: u16, to: &str) -> Response {
    let mut r = respond(status, "text/plain", "");
    r.headers_mut()
        .insert("location", HeaderValue::from_str(to).expect("location"));
    r
}

// ---- registry ---------------------------------------------------------------------------

fn registry(s: &Shared, path: &str, headers: &HeaderMap) -> Response {
    let img = &s.image;
    let base = format!("http://127.0.0.1:{}", s.port);
    match path {
        "/v2/" | "/v2" => return respond(200, "application/json", "{}"),
        "/token-html" => return respond(200, "text/html", LOGIN_PAGE),
        "/token-endless" => return respond(200, "application/json", endless()),
        "/token-notjson" => return respond(200, "application/json", "token=abc"),
        "/login" => return respond(200, "text/html", LOGIN_PAGE),
        _ => {}
    }
    let Some(rest) = path.strip_prefix("/v2/q-") else {
        return respond(404, "text/plain", "not here");
    };
    let Some((quirk, what)) = rest.split_once('/') else {
        return respond(404, "text/plain", "not here");
    };
    let manifest = || {
        let mut r = respond(
            200,
            &img.manifest_media_type,
            Body::from(img.manifest_bytes.clone()),
        );
        r.headers_mut().insert(
            "docker-content-digest",
            HeaderValue::from_str(&img.manifest_digest).expect("digest"),
        );
        r
    };
    let is_manifest = what.starts_with("manifests/");
    let challenge = |realm: &str| {
        let mut r = respond(
            401,
            "application/json",
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        if !realm.is_empty() {
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_str(realm).expect("challenge"),
            );
        }
        r
    };
    let bearer = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes().starts_with(b"Bearer "));
    match (quirk, is_manifest) {
        ("html", true) => respond(200, "text/html", LOGIN_PAGE),
        ("html-error", true) => respond(502, "text/html", LOGIN_PAGE),
        ("unknownmedia", true) => respond(
            200,
            "application/vnd.example.thing+json",
            r#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}"#,
        ),
        ("schema1", true) => respond(
            200,
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            r#"{"schemaVersion":1,"name":"q","tag":"1","fsLayers":[],"history":[]}"#,
        ),
        ("notjson", true) => respond(200, &img.manifest_media_type, "this is not json"),
        ("array", true) => respond(200, &img.manifest_media_type, "[]"),
        ("emptyobj", true) => respond(200, &img.manifest_media_type, "{}"),
        ("endless", true) => respond(200, &img.manifest_media_type, endless()),
        ("truncated", true) => respond(
            200,
            &img.manifest_media_type,
            truncated(&img.manifest_bytes),
        ),
        ("loop", true) => redirect(307, &format!("{base}{path}")),
        ("sso", true) => redirect(302, &format!("{base}/login")),
        ("endless404", true) => respond(404, "application/json", endless()),
        ("endless401", true) => {
            let mut r = respond(401, "application/json", endless());
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"q\""),
            );
            r
        }
        ("always500", true) => respond(500, "text/plain", "internal error"),
        ("nochallenge", true) => challenge(""),
        ("badchallenge", true) => challenge("Bearer"),
        ("tokenhtml", true) if !bearer => {
            challenge(&format!(r#"Bearer realm="{base}/token-html",service="q""#))
        }
        ("tokenendless", true) if !bearer => challenge(&format!(
            r#"Bearer realm="{base}/token-endless",service="q""#
        )),
        ("tokennotjson", true) if !bearer => challenge(&format!(
            r#"Bearer realm="{base}/token-notjson",service="q""#
        )),
        ("wrongheader", true) => {
            let mut r = manifest();
            r.headers_mut().insert(
                "docker-content-digest",
                HeaderValue::from_static(
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                ),
            );
            r
        }
        (_, true) => manifest(),
        // Blobs: the config, or its quirk.
        ("badblob", false) => respond(
            200,
            "application/octet-stream",
            br#"{"config":{"Labels":{}}}"#.to_vec(),
        ),
        ("endlessblob", false) => respond(200, "application/octet-stream", endless()),
        ("blob404", false) => respond(
            404,
            "application/json",
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#,
        ),
        ("blobloop", false) => redirect(307, &format!("{base}{path}")),
        (_, false) => respond(
            200,
            "application/octet-stream",
            Body::from(img.config_bytes.clone()),
        ),
    }
}

// ---- XNAT ---------------------------------------------------------------------------------

/// The quirk's answer to `method rest`, or `None` to forward to the emulator.
fn xnat_quirk(quirk: &str, method: &Method, rest: &str) -> Option<Response> {
    let get = method == Method::GET;
    let r = match quirk {
        "login200" => respond(200, "text/html;charset=UTF-8", LOGIN_PAGE),
        "sso302" => redirect(302, "https://sso.example.org/idp/login?service=xnat"),
        "all401" => respond(401, "text/html", LOGIN_PAGE),
        "jsession-html" if rest == "data/JSESSION" && method == Method::POST => {
            respond(200, "text/html", LOGIN_PAGE)
        }
        "jsession-empty" if rest == "data/JSESSION" && method == Method::POST => {
            respond(200, "text/plain", "")
        }
        "whoami-garbage" if rest == "data/auth" => respond(200, "text/plain", "hello there"),
        "buildinfo-array" if rest == "xapi/siteConfig/buildInfo" => {
            respond(200, "application/json", "[]")
        }
        "plugins-without-cs" if rest == "xapi/plugins" => {
            respond(200, "application/json", r#"{"batchLaunch":{"version":"1.0"}}"#)
        }
        "plugins-array" if rest == "xapi/plugins" => respond(200, "application/json", "[]"),
        "roles-object" if rest.starts_with("xapi/users/") => {
            respond(200, "application/json", r#"{"roles":["Administrator"]}"#)
        }
        "projects-array" if rest == "data/projects" => respond(200, "application/json", "[]"),
        "list-html-json" if get && rest == "xapi/commands" => {
            respond(200, "application/json", LOGIN_PAGE)
        }
        "list-login200" if get && rest == "xapi/commands" => {
            respond(200, "text/html", LOGIN_PAGE)
        }
        "list-badutf8" if get && rest == "xapi/commands" => respond(
            200,
            "application/json",
            b"[{\"name\":\"caf\xe9\xff\"}]".to_vec(),
        ),
        "list-object" if get && rest == "xapi/commands" => {
            respond(200, "application/json", r#"{"commands":[]}"#)
        }
        "list-empty" if get && rest == "xapi/commands" => respond(200, "application/json", ""),
        "list-endless" if get && rest == "xapi/commands" => {
            respond(200, "application/json", endless())
        }
        "list-truncated" if get && rest == "xapi/commands" => respond(
            200,
            "application/json",
            truncated(br#"[{"id":1,"name":"x","xnat":[]}]"#),
        ),
        "list-500-html" if get && rest == "xapi/commands" => respond(
            500,
            "text/html",
            "<html><body><h1>HTTP Status 500 – Internal Server Error</h1><pre>java.lang.NullPointerException\n\tat org.nrg</pre></body></html>",
        ),
        "list-sso302" if get && rest == "xapi/commands" => {
            redirect(302, "https://sso.example.org/idp/login")
        }
        // Issue 19: a command whose id is null was updated as `POST /xapi/commands/0`; one
        // whose `xnat` is a string was updated in place. Both are the installed `cat-tool` of
        // an older tag, so without the shape check the run would write an update.
        "list-id-null" if get && rest == "xapi/commands" => respond(
            200,
            "application/json",
            r#"[{"id":null,"name":"cat-tool","version":"1","image":"lab/installed:0","type":"docker","command-line":"run","xnat":[]}]"#,
        ),
        "list-xnat-string" if get && rest == "xapi/commands" => respond(
            200,
            "application/json",
            r#"[{"id":7,"name":"cat-tool","version":"1","image":"lab/installed:0","type":"docker","command-line":"run","xnat":"cat-tool-session"}]"#,
        ),
        "list-wrapper-id-null" if get && rest == "xapi/commands" => respond(
            200,
            "application/json",
            r#"[{"id":7,"name":"cat-tool","version":"1","image":"lab/installed:0","type":"docker","command-line":"run","xnat":[{"id":null,"name":"cat-tool-session"}]}]"#,
        ),
        "enabled-array" if get && rest.ends_with("/enabled") => {
            respond(200, "application/json", "[]")
        }
        "enabled-string" if get && rest.ends_with("/enabled") => {
            respond(200, "application/json", "\"yes\"")
        }
        _ => return None,
    };
    Some(r)
}

async fn xnat(s: &Shared, quirk: String, rest: String, req: Request) -> Response {
    if let Some(r) = xnat_quirk(&quirk, req.method(), &rest) {
        return r;
    }
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("{}/{rest}{query}", s.upstream);
    let method = req.method().clone();
    let mut out = s.http.request(method, url);
    for (k, v) in req.headers() {
        if k != "host" {
            out = out.header(k, v);
        }
    }
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let resp = match out.body(body).send().await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap_or_default();
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(status).expect("status");
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            r.headers_mut().insert(k, v.clone());
        }
    }
    r
}
