//! A token-auth docker-registry with N pushed images for `scripts/bench-registry.sh`, built
//! from the test kit (`xnat-cmd-testkit`) so the benchmark and the tests share one recipe.
//!
//! With `PRIVATE=1`, one more image, `xnat/private-0:v1`, that only `testuser`/`testpass` may
//! pull (the container image test's private image).
//!
//! Prints `REGISTRY=…`, `ACCESS_LOG=…`, `IMAGES=N` and `READY`, then serves until stdin
//! closes (so the registry is always stopped by Drop). With `--measure`, instead reads every
//! image once through the library (cold client, then warm) and prints timings and request
//! counts: the library-level measurement used while the `inspect` CLI is not wired.

// A development tool: it reads its own files and settings directly (clippy.toml bans that in
// the product only).
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::time::Instant;
use xnat_cmd_testkit::{images, registry, token_server};

use xnat_cmd::credentials::{Chain, CredentialEnv, CredentialOptions};
use xnat_cmd::source::registry::{RegistryClient, RegistryOptions};
use xnat_cmd::source::ReadOptions;

/// Images pushed unless `IMAGES=N` says otherwise.
const DEFAULT_IMAGES: usize = 40;

#[tokio::main]
async fn main() {
    let measure = std::env::args().any(|a| a == "--measure");
    let images_n: usize = std::env::var("IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_IMAGES);
    let policy = token_server::Policy {
        users: BTreeMap::from([("testuser".into(), "testpass".into())]),
        public: (0..images_n)
            .map(|i| format!("xnat/bench-{i}"))
            .collect::<BTreeSet<_>>(),
        refresh_tokens: BTreeMap::new(),
    };
    let reg = registry::Registry::start(registry::Mode::Token(policy));
    for i in 0..images_n {
        // A valid command with one wrapper, so `sync` can install it.
        let label = format!(
            "[{{\"name\":\"bench-{i}\",\"version\":\"1\",\"command-line\":\"run\",\"xnat\":[{{\"name\":\"bench-{i}-w\",\"contexts\":[\"xnat:projectData\"],\"external-inputs\":[{{\"name\":\"project\",\"type\":\"Project\"}}]}}]}}]"
        );
        let img = images::ImageBuilder::new()
            .label("org.nrg.commands", &label)
            .build();
        reg.push_image_to(&format!("xnat/bench-{i}"), "v1", &img)
            .await;
    }
    if std::env::var("PRIVATE").is_ok_and(|v| v == "1") {
        let label = "[{\"name\":\"private-0\",\"version\":\"1\",\"command-line\":\"run\",\"xnat\":[{\"name\":\"private-0-w\",\"contexts\":[\"xnat:projectData\"],\"external-inputs\":[{\"name\":\"project\",\"type\":\"Project\"}]}]}]";
        let img = images::ImageBuilder::new()
            .label("org.nrg.commands", label)
            .build();
        reg.push_image_to("xnat/private-0", "v1", &img).await;
    }
    let refs: Vec<String> = (0..images_n)
        .map(|i| format!("{}/xnat/bench-{i}:v1", reg.addr))
        .collect();
    if measure {
        let opts = RegistryOptions::default();
        let chain =
            Chain::new(&CredentialOptions::default(), &CredentialEnv::default()).expect("chain");
        let client = RegistryClient::with_chain(&opts, chain).expect("client");
        let ro = ReadOptions::default();
        let t = Instant::now();
        client.read(&refs[0], &ro).await.expect("read");
        println!(
            "one image cold: {:.1} ms, {} requests",
            t.elapsed().as_secs_f64() * 1e3,
            client.requests()
        );
        let before = client.requests();
        let t = Instant::now();
        client.read(&refs[0], &ro).await.expect("read");
        println!(
            "one image warm: {:.1} ms, {} requests",
            t.elapsed().as_secs_f64() * 1e3,
            client.requests() - before
        );
        let before = client.requests();
        let t = Instant::now();
        let all = futures::future::join_all(refs.iter().map(|r| client.read(r, &ro))).await;
        assert!(all.iter().all(Result::is_ok));
        println!(
            "{images_n} images concurrently (first warm): {:.1} ms, {} requests",
            t.elapsed().as_secs_f64() * 1e3,
            client.requests() - before
        );
        return;
    }
    println!("REGISTRY={}", reg.addr);
    println!("ACCESS_LOG={}", reg.log_path.display());
    println!("IMAGES={images_n}");
    println!("READY");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
