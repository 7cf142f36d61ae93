//! "Available commands" (A1, A2): xsiType matching with inheritance, summary fields, the
//! enabled flag per scope, Read permission, and the answers for missing parameters.

use reqwest::Method;
use serde_json::{json, Value};
use xnat_emulator::{Config, User};

use crate::support::{hello, Emu, ADMIN, MEMBER};

fn session_command() -> Value {
    json!({
        "name": "sess", "label": "Session tool", "image": "busybox:2", "command-line": "true",
        "xnat": [{"name": "sess-wrapper", "description": "on sessions",
                  "contexts": ["xnat:imageSessionData"],
                  "external-inputs": [{"name": "session", "type": "Session"}]}]
    })
}

async fn available(emu: &Emu, path: &str) -> Vec<Value> {
    let a = emu.call(Method::GET, path, MEMBER).await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    a.json().as_array().cloned().unwrap_or_default()
}

fn wrapper_names(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|s| s["wrapper-name"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn project_summaries_match_by_xsi_type_and_report_project_enablement() {
    let emu = Emu::default().await;
    emu.create_ok(&hello()).await;
    emu.create_ok(&session_command()).await;
    let mr = available(
        &emu,
        "/xapi/commands/available?project=DEMO&xsiType=xnat:mrSessionData",
    )
    .await;
    assert_eq!(
        mr,
        vec![json!({
            "command-id": 2, "command-name": "sess", "command-label": "Session tool",
            "wrapper-id": 2, "wrapper-name": "sess-wrapper", "wrapper-description": "on sessions",
            "wrapper-contexts": ["xnat:imageSessionData"], "image-name": "busybox:2",
            "image-type": "docker", "enabled": false, "root-element-name": "session"
        })]
    );
    let cases = [
        ("xnat:imageSessionData", vec!["sess-wrapper"]),
        ("xnat:petmrSessionData", vec!["sess-wrapper"]),
        ("xnat:experimentData", vec![]),
        ("xnat:projectData", vec!["hello-project"]),
        // Unknown to XNAT's schema: not an error in 3.7.3, equality only.
        ("plugin:unknownData", vec![]),
    ];
    for (xsi, want) in cases {
        let list = available(
            &emu,
            &format!("/xapi/projects/DEMO/commands/available?xsiType={xsi}"),
        )
        .await;
        assert_eq!(wrapper_names(&list), want, "{xsi}");
    }
    emu.call(Method::PUT, "/xapi/wrappers/2/enabled", ADMIN)
        .await;
    emu.call(Method::PUT, "/xapi/projects/DEMO/wrappers/2/enabled", ADMIN)
        .await;
    let mr = available(
        &emu,
        "/xapi/commands/available?project=DEMO&xsiType=xnat:mrSessionData",
    )
    .await;
    assert_eq!(mr[0]["enabled"], true);
}

#[tokio::test]
async fn a_project_without_image_sessions_lists_no_scan_wrapper_even_to_an_administrator() {
    let emu = Emu::default().await;
    let mut scan = session_command();
    scan["xnat"][0]["contexts"] = json!(["xnat:imageScanData"]);
    scan["xnat"][0]["external-inputs"] = json!([{"name": "scan", "type": "Scan"}]);
    emu.create_ok(&scan).await;
    for who in [ADMIN, MEMBER] {
        let a = emu
            .call(
                Method::GET,
                "/xapi/projects/DEMO/commands/available?xsiType=xnat:mrScanData",
                who,
            )
            .await;
        assert_eq!((a.status, a.json()), (200, json!([])));
    }
    // Site-wide there is no permission filter.
    let site = available(
        &emu,
        "/xapi/commands/available/site?xsiType=xnat:mrScanData",
    )
    .await;
    assert_eq!(wrapper_names(&site), vec!["sess-wrapper"]);
}

#[tokio::test]
async fn site_summaries_report_the_site_flag_and_intersect_projects() {
    let emu = Emu::default().await;
    emu.create_ok(&session_command()).await;
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    let site = available(
        &emu,
        "/xapi/commands/available/site?xsiType=xnat:mrSessionData",
    )
    .await;
    assert_eq!(wrapper_names(&site), vec!["sess-wrapper"]);
    assert_eq!(site[0]["enabled"], true);
    // Per project the flag is the project's (off here).
    let per_project = available(
        &emu,
        "/xapi/commands/available/site?xsiType=xnat:mrSessionData&projects=DEMO",
    )
    .await;
    assert_eq!(per_project[0]["enabled"], false);
}

#[tokio::test]
async fn permission_and_parameter_answers() {
    let mut config = Config::default();
    config.users.push(User::new("outsider", "outsider", &[]));
    let emu = Emu::start(config).await;
    emu.create_ok(&session_command()).await;
    let outsider = emu
        .call(
            Method::GET,
            "/xapi/projects/DEMO/commands/available?xsiType=xnat:mrSessionData",
            ("outsider", "outsider"),
        )
        .await;
    assert_eq!((outsider.status, outsider.body.as_str()), (403, ""));
    // Without both parameters Spring routes to GET /xapi/commands/{id} with id "available".
    let no_type = emu
        .call(Method::GET, "/xapi/commands/available?project=DEMO", ADMIN)
        .await;
    assert_eq!(no_type.status, 500);
    assert!(
        no_type.body.contains("For input string: \"available\""),
        "{}",
        no_type.body
    );
    let no_type = emu
        .call(Method::GET, "/xapi/projects/DEMO/commands/available", ADMIN)
        .await;
    assert_eq!(no_type.status, 400);
}
