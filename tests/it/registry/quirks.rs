//! Registry behaviours no local registry shows, from a small loopback server: a blob
//! redirect to another host (no Authorization may follow), 429 with Retry-After, a
//! schema1-only answer, a wrong Docker-Content-Digest, an HTML page instead of JSON.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::*;
use crate::support::images::BuiltImage;

#[derive(Default)]
struct Seen {
    /// (path, Authorization header) of every request.
    requests: Vec<(String, Option<String>)>,
    rate_limited_once: bool,
}

struct Quirks {
    image: BuiltImage,
    port: u16,
    seen: Mutex<Seen>,
}

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer quirk-token")
}

async fn handle(State(q): State<Arc<Quirks>>, Path(path): Path<String>, h: HeaderMap) -> Response {
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    q.seen.lock().unwrap().requests.push((path.clone(), auth));
    let manifest = || {
        (
            [
                ("content-type", q.image.manifest_media_type.clone()),
                ("docker-content-digest", q.image.manifest_digest.clone()),
            ],
            q.image.manifest_bytes.clone(),
        )
            .into_response()
    };
    if path == "token" {
        return axum::Json(json!({"access_token": "quirk-token", "expires_in": 300}))
            .into_response();
    }
    if path == "token-huge" {
        // A lifetime no clock can hold: adding it to `Instant::now()` panicked.
        return axum::Json(json!({"token": "huge-token", "expires_in": u64::MAX})).into_response();
    }
    if let Some(rest) = path.strip_prefix("cdn/") {
        assert_eq!(rest, q.image.config_digest);
        return q.image.config_bytes.clone().into_response();
    }
    let Some(rest) = path.strip_prefix("v2/") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (repo, what) = rest.split_once('/').unwrap_or((rest, ""));
    match (repo, what) {
        ("redirect", w) => {
            if !authorized(&h) {
                let realm = format!("http://127.0.0.1:{}/token", q.port);
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", format!(r#"Bearer realm="{realm}",service="quirks",scope="repository:redirect:pull""#))],
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                )
                    .into_response();
            }
            if w.starts_with("manifests/") {
                return manifest();
            }
            // The blob lives on "another host": same server, addressed as localhost.
            (StatusCode::TEMPORARY_REDIRECT, [("location", format!("http://localhost:{}/cdn/{}", q.port, q.image.config_digest))])
                .into_response()
        }
        ("ratelimited", w) if w.starts_with("manifests/") => {
            let mut seen = q.seen.lock().unwrap();
            if !seen.rate_limited_once {
                seen.rate_limited_once = true;
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response();
            }
            manifest()
        }
        ("fanout", "manifests/v1") => {
            // One manifest named 4,000 times: followed once (it was 4,000 GETs and records).
            let entry = json!({"mediaType": q.image.manifest_media_type, "digest": q.image.manifest_digest,
                               "size": q.image.manifest_bytes.len(), "platform": {"os": "linux", "architecture": "amd64"}});
            let body = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                              "manifests": vec![entry; 4000]});
            ([("content-type", "application/vnd.oci.image.index.v1+json")], body.to_string()).into_response()
        }
        ("fanout", w) if w.starts_with("manifests/") => manifest(),
        ("longwait", _) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "999999")],
            "come back in eleven days",
        )
            .into_response(),
        ("hugetoken", w) => {
            if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer huge-token") {
                let realm = format!("http://127.0.0.1:{}/token-huge", q.port);
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", format!(r#"Bearer realm="{realm}",service="quirks""#))],
                    "",
                )
                    .into_response();
            }
            if w.starts_with("manifests/") {
                return manifest();
            }
            q.image.config_bytes.clone().into_response()
        }
        ("limited", _) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1"), ("ratelimit-remaining", "0;w=21600")],
            "You have reached your pull rate limit.",
        )
            .into_response(),
        ("schema1", w) if w.starts_with("manifests/") => {
            let v1 = json!({"architecture": "amd64", "os": "linux", "config": {"Labels": {LABEL: "[schema1]"}}}).to_string();
            let body = json!({"schemaVersion": 1, "name": "schema1", "tag": "v1", "architecture": "amd64",
                              "fsLayers": [], "history": [{"v1Compatibility": v1}]});
            ([("content-type", "application/vnd.docker.distribution.manifest.v1+prettyjws")], body.to_string()).into_response()
        }
        ("baddigest", w) if w.starts_with("manifests/") => (
            [
                ("content-type", q.image.manifest_media_type.clone()),
                ("docker-content-digest", format!("sha256:{}", "0".repeat(64))),
            ],
            q.image.manifest_bytes.clone(),
        )
            .into_response(),
        ("nameunknown", _) => (
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
        )
            .into_response(),
        ("html", _) => ([("content-type", "text/html")], "<!DOCTYPE html><html><body>Sign in</body></html>").into_response(),
        (_, w) if w.starts_with("blobs/") => q.image.config_bytes.clone().into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn start() -> (Arc<Quirks>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let q = Arc::new(Quirks {
        image: ImageBuilder::new().label(LABEL, "[quirks]").build(),
        port,
        seen: Mutex::new(Seen::default()),
    });
    let app = Router::new()
        .route("/{*path}", get(handle))
        .with_state(q.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (q, format!("127.0.0.1:{port}"))
}

#[tokio::test]
async fn blob_redirect_to_another_host_carries_no_authorization() {
    let (q, a) = start().await;
    let (_home, c) = anon_client();
    let r = read(&c, &format!("{a}/redirect:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[quirks]"));
    let seen = q.seen.lock().unwrap();
    let cdn: Vec<_> = seen
        .requests
        .iter()
        .filter(|(p, _)| p.starts_with("cdn/"))
        .collect();
    assert_eq!(cdn.len(), 1);
    assert_eq!(
        cdn[0].1, None,
        "Authorization must not cross to another host"
    );
    let blob = seen
        .requests
        .iter()
        .find(|(p, _)| p.starts_with("v2/redirect/blobs/"))
        .unwrap();
    assert_eq!(
        blob.1.as_deref(),
        Some("Bearer quirk-token"),
        "the registry itself gets the token"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_then_reported() {
    let (_q, a) = start().await;
    let home = tempfile::tempdir().unwrap();
    let opts = RegistryOptions {
        max_retries: 1,
        max_retry_after: Duration::from_secs(1),
        ..RegistryOptions::default()
    };
    let c = client_in(home.path(), opts);
    let r = read(&c, &format!("{a}/ratelimited:v1")).await.unwrap();
    assert_eq!(
        r.images[0].labels,
        labels("[quirks]"),
        "one 429 with Retry-After is waited out"
    );
    let e = read(&c, &format!("{a}/limited:v1")).await.unwrap_err();
    assert!(matches!(e, RegistryError::RateLimited { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("rate limited by `{a}` (Retry-After 1s), ratelimit-remaining: 0;w=21600")
    );
}

#[tokio::test]
async fn schema1_digest_header_and_html_answers() {
    let (q, a) = start().await;
    let (_home, c) = anon_client();
    let r = read(&c, &format!("{a}/schema1:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[schema1]"));
    assert_eq!(r.images[0].config_digest, None);

    let r = read(&c, &format!("{a}/baddigest:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[quirks]"));
    assert_eq!(
        r.warnings,
        vec![format!(
            "manifest of `{a}/baddigest:v1`: Docker-Content-Digest header says sha256:{} but the body hashes to {}",
            "0".repeat(64),
            q.image.manifest_digest
        )]
    );

    let e = read(&c, &format!("{a}/nameunknown:v1")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("name unknown: repository `nameunknown` does not exist on `{a}` (repository name not known to registry)")
    );

    let e = read(&c, &format!("{a}/html:v1")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("manifest of `{a}/html:v1` from http://{a}/v2/html/manifests/v1 is an HTML page, not JSON (wrong host, or a proxy or login page?)")
    );
}

#[tokio::test]
async fn retry_after_longer_than_the_cap_is_reported_not_waited_out() {
    let (q, a) = start().await;
    let (_home, c) = anon_client();
    let e = read(&c, &format!("{a}/longwait:v1")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("rate limited by `{a}` (Retry-After 999999s)")
    );
    let tries = q
        .seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|(p, _)| p.starts_with("v2/longwait/"))
        .count();
    assert_eq!(tries, 1, "a wait past the cap is not waited (was 3 × 30 s)");
}

#[tokio::test]
async fn token_expires_in_u64_max_does_not_panic() {
    let (_q, a) = start().await;
    let (_home, c) = anon_client();
    let r = read(&c, &format!("{a}/hugetoken:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[quirks]"));
}

#[tokio::test]
async fn index_naming_one_manifest_4000_times_is_read_once() {
    let (q, a) = start().await;
    let (_home, c) = anon_client();
    let opts = xnat_cmd::source::ReadOptions {
        all_platforms: true,
        ..Default::default()
    };
    let r = c.read(&format!("{a}/fanout:v1"), &opts).await.unwrap();
    assert_eq!(r.images.len(), 1);
    assert_eq!(r.images[0].labels, labels("[quirks]"));
    let by_digest = q
        .seen
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|(p, _)| p.starts_with("v2/fanout/manifests/sha256:"))
        .count();
    assert_eq!(by_digest, 1, "each digest is fetched once");
}
