//! Credential helpers (`credHelpers` in config.json): a `docker-credential-*` script found on
//! the chain's `PATH` supplies the Basic credentials, and one that hangs is stopped at the
//! deadline with an error naming it, while the runtime keeps serving.

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use xnat_cmd::credentials::CredentialError;

use super::*;

/// Long enough for a shell script on a loaded machine, short enough for a test.
const HELPER_TEST_DEADLINE: Duration = Duration::from_secs(10);

/// A client whose config.json sends `registry` to `docker-credential-test`, a shell script
/// with `body` found on a `PATH` made of the script's dir and the system's.
fn client_with_helper(
    home: &Path,
    registry: &str,
    body: &str,
    deadline: Duration,
) -> RegistryClient {
    let bin = home.join("bin");
    let script = write_file(
        &bin,
        "docker-credential-test",
        &format!("#!/bin/sh\n{body}\n"),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_file(
        home,
        ".docker/config.json",
        &format!(r#"{{"credHelpers":{{"{registry}":"test"}}}}"#),
    );
    let env = CredentialEnv {
        home: Some(home.to_path_buf()),
        path: Some(format!("{}:/usr/bin:/bin", bin.display()).into()),
        ..Default::default()
    };
    let opts = RegistryOptions::default();
    let chain = Chain::new(&opts.credentials, &env)
        .expect("chain")
        .with_helper_deadline(deadline);
    RegistryClient::with_chain(&opts, chain).expect("client")
}

#[tokio::test]
async fn credentials_from_a_helper_open_a_basic_auth_registry() {
    let reg = Registry::start(Mode::Basic {
        user: "helperuser".into(),
        password: "helperpass".into(),
    });
    let img = ImageBuilder::new().label(LABEL, "[helper]").build();
    reg.push_image_to("xnat/private", "v1", &img).await;
    let reference = format!("{}/xnat/private:v1", reg.addr);
    let home = tempfile::tempdir().unwrap();
    // The helper checks that it was asked for this registry (on stdin) before answering.
    let body = format!(
        r#"read server
[ "$1" = get ] && [ "$server" = "{addr}" ] || {{ echo "asked $1 for $server" >&2; exit 1; }}
echo '{{"ServerURL":"{addr}","Username":"helperuser","Secret":"helperpass"}}'"#,
        addr = reg.addr
    );
    let c = client_with_helper(home.path(), &reg.addr, &body, HELPER_TEST_DEADLINE);
    let got = read(&c, &reference).await.unwrap();
    assert_eq!(got.images[0].labels, labels("[helper]"));
    assert_eq!(c.requests(), 3, "401, manifest, config");
}

#[tokio::test]
async fn a_hanging_helper_is_stopped_at_the_deadline() {
    let reg = Registry::start(Mode::Basic {
        user: "u".into(),
        password: "p".into(),
    });
    reg.push_image_to(
        "xnat/private",
        "v1",
        &ImageBuilder::new().label(LABEL, "[]").build(),
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let deadline = Duration::from_millis(500);
    let c = client_with_helper(home.path(), &reg.addr, "exec sleep 60", deadline);
    // A timer on the same (current-thread) runtime keeps ticking while the helper runs: the
    // wait does not block the runtime.
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let start = Instant::now();
    let e = read(&c, &format!("{}/xnat/private:v1", reg.addr))
        .await
        .unwrap_err();
    let took = start.elapsed();
    ticker.abort();
    match &e {
        RegistryError::Credentials(CredentialError::HelperDeadline {
            helper,
            server,
            after,
        }) => {
            assert_eq!(
                (helper.as_str(), server.as_str(), *after),
                ("test", reg.addr.as_str(), deadline)
            );
        }
        other => panic!("expected the helper deadline, got {other:?}"),
    }
    assert_eq!(
        e.to_string(),
        format!(
            "credential helper `docker-credential-test` did not answer for `{}` within 500ms and was stopped",
            reg.addr
        )
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        ticks.load(std::sync::atomic::Ordering::Relaxed) >= 5,
        "the runtime was blocked while the helper ran"
    );
}
