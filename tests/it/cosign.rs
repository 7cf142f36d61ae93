//! Cosign key-based verification end to end: images and signature manifests (signed in Rust,
//! in cosign's format) pushed to the real CNCF registry, read by the CLI, installed into the
//! XNAT emulator. Each refusal names its reason and writes nothing.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use xnat_cmd_testkit::cosign::{push_signatures, SigLayer, SigningKey};

use crate::support::emulator::Emulator;
use crate::support::images::{BuiltImage, ImageBuilder};
use crate::support::registry::{Mode, Registry};
use crate::support::Sandbox;

fn commands(name: &str) -> Value {
    json!([{"name": name, "version": "1", "command-line": "run",
            "xnat": [{"name": format!("{name}-project"), "contexts": ["xnat:projectData"],
                      "external-inputs": [{"name": "project", "type": "Project"}]}]}])
}

fn image(name: &str) -> BuiltImage {
    ImageBuilder::new()
        .label("org.nrg.commands", &commands(name).to_string())
        .build()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A registry with `lab/tool:1.0` pushed; the image and its reference.
struct Fixture {
    sb: Sandbox,
    reg: Registry,
    emu: Emulator,
    img: BuiltImage,
    /// `ADDR/lab/tool`.
    repo: String,
    signer: SigningKey,
    /// The signer's `cosign.pub`.
    key: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let sb = Sandbox::new();
        let reg = Registry::start(Mode::Plain);
        let img = image("tool");
        block_on(reg.push_image_to("lab/tool", "1.0", &img));
        let signer = SigningKey::generate();
        let key = signer.write_public(sb.path(), "cosign.pub");
        Fixture {
            repo: format!("{}/lab/tool", reg.addr),
            sb,
            reg,
            emu: Emulator::start(&[]),
            img,
            signer,
            key,
        }
    }

    fn reference(&self) -> String {
        format!("{}:1.0", self.repo)
    }

    /// Push `layers` as the signature manifest of the image's digest.
    fn sign_with(&self, layers: &[SigLayer]) {
        block_on(push_signatures(
            &self.reg,
            "lab/tool",
            &self.img.manifest_digest,
            layers,
        ));
    }

    /// The signer's valid signature.
    fn valid(&self) -> SigLayer {
        SigLayer::signed(&self.signer, &self.repo, &self.img.manifest_digest)
    }

    fn install(&self, extra: &[&str]) -> std::process::Output {
        self.emu
            .xnat_cmd(&self.sb)
            .arg("install")
            .arg(self.reference())
            .args(extra)
            .output()
            .unwrap()
    }

    fn key_arg(&self) -> String {
        self.key.display().to_string()
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The install failed with exit 1, naming `reason`, and XNAT got no write.
fn assert_refused(f: &Fixture, out: &std::process::Output, reason: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(reason), "expected `{reason}` in: {err}");
    assert!(err.contains("nothing was written to XNAT"), "{err}");
    assert_eq!(f.emu.writes(), 0, "nothing of a refused image is installed");
    assert!(f.emu.commands().is_empty());
}

#[test]
fn a_signed_image_is_installed_under_the_verified_digest() {
    let f = Fixture::new();
    let stranger = SigningKey::generate();
    // Two signatures in the manifest, as after two `cosign sign`s: one by a key we do not
    // trust, then ours.
    f.sign_with(&[
        SigLayer::signed(&stranger, &f.repo, &f.img.manifest_digest),
        f.valid(),
    ]);
    let out = f.install(&["--verify-key", &f.key_arg(), "-v"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let cmds = f.emu.commands();
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        cmds[0]["image"],
        format!("{}@{}", f.repo, f.img.manifest_digest),
        "installed under the digest that was verified, not the tag"
    );
    // -v lists each signature tried and why it was rejected.
    assert!(
        err.contains("layer 0") && err.contains("signature rejected: wrong key"),
        "{err}"
    );
    assert!(
        err.contains("layer 1") && err.contains("signature accepted"),
        "{err}"
    );

    // inspect says which digest was verified.
    let out =
        f.sb.cmd()
            .args([
                "inspect",
                "--json",
                "--verify-key",
                &f.key_arg(),
                &f.reference(),
            ])
            .output()
            .unwrap();
    let v = crate::support::success_json(&out);
    assert_eq!(v["verified_digest"], f.img.manifest_digest.as_str());

    // What verification costs, counted by the registry: the referrers query (404 on this
    // registry), the `.sig` manifest and one GET per distinct payload blob: the two layers
    // sign the same payload (same image, same digest), so one.
    let requests = |extra: &[&str]| {
        let before = f.reg.access_log_requests();
        let out =
            f.sb.cmd()
                .args(["inspect", "--no-registry-cache", &f.reference()])
                .args(extra)
                .output()
                .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        f.reg.access_log_requests() - before
    };
    let plain = requests(&[]);
    let verified = requests(&["--verify-key", &f.key_arg()]);
    assert_eq!((plain, verified), (2, 5));

    // status of the same source with the key: in sync (the declared image is repo@digest).
    let out = f
        .emu
        .xnat_cmd(&f.sb)
        .args(["status", &f.reference(), "--verify-key", &f.key_arg()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn several_keys_any_one_suffices() {
    let f = Fixture::new();
    f.sign_with(&[f.valid()]);
    let other = SigningKey::generate().write_public(f.sb.path(), "other.pub");
    let out = f.install(&[
        "--verify-key",
        &other.display().to_string(),
        "--verify-key",
        &f.key_arg(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(f.emu.commands().len(), 1);
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = Fixture::new();
    let stranger = SigningKey::generate();
    f.sign_with(&[SigLayer::signed(&stranger, &f.repo, &f.img.manifest_digest)]);
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_refused(
        &f,
        &out,
        "wrong key or tampered payload: the signature does not verify with the given key",
    );
    // validate refuses it the same way (exit 1), and passes it with the stranger's key.
    let validate = |key: &str| {
        f.sb.cmd()
            .args(["validate", &f.reference(), "--verify-key", key])
            .output()
            .unwrap()
    };
    let out = validate(&f.key_arg());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrong key or tampered payload"),
        "{}",
        stderr(&out)
    );
    let theirs = stranger.write_public(f.sb.path(), "stranger.pub");
    let out = validate(&theirs.display().to_string());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_tampered_payload_is_refused() {
    let f = Fixture::new();
    let mut layer = f.valid();
    // The payload edited after signing (say, to name an older digest), its layer digest
    // updated with it: only the signature gives it away.
    layer.payload = String::from_utf8(layer.payload)
        .unwrap()
        .replace("\"optional\":null", "\"optional\":{\"by\":\"mallory\"}")
        .into_bytes();
    f.sign_with(&[layer]);
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_refused(&f, &out, "wrong key or tampered payload");
}

#[test]
fn a_signature_for_another_digest_is_refused() {
    let f = Fixture::new();
    let older = image("older");
    // A valid signature of another image, copied under this image's signature tag.
    f.sign_with(&[SigLayer::signed(&f.signer, &f.repo, &older.manifest_digest)]);
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_refused(&f, &out, "signed for another digest");
}

#[test]
fn a_signature_for_another_repository_is_refused() {
    let f = Fixture::new();
    let other = format!("{}/lab/other", f.reg.addr);
    f.sign_with(&[SigLayer::signed(&f.signer, &other, &f.img.manifest_digest)]);
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_refused(&f, &out, "signed for another repository");
}

#[test]
fn an_unsigned_image_is_refused() {
    let f = Fixture::new();
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_refused(&f, &out, "no signature: ");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("sha256-{}.sig", &f.img.manifest_digest[7..])),
        "{err}"
    );
    assert!(
        err.contains("hint: only images signed with one of the given keys"),
        "{err}"
    );
}

#[test]
fn a_tag_moved_after_signing_is_refused_and_the_verified_install_stays() {
    let f = Fixture::new();
    f.sign_with(&[f.valid()]);
    let out = f.install(&["--verify-key", &f.key_arg()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let installed = format!("{}@{}", f.repo, f.img.manifest_digest);
    assert_eq!(f.emu.commands()[0]["image"], installed);

    // Someone pushes an unsigned image under the same tag.
    block_on(f.reg.push_image_to("lab/tool", "1.0", &image("tool2")));
    let writes = f.emu.writes();
    let out = f.install(&["--verify-key", &f.key_arg()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no signature: "), "{err}");
    assert_eq!(f.emu.writes(), writes, "nothing written for the moved tag");
    let cmds = f.emu.commands();
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        cmds[0]["image"], installed,
        "XNAT still runs the signed digest"
    );
}

#[test]
fn only_registry_sources_can_be_verified_and_image_overrides_are_refused() {
    let f = Fixture::new();
    let key = f.key_arg();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["inspect".into(), "docker-daemon:lab/tool:1.0".into()],
            "is read from a container engine, which holds no cosign signatures",
        ),
        (
            vec!["validate".into(), "oci-archive:tool.tar".into()],
            "is read from an image archive or layout, which holds no cosign signatures",
        ),
        (
            vec!["validate".into(), "command.json".into()],
            "is read from a command file",
        ),
        (
            vec![
                "install".into(),
                f.reference(),
                "--image".into(),
                "lab/elsewhere:1".into(),
            ],
            "--verify-key installs the verified image under its own repository and digest: drop --image",
        ),
    ];
    for (args, want) in cases {
        let out = f
            .emu
            .xnat_cmd(&f.sb)
            .args(&args)
            .args(["--verify-key", &key])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // status of a fleet file takes its keys from the file.
    let file = fleet(
        f.sb.path(),
        &format!("images:\n  - image: {}\n", f.reference()),
    );
    let out = f
        .emu
        .xnat_cmd(&f.sb)
        .arg("status")
        .arg(&file)
        .args(["--verify-key", &key])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("drop --verify-key"),
        "{}",
        stderr(&out)
    );
    // A key file that is not a public key: a usage error naming it.
    let private = f.sb.path().join("cosign.key");
    std::fs::write(
        &private,
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = f.install(&["--verify-key", &private.display().to_string()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("never the private one"), "{err}");
    assert_eq!(f.emu.requests(), 0, "usage errors come before any request");
}

fn fleet(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("fleet.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn sync_verifies_with_the_file_key_or_the_image_own_key() {
    let f = Fixture::new();
    f.sign_with(&[f.valid()]);
    // A second repository signed by another team's key.
    let team = SigningKey::generate();
    let other = image("other");
    block_on(f.reg.push_image_to("lab/other", "2.0", &other));
    let other_repo = format!("{}/lab/other", f.reg.addr);
    block_on(push_signatures(
        &f.reg,
        "lab/other",
        &other.manifest_digest,
        &[SigLayer::signed(&team, &other_repo, &other.manifest_digest)],
    ));
    // Keys next to the fleet file, named relative to it; the sync runs from another directory.
    let conf = f.sb.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::rename(&f.key, conf.join("site.pub")).unwrap();
    team.write_public(&conf, "team.pub");
    let text = format!(
        "verify: {{key: site.pub}}\nimages:\n  - image: {}\n  - image: {other_repo}:2.0\n    verify: {{key: [site.pub, team.pub]}}\n",
        f.reference()
    );
    let file = fleet(&conf, &text);
    let out = f
        .emu
        .xnat_cmd(&f.sb)
        .arg("sync")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut images: Vec<String> = f
        .emu
        .commands()
        .iter()
        .map(|c| c["image"].as_str().unwrap().to_string())
        .collect();
    images.sort();
    let mut want = vec![
        format!("{}@{}", f.repo, f.img.manifest_digest),
        format!("{other_repo}@{}", other.manifest_digest),
    ];
    want.sort();
    assert_eq!(images, want);

    // With only the site key for every image, the other team's image is refused; the first
    // image stays installed, nothing is written for the other.
    let text = format!(
        "verify: {{key: site.pub}}\nimages:\n  - image: {}\n  - image: {other_repo}:2.0\n",
        f.reference()
    );
    let file = fleet(&conf, &text);
    let writes = f.emu.writes();
    let out = f
        .emu
        .xnat_cmd(&f.sb)
        .arg("sync")
        .arg(&file)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("wrong key or tampered payload"), "{err}");
    assert_eq!(f.emu.writes(), writes);
}

#[test]
fn fleet_verify_mistakes_are_located_usage_errors() {
    let sb = Sandbox::new();
    let cases: Vec<(&str, &str)> = vec![
        (
            "images:\n  - image: docker-archive:tool.tar\n    verify: {key: k.pub}\n",
            "fleet.yaml:3:13: `verify` checks cosign signatures of registry images only",
        ),
        (
            "images:\n  - image: ghcr.io/lab/tool:1\n    pin-digest: false\n    verify: {key: k.pub}\n",
            "fleet.yaml:3:17: `pin-digest: false` with `verify`",
        ),
        (
            "images:\n  - image: ghcr.io/lab/tool:1\n    verify: {keys: k.pub}\n",
            "fleet.yaml:3:14: unknown key `keys` in `verify` (allowed: `key`); did you mean `key`?",
        ),
        (
            "verify: {key: []}\nimages:\n  - image: ghcr.io/lab/tool:1\n",
            "fleet.yaml:1:15: `verify.key` is empty",
        ),
    ];
    for (text, want) in cases {
        let file = fleet(sb.path(), text);
        let out = sb.cmd().arg("sync").arg(&file).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(want), "{text}\nwant: {want}\ngot: {err}");
    }
}

/// The OCI 1.1 referrers API, which the CNCF registry 2.8 the other tests use does not offer:
/// a small loopback server that answers `GET /v2/<name>/referrers/<digest>` with the signature
/// manifest cosign attaches (`artifactType` sig), and 404 for the `.sig` tag.
mod referrers {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use axum::Router;
    use xnat_cmd::cosign::PublicKey;
    use xnat_cmd::credentials::{Chain, CredentialEnv};
    use xnat_cmd::source::registry::{RegistryClient, RegistryError, RegistryOptions};
    use xnat_cmd::source::ReadOptions;
    use xnat_cmd_testkit::cosign::{signature_manifest, SigLayer, SigningKey};
    use xnat_cmd_testkit::images::sha256;

    use super::image;

    struct Served {
        /// path → (content type, body)
        docs: BTreeMap<String, (String, Vec<u8>)>,
        /// Every request's path and query.
        seen: Mutex<Vec<String>>,
    }

    async fn handle(State(s): State<Arc<Served>>, uri: Uri) -> Response {
        s.seen.lock().unwrap().push(uri.to_string());
        if uri.path().contains("/referrers/") && !s.docs.contains_key(uri.path()) {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        match s.docs.get(uri.path()) {
            Some((ct, body)) => ([("content-type", ct.clone())], body.clone()).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            )
                .into_response(),
        }
    }

    /// Serve `lab/tool:1.0` whose only signature, made by `signer`, is attached as a referrer;
    /// or, without `referrers`, under the `.sig` tag while the referrers endpoint answers 405
    /// (as some registries without the API do).
    async fn serve(
        signer: &SigningKey,
        referrers: bool,
        copies: usize,
    ) -> (Arc<Served>, String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let img = image("tool");
        let d = &img.manifest_digest;
        let layer = SigLayer::signed(signer, &format!("{addr}/lab/tool"), d);
        let (sig, blobs) = signature_manifest(&vec![layer; copies]);
        let sig_digest = sha256(&sig);
        let oci = "application/vnd.oci.image.manifest.v1+json".to_string();
        let index = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": oci, "digest": sig_digest, "size": sig.len(),
                           "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json"}]
        });
        let mut docs = BTreeMap::new();
        let m = "/v2/lab/tool/manifests";
        let b = "/v2/lab/tool/blobs";
        docs.insert(
            format!("{m}/1.0"),
            (img.manifest_media_type.clone(), img.manifest_bytes.clone()),
        );
        docs.insert(
            format!("{b}/{}", img.config_digest),
            (String::new(), img.config_bytes.clone()),
        );
        if referrers {
            docs.insert(
                format!("/v2/lab/tool/referrers/{d}"),
                (
                    "application/vnd.oci.image.index.v1+json".into(),
                    serde_json::to_vec(&index).unwrap(),
                ),
            );
            docs.insert(format!("{m}/{sig_digest}"), (oci, sig));
        } else {
            let tag = xnat_cmd_testkit::cosign::signature_tag(d);
            docs.insert(format!("{m}/{tag}"), (oci, sig));
        }
        for blob in blobs {
            docs.insert(format!("{b}/{}", sha256(&blob)), (String::new(), blob));
        }
        let served = Arc::new(Served {
            docs,
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(served.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (served, addr, d.clone())
    }

    fn read_options(keys: &[&SigningKey]) -> ReadOptions {
        let keys = keys
            .iter()
            .map(|k| PublicKey::from_pem(k.public_pem().as_bytes(), "k.pub".as_ref()).unwrap())
            .collect();
        ReadOptions {
            verify_keys: keys,
            ..ReadOptions::default()
        }
    }

    fn client() -> (tempfile::TempDir, RegistryClient) {
        let home = tempfile::tempdir().unwrap();
        let opts = RegistryOptions::default();
        let env = CredentialEnv {
            home: Some(home.path().to_path_buf()),
            ..Default::default()
        };
        let chain = Chain::new(&opts.credentials, &env).expect("chain");
        (
            home,
            RegistryClient::with_chain(&opts, chain).expect("client"),
        )
    }

    #[tokio::test]
    async fn a_signature_attached_as_a_referrer_is_found_and_checked() {
        let signer = SigningKey::generate();
        let (served, addr, digest) = serve(&signer, true, 1).await;
        let (_home, c) = client();
        let r = format!("{addr}/lab/tool:1.0");
        let got = c.read(&r, &read_options(&[&signer])).await.unwrap();
        assert_eq!(
            got.images[0].verified_digest.as_deref(),
            Some(digest.as_str())
        );
        let seen = served.seen.lock().unwrap().clone();
        assert!(
            seen.contains(&format!(
                "/v2/lab/tool/referrers/{digest}?artifactType=application%2Fvnd%2Edev%2Ecosign%2Eartifact%2Esig%2Ev1%2Bjson"
            )),
            "{seen:?}"
        );

        // The same referrer with another key: refused, naming the reason.
        let (_home, c) = client();
        let e = c
            .read(&r, &read_options(&[&SigningKey::generate()]))
            .await
            .unwrap_err();
        assert!(matches!(e, RegistryError::Signature(_)), "{e}");
        assert!(
            e.to_string().contains("wrong key or tampered payload"),
            "{e}"
        );
        assert!(e.to_string().contains(&digest), "{e}");
    }

    #[tokio::test]
    async fn a_registry_without_the_referrers_api_falls_back_to_the_tag() {
        let signer = SigningKey::generate();
        let (served, addr, digest) = serve(&signer, false, 1).await;
        let (_home, c) = client();
        let r = format!("{addr}/lab/tool:1.0");
        let got = c.read(&r, &read_options(&[&signer])).await.unwrap();
        assert_eq!(
            got.images[0].verified_digest.as_deref(),
            Some(digest.as_str())
        );
        let seen = served.seen.lock().unwrap().clone();
        assert!(seen.iter().any(|p| p.contains("/referrers/")), "{seen:?}");
    }

    /// One payload named by every layer of a `.sig` manifest was fetched once per mention
    /// (64 layers of one 16 MB blob: 64 GETs, 1 GB held).
    #[tokio::test]
    async fn a_payload_named_by_64_layers_is_fetched_once() {
        let signer = SigningKey::generate();
        let (served, addr, digest) =
            serve(&signer, false, xnat_cmd::limits::MAX_SIGNATURE_LAYERS).await;
        let (_home, c) = client();
        let got = c
            .read(&format!("{addr}/lab/tool:1.0"), &read_options(&[&signer]))
            .await
            .unwrap();
        assert_eq!(
            got.images[0].verified_digest.as_deref(),
            Some(digest.as_str())
        );
        let seen = served.seen.lock().unwrap().clone();
        let img = image("tool");
        let blob_gets: Vec<_> = seen
            .iter()
            .filter(|p| p.contains("/blobs/") && !p.contains(&img.config_digest))
            .collect();
        assert_eq!(blob_gets.len(), 1, "{blob_gets:?}");
    }
}
