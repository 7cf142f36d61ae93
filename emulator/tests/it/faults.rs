//! Test hooks and fault injection: write counting, failing the Nth write or matching writes,
//! forced login redirects, and the HTTP hook endpoints.

use reqwest::Method;
use serde_json::json;
use xnat_emulator::{Config, Faults};

use crate::support::{hello, Emu, ADMIN};

#[tokio::test]
async fn writes_are_counted_and_logged() {
    let emu = Emu::default().await;
    emu.create_ok(&hello()).await;
    emu.call(Method::GET, "/xapi/commands", ADMIN).await;
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    let e = emu.running.emulator();
    assert_eq!(e.writes(), 2);
    let log: Vec<(String, String, u16)> = e
        .log()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    assert_eq!(
        log,
        vec![
            ("POST".into(), "/xapi/commands".into(), 201),
            ("GET".into(), "/xapi/commands".into(), 200),
            ("PUT".into(), "/xapi/wrappers/1/enabled".into(), 200),
        ]
    );
    let counters = emu
        .send(emu.req(Method::GET, "/__emulator/counters", None))
        .await;
    assert_eq!(
        counters.json(),
        json!({"requests": 3, "writes": 2, "by-method": {"GET": 1, "POST": 1, "PUT": 1}})
    );
    let reset = emu
        .send(emu.req(Method::POST, "/__emulator/reset", None))
        .await;
    assert_eq!(reset.status, 204);
    assert_eq!(e.writes(), 0);
    let state = emu
        .send(emu.req(Method::GET, "/__emulator/state", None))
        .await
        .json();
    assert_eq!(state["commands"][0]["name"], "hello");
    assert_eq!(state["site_enabled"], json!({"1": true}));
}

#[tokio::test]
async fn nth_write_fails_once_with_500() {
    let emu = Emu::start(Config {
        faults: Faults {
            fail_nth_write: Some(2),
            ..Faults::default()
        },
        ..Config::default()
    })
    .await;
    emu.create_ok(&hello()).await;
    let second = emu
        .call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!(
        (second.status, second.body.as_str()),
        (
            500,
            "There was an error in the request : emulator fault injected"
        )
    );
    assert!(!emu.running.emulator().site_enabled(1));
    let third = emu
        .call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!(third.status, 200);
    assert!(emu.running.emulator().site_enabled(1));
}

#[tokio::test]
async fn faults_set_over_http_match_paths_and_force_redirects() {
    let emu = Emu::default().await;
    let set = emu
        .send(
            emu.req(Method::PUT, "/__emulator/faults", None)
                .body(json!({"fail-writes-matching": "/projects/"}).to_string()),
        )
        .await;
    assert_eq!(set.status, 204);
    emu.create_ok(&hello()).await;
    assert_eq!(
        emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
            .await
            .status,
        200
    );
    let p = emu
        .call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!(p.status, 500);
    emu.running.emulator().set_faults(Faults {
        force_login_redirect: true,
        ..Faults::default()
    });
    let r = emu.call(Method::GET, "/xapi/commands", ADMIN).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/app/template/Login.vm")
    );
    let f = emu
        .send(emu.req(Method::GET, "/__emulator/faults", None))
        .await
        .json();
    assert_eq!(f["force-login-redirect"], true);
}

#[tokio::test]
async fn hooks_are_absent_unless_enabled() {
    let running = xnat_emulator::start(Config::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let r = reqwest::get(format!("{}/__emulator/state", running.url()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    running.shutdown().await;
}

#[tokio::test]
async fn start_refuses_non_loopback_addresses() {
    let err = xnat_emulator::start(Config::default(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        "refusing to bind `0.0.0.0:0`: the emulator listens on loopback only (127.0.0.1 or ::1)"
    );
}
