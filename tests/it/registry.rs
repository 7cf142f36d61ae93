//! Reading labels from real registries (CNCF docker-registry in plain, Basic, TLS and token
//! modes) and, for quirks no real server shows, from a small loopback server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use xnat_cmd::credentials::{Chain, CredentialEnv, CredentialOptions};
use xnat_cmd::problem::Hint as _;
use xnat_cmd::source::registry::{RegistryClient, RegistryError, RegistryOptions};
use xnat_cmd::source::{ReadOptions, ReadResult};
use xnat_cmd::Platform;

use crate::support::images::{BuiltIndex, Format, ImageBuilder};
use crate::support::registry::{write_file, Mode, Registry};
use crate::support::token_server::Policy;

mod batch;
mod cache;
mod helpers;
mod quirks;

const LABEL: &str = "org.nrg.commands";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A client whose credentials come only from `home` (a temp dir), never the developer's.
fn client_in(home: &Path, opts: RegistryOptions) -> RegistryClient {
    let env = CredentialEnv {
        home: Some(home.to_path_buf()),
        ..Default::default()
    };
    let chain = Chain::new(&opts.credentials, &env).expect("chain");
    RegistryClient::with_chain(&opts, chain).expect("client")
}

fn anon_client() -> (tempfile::TempDir, RegistryClient) {
    let home = tempfile::tempdir().unwrap();
    let c = client_in(home.path(), RegistryOptions::default());
    (home, c)
}

fn docker_config(home: &Path, registry: &str, user: &str, pass: &str) {
    write_file(
        home,
        ".docker/config.json",
        &format!(
            r#"{{"auths":{{"{registry}":{{"auth":"{}"}}}}}}"#,
            b64(&format!("{user}:{pass}"))
        ),
    );
}

async fn read(c: &RegistryClient, r: &str) -> Result<ReadResult, RegistryError> {
    c.read(r, &ReadOptions::default()).await
}

fn labels(value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL.to_string(), value.to_string())])
}

#[tokio::test]
async fn plain_registry_single_images_and_indexes() {
    let reg = Registry::start(Mode::Plain);
    let oci = ImageBuilder::new().label(LABEL, "[oci]").build();
    let v2 = ImageBuilder::new()
        .label(LABEL, "[docker]")
        .format(Format::Docker)
        .build();
    let none = ImageBuilder::new().build();
    let big_value = format!("[\"{}\"]", "x".repeat(1024 * 1024));
    let big = ImageBuilder::new().label(LABEL, &big_value).build();
    reg.push_image_to("xnat/oci", "v1", &oci).await;
    reg.push_image_to("xnat/v2", "v1", &v2).await;
    reg.push_image_to("xnat/none", "v1", &none).await;
    reg.push_image_to("xnat/big", "v1", &big).await;
    let (_home, c) = anon_client();
    let a = &reg.addr;

    let r = read(&c, &format!("{a}/xnat/oci:v1")).await.unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.images.len(), 1);
    let img = &r.images[0];
    assert_eq!(img.labels, labels("[oci]"));
    assert_eq!(
        img.image.as_deref(),
        Some(format!("{a}/xnat/oci:v1").as_str())
    );
    assert_eq!(
        img.config_digest.as_deref(),
        Some(oci.config_digest.as_str())
    );
    assert_eq!(
        img.manifest_digest.as_deref(),
        Some(oci.manifest_digest.as_str())
    );
    assert_eq!(img.platform, Some(Platform::linux_amd64()));

    let r = read(
        &c,
        &format!("docker://{a}/xnat/v2:v1").replace("docker://", ""),
    )
    .await
    .unwrap();
    assert_eq!(r.images[0].labels, labels("[docker]"));
    let r = read(&c, &format!("{a}/xnat/none:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, BTreeMap::new());
    let r = read(&c, &format!("{a}/xnat/big:v1")).await.unwrap();
    assert_eq!(r.images[0].labels[LABEL].len(), big_value.len());
    assert_eq!(r.images[0].labels[LABEL], big_value);

    // By digest: the manifest is verified against it.
    let r = read(&c, &format!("{a}/xnat/oci@{}", oci.manifest_digest))
        .await
        .unwrap();
    assert_eq!(r.images[0].labels, labels("[oci]"));

    // The size cap applies to what arrives, whatever the headers say.
    let small = ReadOptions {
        max_json_bytes: 1000,
        ..ReadOptions::default()
    };
    let e = c
        .read(&format!("{a}/xnat/big:v1"), &small)
        .await
        .unwrap_err();
    let RegistryError::TooLarge { what, url, limit } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (what.as_str(), *limit),
        (
            format!("config {} of `{a}/xnat/big:v1`", big.config_digest).as_str(),
            1000
        )
    );
    assert!(
        url.starts_with(&format!("http://{a}/v2/xnat/big/blobs/")),
        "{url}"
    );

    for format in [Format::Oci, Format::Docker] {
        let amd = ImageBuilder::new()
            .label(LABEL, "[amd64]")
            .format(format)
            .build();
        let arm = ImageBuilder::new()
            .label(LABEL, "[arm64]")
            .platform("linux/arm64")
            .format(format)
            .build();
        let index = BuiltIndex::with_attestation(vec![amd.clone(), arm.clone()]);
        let repo = format!("xnat/multi-{format:?}").to_lowercase();
        reg.push_index_to(&repo, "v1", &index).await;
        let reference = format!("{a}/{repo}:v1");
        let r = read(&c, &reference).await.unwrap();
        assert_eq!(r.images.len(), 1);
        assert_eq!(r.images[0].labels, labels("[amd64]"), "{format:?}");
        assert_eq!(
            r.images[0].manifest_digest.as_deref(),
            Some(amd.manifest_digest.as_str())
        );
        let arm_opts = ReadOptions {
            platform: Platform::parse("linux/arm64").unwrap(),
            ..ReadOptions::default()
        };
        let r = c.read(&reference, &arm_opts).await.unwrap();
        assert_eq!(r.images[0].labels, labels("[arm64]"), "{format:?}");
        let all = ReadOptions {
            all_platforms: true,
            ..ReadOptions::default()
        };
        let r = c.read(&reference, &all).await.unwrap();
        let got: Vec<_> = r
            .images
            .iter()
            .map(|i| {
                (
                    i.platform.as_ref().unwrap().to_string(),
                    i.labels[LABEL].clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("linux/amd64".to_string(), "[amd64]".to_string()),
                ("linux/arm64/v8".to_string(), "[arm64]".to_string())
            ],
            "attestations are not images"
        );
        let s390 = ReadOptions {
            platform: Platform::parse("linux/s390x").unwrap(),
            ..ReadOptions::default()
        };
        let e = c.read(&reference, &s390).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("no image for platform linux/s390x in manifest of `{reference}`; available: linux/amd64, linux/arm64/v8")
        );
    }
}

#[tokio::test]
async fn unknown_tag_and_repository_are_said_plainly() {
    let reg = Registry::start(Mode::Plain);
    reg.push_image_to(
        "xnat/small",
        "v1",
        &ImageBuilder::new().label(LABEL, "[]").build(),
    )
    .await;
    let (_home, c) = anon_client();
    let a = &reg.addr;
    let e = read(&c, &format!("{a}/xnat/small:v9")).await.unwrap_err();
    assert!(matches!(e, RegistryError::ManifestUnknown { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("manifest unknown: `{a}/xnat/small:v9` has no such tag or digest, or the repository does not exist (manifest unknown)")
    );
    // distribution 2.8 answers MANIFEST_UNKNOWN for a repository it has never seen, too.
    let e = read(&c, &format!("{a}/xnat/nothere:v1")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("manifest unknown: `{a}/xnat/nothere:v1` has no such tag or digest, or the repository does not exist (manifest unknown)")
    );
    let e = read(&c, &format!("{a}/Xnat/small")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid reference `{a}/Xnat/small`: repository name `Xnat/small` must be lowercase"
        )
    );
}

#[tokio::test]
async fn basic_auth_registry() {
    let reg = Registry::start(Mode::Basic {
        user: "testuser".into(),
        password: "testpass".into(),
    });
    reg.push_image_to(
        "xnat/private",
        "v1",
        &ImageBuilder::new().label(LABEL, "[basic]").build(),
    )
    .await;
    let reference = format!("{}/xnat/private:v1", reg.addr);

    let (_home, c) = anon_client();
    let e = read(&c, &reference).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("unauthorized: `{reference}` needs credentials and none were found (authentication required)")
    );
    assert_eq!(
        e.hint().as_deref(),
        Some("use --registry-user, --registry-auth-file, docker login or podman login")
    );

    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &reg.addr, "testuser", "testpass");
    let c = client_in(home.path(), RegistryOptions::default());
    assert_eq!(
        read(&c, &reference).await.unwrap().images[0].labels,
        labels("[basic]")
    );

    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &reg.addr, "testuser", "wrong");
    let c = client_in(home.path(), RegistryOptions::default());
    let e = read(&c, &reference).await.unwrap_err().to_string();
    let cfg = home.path().join(".docker/config.json");
    assert_eq!(
        e,
        format!("unauthorized: `{reference}` refused the credentials from `{}` auths `{}` (authentication required)", cfg.display(), reg.addr)
    );
    assert!(!e.contains("wrong"), "the secret must not appear: {e}");
}

#[tokio::test]
async fn tls_registry_needs_its_ca() {
    let reg = Registry::start(Mode::Tls);
    reg.push_image_to(
        "xnat/tls",
        "v1",
        &ImageBuilder::new().label(LABEL, "[tls]").build(),
    )
    .await;
    let reference = format!("{}/xnat/tls:v1", reg.addr);
    let (_home, c) = anon_client();
    let e = read(&c, &reference).await.unwrap_err();
    assert!(matches!(e, RegistryError::Tls { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("TLS certificate of `{}` is not trusted", reg.addr)
    );
    assert_eq!(
        xnat_cmd::problem::Hint::hint(&e),
        Some(format!("pass its CA with --registry-ca FILE (or SSL_CERT_FILE), or allow it with --insecure-registry {}", reg.addr))
    );
    let home = tempfile::tempdir().unwrap();
    let with_ca = RegistryOptions {
        ca_files: vec![reg.ca_path.clone().unwrap()],
        ..RegistryOptions::default()
    };
    let c = client_in(home.path(), with_ca);
    assert_eq!(
        read(&c, &reference).await.unwrap().images[0].labels,
        labels("[tls]")
    );
    let insecure = RegistryOptions {
        insecure: vec![reg.addr.clone()],
        ..RegistryOptions::default()
    };
    let c = client_in(home.path(), insecure);
    assert_eq!(
        read(&c, &reference).await.unwrap().images[0].labels,
        labels("[tls]")
    );
}

fn token_policy() -> Policy {
    Policy {
        users: BTreeMap::from([("testuser".into(), "testpass".into())]),
        public: BTreeSet::from(["xnat/public".to_string(), "xnat/multi".to_string()]),
        refresh_tokens: BTreeMap::from([("refresh-123".into(), "testuser".into())]),
    }
}

#[tokio::test]
async fn token_registry_anonymous_private_and_counted() {
    let reg = Registry::start(Mode::Token(token_policy()));
    let a = reg.addr.clone();
    reg.push_image_to(
        "xnat/public",
        "v1",
        &ImageBuilder::new().label(LABEL, "[public]").build(),
    )
    .await;
    reg.push_image_to(
        "xnat/private",
        "v1",
        &ImageBuilder::new().label(LABEL, "[private]").build(),
    )
    .await;
    let amd = ImageBuilder::new().label(LABEL, "[amd64]").build();
    let arm = ImageBuilder::new()
        .label(LABEL, "[arm64]")
        .platform("linux/arm64")
        .build();
    reg.push_index_to("xnat/multi", "v1", &BuiltIndex::new(vec![amd, arm]))
        .await;
    let token = reg.token.as_ref().unwrap();

    // Anonymous pull of a public repository; count requests cold and warm.
    let (_home, c) = anon_client();
    let tokens_before = token.requests();
    let r = read(&c, &format!("{a}/xnat/public:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[public]"));
    // The loopback registry speaks plain HTTP: the HTTPS attempt gets no HTTP answer.
    assert_eq!(
        c.requests(),
        4,
        "cold single-platform: manifest 401, token, manifest, config"
    );
    assert_eq!(token.requests() - tokens_before, 1);
    read(&c, &format!("{a}/xnat/public:v1")).await.unwrap();
    assert_eq!(c.requests(), 6, "warm: manifest, config");
    let r = read(&c, &format!("{a}/xnat/multi:v1")).await.unwrap();
    assert_eq!(r.images[0].labels, labels("[amd64]"));
    assert_eq!(
        c.requests(),
        10,
        "new repository, known realm: token, index, manifest, config"
    );

    // Private without credentials: the anonymous token does not cover it.
    let reference = format!("{a}/xnat/private:v1");
    let e = read(&c, &reference).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("unauthorized: `{reference}` needs credentials and none were found (authentication required)")
    );
    assert_eq!(
        e.hint().as_deref(),
        Some("use --registry-user, --registry-auth-file, docker login or podman login")
    );

    // With credentials from a temp config.json.
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &a, "testuser", "testpass");
    let c = client_in(home.path(), RegistryOptions::default());
    assert_eq!(
        read(&c, &reference).await.unwrap().images[0].labels,
        labels("[private]")
    );

    // Wrong password: the token server refuses.
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &a, "testuser", "nope");
    let c = client_in(home.path(), RegistryOptions::default());
    let e = read(&c, &reference).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "authentication failed at `{}` for `{a}` with credentials from `{}` auths `{a}`: HTTP 401 bad credentials",
            token.realm(),
            home.path().join(".docker/config.json").display()
        )
    );

    // An identity token (OAuth2 refresh grant) from a Kubernetes pull secret.
    let home = tempfile::tempdir().unwrap();
    let inner = format!(r#"{{"auths":{{"{a}":{{"identitytoken":"refresh-123"}}}}}}"#);
    let secret = write_file(
        home.path(),
        "pull-secret.yaml",
        &format!("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n", b64(&inner)),
    );
    let opts = RegistryOptions {
        credentials: CredentialOptions {
            user: None,
            auth_file: Some(secret),
        },
        ..RegistryOptions::default()
    };
    let c = client_in(home.path(), opts);
    assert_eq!(
        read(&c, &reference).await.unwrap().images[0].labels,
        labels("[private]")
    );
}

/// Cold reads started together: one first contact (one 401) for the whole registry, one
/// token per repository even when two reads need the same one, fetched concurrently.
#[tokio::test]
async fn concurrent_cold_reads_share_first_contact_and_tokens() {
    let repos: Vec<String> = (0..6).map(|i| format!("xnat/many-{i}")).collect();
    let reg = Registry::start(Mode::Token(Policy {
        public: repos.iter().cloned().collect(),
        ..token_policy()
    }));
    for (i, repo) in repos.iter().enumerate() {
        let img = ImageBuilder::new().label(LABEL, &format!("[{i}]")).build();
        reg.push_image_to(repo, "v1", &img).await;
    }
    let token = reg.token.as_ref().unwrap();
    let tokens_before = token.requests();
    let log_before = reg.access_log_requests();
    // Eight reads, the first repository three times: 6 scopes.
    let mut refs: Vec<(String, String)> = repos
        .iter()
        .enumerate()
        .map(|(i, repo)| (format!("{}/{repo}:v1", reg.addr), format!("[{i}]")))
        .collect();
    refs.push(refs[0].clone());
    refs.push(refs[0].clone());
    let (_home, c) = anon_client();
    let results = futures::future::join_all(refs.iter().map(|(r, _)| read(&c, r))).await;
    for ((reference, want), got) in refs.iter().zip(results) {
        assert_eq!(got.unwrap().images[0].labels, labels(want), "{reference}");
    }
    assert_eq!(token.requests() - tokens_before, 6, "one token per scope");
    assert_eq!(
        c.requests(),
        1 + 6 + 8 * 2,
        "one 401, 6 tokens, manifest and config per read"
    );
    assert_eq!(reg.access_log_requests() - log_before, 1 + 8 * 2);
}

/// The same on a Basic registry: the first 401 is answered before the others send, so they
/// carry the credentials from the start.
#[tokio::test]
async fn concurrent_cold_reads_on_basic_registry_share_one_401() {
    let reg = Registry::start(Mode::Basic {
        user: "testuser".into(),
        password: "testpass".into(),
    });
    let repos: Vec<String> = (0..4).map(|i| format!("xnat/basic-{i}")).collect();
    for (i, repo) in repos.iter().enumerate() {
        let img = ImageBuilder::new().label(LABEL, &format!("[{i}]")).build();
        reg.push_image_to(repo, "v1", &img).await;
    }
    let home = tempfile::tempdir().unwrap();
    docker_config(home.path(), &reg.addr, "testuser", "testpass");
    let c = client_in(home.path(), RegistryOptions::default());
    let refs: Vec<String> = repos
        .iter()
        .map(|repo| format!("{}/{repo}:v1", reg.addr))
        .collect();
    let results = futures::future::join_all(refs.iter().map(|r| read(&c, r))).await;
    for (i, got) in results.into_iter().enumerate() {
        assert_eq!(got.unwrap().images[0].labels, labels(&format!("[{i}]")));
    }
    assert_eq!(
        c.requests(),
        1 + 4 * 2,
        "one 401, manifest and config per read"
    );
}
