//! HTTPS: the emulator serves the API over TLS with a given certificate, a client must trust
//! its CA, and bad TLS files stop it with a clear error.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use xnat_emulator::{Config, StartError, TlsError};

use crate::pki::{write_test_pki, PkiFiles};

fn tls_config(pki: &PkiFiles) -> Config {
    Config {
        context_path: "/xnat".into(),
        tls_cert: Some(pki.cert.clone()),
        tls_key: Some(pki.key.clone()),
        ..Config::default()
    }
}

fn trusting_client(pki: &PkiFiles) -> reqwest::Client {
    let ca = std::fs::read(&pki.ca).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap()
}

/// The error and all its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[tokio::test]
async fn https_serves_the_api_to_clients_that_trust_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_test_pki(dir.path());
    let running = xnat_emulator::start(tls_config(&pki), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts with TLS");
    let url = running.url();
    assert_eq!(
        url,
        format!("https://127.0.0.1:{}/xnat", running.addr().port())
    );

    // A client without the test CA fails the handshake on the certificate ...
    let untrusted = reqwest::Client::new()
        .get(format!("{url}/xapi/plugins"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .expect_err("the test CA is not a system root");
    let text = chain(&untrusted);
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );

    // ... and that failed handshake does not stop the server for clients that trust it.
    let http = trusting_client(&pki);
    let plugins = http
        .get(format!("{url}/xapi/plugins"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .expect("HTTPS request with the CA trusted");
    assert_eq!(plugins.status().as_u16(), 200);
    let body: serde_json::Value = plugins.json().await.unwrap();
    assert_eq!(body["containers"]["version"], "3.7.3");
    let session = http
        .post(format!("{url}/data/JSESSION"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status().as_u16(), 200);
    // Only the two requests over a finished handshake reached the server.
    let log: Vec<(String, String, u16)> = running
        .emulator()
        .log()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("GET".to_string(), "/xapi/plugins".to_string(), 200),
            ("POST".to_string(), "/data/JSESSION".to_string(), 200),
        ]
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_certificate_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_test_pki(dir.path());
    let config = Config {
        tls_key: None,
        ..tls_config(&pki)
    };
    let Err(e) = xnat_emulator::start(config, "127.0.0.1:0".parse().unwrap()).await else {
        panic!("started without a key");
    };
    assert!(matches!(e, StartError::TlsPair), "{e:?}");
    assert_eq!(
        e.to_string(),
        "HTTPS needs both a certificate and a key: pass --tls-cert FILE and --tls-key FILE together"
    );
}

#[tokio::test]
async fn unusable_tls_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_test_pki(dir.path());
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "just text\n").unwrap();
    let start = |config| xnat_emulator::start(config, "127.0.0.1:0".parse().unwrap());

    let Err(e) = start(Config {
        tls_cert: Some(not_pem.clone()),
        ..tls_config(&pki)
    })
    .await
    else {
        panic!("started with a non-PEM certificate");
    };
    assert!(
        matches!(e, StartError::Tls(TlsError::NoCert { .. })),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "TLS certificate file `{}` holds no PEM certificate",
            not_pem.display()
        )
    );

    let missing = dir.path().join("missing.key");
    let Err(e) = start(Config {
        tls_key: Some(missing.clone()),
        ..tls_config(&pki)
    })
    .await
    else {
        panic!("started with a missing key");
    };
    assert!(matches!(e, StartError::Tls(TlsError::Key { .. })), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!(
            "failed to read TLS private key `{}`: ",
            missing.display()
        )),
        "{e}"
    );

    // The CA's certificate with the server's key: rustls rejects the mismatched pair.
    let Err(e) = start(Config {
        tls_cert: Some(pki.ca.clone()),
        ..tls_config(&pki)
    })
    .await
    else {
        panic!("started with a certificate that does not match the key");
    };
    assert!(
        matches!(e, StartError::Tls(TlsError::Config { .. })),
        "{e:?}"
    );
}

#[test]
fn binary_prints_an_https_url_with_tls_flags() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_test_pki(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .arg("--tls-cert")
        .arg(&pki.cert)
        .arg("--tls-key")
        .arg(&pki.key)
        .args(["--context-path", "/xnat", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xnat-emulator binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("xnat-emulator listening on https://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    let port = url.strip_suffix("/xnat").unwrap_or_else(|| panic!("{url}"));
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{url}");
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn binary_needs_the_key_with_the_certificate() {
    let out = Command::new(env!("CARGO_BIN_EXE_xnat-emulator"))
        .args(["--tls-cert", "server.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the following required arguments were not provided:")
            && err.contains("--tls-key <FILE>"),
        "{err}"
    );
}
