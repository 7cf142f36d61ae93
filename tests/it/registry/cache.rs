//! The registry cache (`--registry-cache`): cold reads cost what they cost without it, a
//! re-check of a cached tag is one HEAD, a moved tag is fetched again, corrupt entries are
//! never trusted, and a cache that cannot be written changes nothing but the request count.

use std::path::Path;

use super::*;
use crate::support::images::BuiltImage;
use crate::support::Sandbox;

/// The registry's access log lines from xnat-cmd (not from the test's pushes), as
/// `METHOD PATH STATUS`, after the first `skip`.
fn xnat_requests(reg: &Registry, skip: usize) -> Vec<String> {
    reg.log()
        .lines()
        .filter(|l| l.contains("\"xnat-cmd/"))
        .filter_map(|l| {
            let start = l.find("\"GET /v2/").or_else(|| l.find("\"HEAD /v2/"))? + 1;
            let rest = &l[start..];
            let end = rest.find(" HTTP/")?;
            let status = rest[end..].split('"').nth(1)?.split_whitespace().next()?;
            Some(format!("{} {status}", &rest[..end]))
        })
        .skip(skip)
        .collect()
}

fn cached_client(home: &Path, cache: &Path) -> RegistryClient {
    client_in(
        home,
        RegistryOptions {
            cache_dir: Some(cache.to_path_buf()),
            ..RegistryOptions::default()
        },
    )
}

fn hex(digest: &str) -> &str {
    digest.trim_start_matches("sha256:")
}

/// A token registry and an index tag: the cold read costs today's requests and no HEAD; a
/// new run re-checking the tag costs one HEAD (after its 401 and token), the same run once
/// more one HEAD alone; a digest read needs no request at all.
#[tokio::test]
async fn a_cached_tag_is_rechecked_with_one_head() {
    let reg = Registry::start(Mode::Token(token_policy()));
    let amd = ImageBuilder::new().label(LABEL, "[amd64]").build();
    let arm = ImageBuilder::new()
        .label(LABEL, "[arm64]")
        .platform("linux/arm64")
        .build();
    let index = BuiltIndex::new(vec![amd.clone(), arm]);
    reg.push_index_to("xnat/multi", "v1", &index).await;
    let r = format!("{}/xnat/multi:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let m = "/v2/xnat/multi/manifests";
    let config = format!("GET /v2/xnat/multi/blobs/{} 200", amd.config_digest);

    let c = cached_client(home.path(), &cache);
    let got = read(&c, &r).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[amd64]"));
    assert_eq!(
        c.requests(),
        5,
        "401, token, index, platform manifest, config"
    );
    assert_eq!(
        xnat_requests(&reg, 0),
        [
            format!("GET {m}/v1 401"),
            format!("GET {m}/v1 200"),
            format!("GET {m}/{} 200", amd.manifest_digest),
            config.clone(),
        ]
    );
    assert!(cache.join("tags").is_dir() && cache.join("blobs/sha256").is_dir());

    let c = cached_client(home.path(), &cache);
    let got = read(&c, &r).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[amd64]"));
    assert_eq!(
        got.images[0].manifest_digest.as_deref(),
        Some(&*amd.manifest_digest)
    );
    assert_eq!(
        got.images[0].config_digest.as_deref(),
        Some(&*amd.config_digest)
    );
    // The first run remembered the registry's challenge: the token is fetched before the HEAD,
    // so the registry sees no request that only earns a 401.
    assert_eq!(c.requests(), 2, "token, HEAD");
    assert_eq!(xnat_requests(&reg, 4), [format!("HEAD {m}/v1 200")]);
    let got = read(&c, &r).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[amd64]"));
    assert_eq!(xnat_requests(&reg, 5), [format!("HEAD {m}/v1 200")]);

    let c = cached_client(home.path(), &cache);
    let by_digest = format!("{}/xnat/multi@{}", reg.addr, index.digest);
    // (the run above left 6 registry requests in the log)
    let got = read(&c, &by_digest).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[amd64]"));
    assert_eq!(c.requests(), 0, "a digest read is served from the cache");
}

/// Pushing another image under the tag: the HEAD names a digest we do not hold, so the
/// manifest and config are fetched and the new labels returned; the cache then follows.
#[tokio::test]
async fn a_moved_tag_is_fetched_again() {
    let reg = Registry::start(Mode::Plain);
    let old = ImageBuilder::new().label(LABEL, "[old]").build();
    let new = ImageBuilder::new().label(LABEL, "[new]").build();
    reg.push_image_to("xnat/moving", "v1", &old).await;
    let r = format!("{}/xnat/moving:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let c = cached_client(home.path(), &cache);
    let m = "/v2/xnat/moving/manifests/v1";

    assert_eq!(
        read(&c, &r).await.unwrap().images[0].labels,
        labels("[old]")
    );
    assert_eq!(
        xnat_requests(&reg, 0),
        [
            format!("GET {m} 200"),
            format!("GET /v2/xnat/moving/blobs/{} 200", old.config_digest)
        ]
    );
    reg.push_image_to("xnat/moving", "v1", &new).await;
    assert_eq!(
        read(&c, &r).await.unwrap().images[0].labels,
        labels("[new]")
    );
    assert_eq!(
        xnat_requests(&reg, 2),
        [
            format!("HEAD {m} 200"),
            format!("GET {m} 200"),
            format!("GET /v2/xnat/moving/blobs/{} 200", new.config_digest)
        ]
    );
    assert_eq!(
        read(&c, &r).await.unwrap().images[0].labels,
        labels("[new]")
    );
    assert_eq!(xnat_requests(&reg, 5), [format!("HEAD {m} 200")]);
}

/// Corrupt entries are ignored and rewritten: a bad config blob is fetched again, a bad
/// manifest means no HEAD (nothing it could confirm) and a GET.
#[tokio::test]
async fn corrupt_cache_entries_are_not_trusted() {
    let reg = Registry::start(Mode::Plain);
    let img: BuiltImage = ImageBuilder::new().label(LABEL, "[real]").build();
    reg.push_image_to("xnat/c", "v1", &img).await;
    let r = format!("{}/xnat/c:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let c = cached_client(home.path(), &cache);
    read(&c, &r).await.unwrap();
    assert_eq!(xnat_requests(&reg, 0).len(), 2);

    let blob = cache.join("blobs/sha256").join(hex(&img.config_digest));
    let forged = String::from_utf8(img.config_bytes.clone())
        .unwrap()
        .replace("[real]", "[fake]");
    std::fs::write(&blob, &forged).unwrap();
    assert_eq!(
        read(&c, &r).await.unwrap().images[0].labels,
        labels("[real]")
    );
    assert_eq!(
        xnat_requests(&reg, 2),
        [
            "HEAD /v2/xnat/c/manifests/v1 200".to_string(),
            format!("GET /v2/xnat/c/blobs/{} 200", img.config_digest)
        ]
    );
    assert_eq!(std::fs::read(&blob).unwrap(), img.config_bytes, "rewritten");

    let manifest = cache
        .join("manifests/sha256")
        .join(hex(&img.manifest_digest));
    std::fs::write(&manifest, "garbage\n{}").unwrap();
    assert_eq!(
        read(&c, &r).await.unwrap().images[0].labels,
        labels("[real]")
    );
    assert_eq!(
        xnat_requests(&reg, 4),
        ["GET /v2/xnat/c/manifests/v1 200"],
        "config from the cache"
    );
}

/// A cache directory that cannot be created: reads work as without a cache (and so never
/// send a HEAD).
#[tokio::test]
async fn an_unwritable_cache_changes_nothing() {
    let reg = Registry::start(Mode::Plain);
    let img = ImageBuilder::new().label(LABEL, "[x]").build();
    reg.push_image_to("xnat/ro", "v1", &img).await;
    let r = format!("{}/xnat/ro:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    // A path below a regular file: no user, root included, can create it.
    let file = write_file(home.path(), "not-a-dir", "");
    let c = cached_client(home.path(), &file.join("cache"));
    for _ in 0..2 {
        assert_eq!(read(&c, &r).await.unwrap().images[0].labels, labels("[x]"));
    }
    let config = format!("GET /v2/xnat/ro/blobs/{} 200", img.config_digest);
    let once = ["GET /v2/xnat/ro/manifests/v1 200".to_string(), config];
    assert_eq!(xnat_requests(&reg, 0), [once.clone(), once].concat());
}

/// The CLI caches under the sandbox's `~/.cache/xnat-cmd` by default (so the second run is
/// one HEAD), in `--registry-cache DIR` or `XNAT_CMD_CACHE` when given, and not at all with
/// `--no-registry-cache`.
#[tokio::test]
async fn cli_cache_location_and_opt_out() {
    let reg = Registry::start(Mode::Plain);
    let img = ImageBuilder::new().label(LABEL, "[]").build();
    reg.push_image_to("xnat/cli", "v1", &img).await;
    let r = format!("{}/xnat/cli:v1", reg.addr);
    let head = "HEAD /v2/xnat/cli/manifests/v1 200".to_string();
    let run = |sb: &Sandbox, args: &[&str], env: Option<&Path>| {
        let mut cmd = sb.cmd();
        cmd.arg("inspect").arg("--json").args(args).arg(&r);
        if let Some(dir) = env {
            cmd.env("XNAT_CMD_CACHE", dir);
        }
        let out = cmd.output().unwrap();
        crate::support::success_json(&out);
    };

    let sb = Sandbox::new();
    run(&sb, &["--no-registry-cache"], None);
    run(&sb, &["--no-registry-cache"], None);
    assert!(!sb.path().join(".cache").exists(), "no cache dir created");
    let seen = xnat_requests(&reg, 0);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(!seen.contains(&head), "{seen:?}");

    run(&sb, &[], None);
    assert!(sb.path().join(".cache/xnat-cmd/tags").is_dir());
    run(&sb, &[], None);
    assert_eq!(xnat_requests(&reg, 6), std::slice::from_ref(&head));

    let dir = sb.path().join("flag-cache");
    run(&sb, &["--registry-cache", dir.to_str().unwrap()], None);
    assert!(dir.join("tags").is_dir());
    let env_dir = sb.path().join("env-cache");
    run(&sb, &[], Some(&env_dir));
    assert!(env_dir.join("tags").is_dir());
    run(&sb, &[], Some(&env_dir));
    assert_eq!(xnat_requests(&reg, 11), [head]);
}

/// A remembered challenge that no longer works (the token server moved) is dropped: the read
/// takes the 401 path as if nothing were remembered, and the new challenge is remembered.
#[tokio::test]
async fn a_stale_remembered_challenge_falls_back_to_the_401() {
    let reg = Registry::start(Mode::Token(token_policy()));
    let img = ImageBuilder::new().label(LABEL, "[x]").build();
    reg.push_image_to("xnat/public", "v1", &img).await;
    let r = format!("{}/xnat/public:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    read(&cached_client(home.path(), &cache), &r).await.unwrap();
    let dir = cache.join("challenges");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one registry, one remembered challenge");
    let good = std::fs::read_to_string(&files[0]).unwrap();
    let realm = serde_json::from_str::<serde_json::Value>(&good).unwrap()["challenge"]["params"]
        ["realm"]
        .as_str()
        .unwrap()
        .to_string();
    // Nothing listens on port 9: the remembered token endpoint is gone.
    std::fs::write(&files[0], good.replace(&realm, "http://127.0.0.1:9/token")).unwrap();

    let before = reg.access_log_requests();
    let c = cached_client(home.path(), &cache);
    let got = read(&c, &r).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[x]"));
    assert_eq!(
        reg.access_log_requests() - before,
        2,
        "HEAD without a token (401), then with the token from the registry's own challenge"
    );
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        good,
        "the live challenge is remembered again"
    );
}

/// A remembered challenge rewritten in the cache to name another token server (a loopback
/// port that records what it gets) never receives the registry's credentials: the realm is
/// not the registry's own host, so the live 401 is asked instead. The cache is private.
#[tokio::test]
async fn a_rewritten_remembered_realm_never_gets_the_credentials() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::{Arc, Mutex};

    let reg = Registry::start(Mode::Token(token_policy()));
    let img = ImageBuilder::new().label(LABEL, "[private]").build();
    reg.push_image_to("xnat/private", "v1", &img).await;
    let r = format!("{}/xnat/private:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &reg.addr, "testuser", "testpass");
    let cache = home.path().join("cache");
    read(&cached_client(home.path(), &cache), &r).await.unwrap();

    // Everything the cache wrote is the user's alone.
    let mut stack = vec![cache.clone()];
    while let Some(p) = stack.pop() {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        if p.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }

    // (path, Authorization) of every request the rewritten realm gets.
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let thief = format!("http://{}/token", listener.local_addr().unwrap());
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let log = log.clone();
        async move {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            log.lock().unwrap().push((req.uri().to_string(), auth));
            axum::Json(serde_json::json!({"token": "stolen"}))
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = cache.join("challenges");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let good = std::fs::read_to_string(&file).unwrap();
    let realm = serde_json::from_str::<serde_json::Value>(&good).unwrap()["challenge"]["params"]
        ["realm"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(&file, good.replace(&realm, &thief)).unwrap();

    let got = read(&cached_client(home.path(), &cache), &r).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[private]"));
    assert_eq!(
        *seen.lock().unwrap(),
        Vec::<(String, Option<String>)>::new(),
        "the rewritten realm got a request"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        good,
        "the live challenge is remembered again"
    );
}
