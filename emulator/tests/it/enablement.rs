//! Wrapper enablement: site and project flags in both path spellings, permission answers,
//! and how enablement survives (or not) command updates.

use reqwest::Method;
use serde_json::json;

use crate::support::{hello, Emu, ADMIN, MEMBER, OWNER, SITEADMIN};

async fn project_report(emu: &Emu, path: &str) -> serde_json::Value {
    let a = emu.call(Method::GET, path, ADMIN).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

#[tokio::test]
async fn project_enable_before_site_enable_reports_false() {
    let emu = Emu::default().await;
    emu.create_ok(&hello()).await;
    let p = emu
        .call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!((p.status, p.body.as_str()), (200, ""));
    let report = project_report(&emu, "/xapi/projects/DEMO/wrappers/1/enabled").await;
    assert_eq!(
        report,
        json!({"enabled-for-site": false, "enabled-for-project": false, "project": "DEMO"})
    );
    let s = emu
        .call(
            Method::PUT,
            "/xapi/wrappers/1/enabled?reason=testing",
            ADMIN,
        )
        .await;
    assert_eq!(s.status, 200);
    let report = project_report(&emu, "/xapi/projects/DEMO/wrappers/1/enabled").await;
    assert_eq!(report["enabled-for-project"], true);
    let site = emu
        .call(Method::GET, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!(site.body, "true");
    let projects = emu
        .call(Method::GET, "/xapi/wrappers/1/projects", ADMIN)
        .await;
    assert_eq!(projects.json(), json!(["DEMO"]));
    emu.call(Method::PUT, "/xapi/wrappers/1/disabled", ADMIN)
        .await;
    let report = project_report(&emu, "/xapi/projects/DEMO/wrappers/1/enabled").await;
    assert_eq!(report["enabled-for-project"], false);
}

#[tokio::test]
async fn by_name_paths_with_numeric_fallback_and_404s() {
    let emu = Emu::default().await;
    emu.create_ok(&hello()).await;
    let by_name = emu
        .call(
            Method::PUT,
            "/xapi/commands/1/wrappers/hello-project/enabled",
            ADMIN,
        )
        .await;
    assert_eq!(by_name.status, 200);
    assert!(emu.running.emulator().site_enabled(1));
    let by_number = emu
        .call(Method::GET, "/xapi/commands/1/wrappers/1/enabled", ADMIN)
        .await;
    assert_eq!(by_number.body, "true");
    let no_cmd = emu
        .call(Method::PUT, "/xapi/commands/9/wrappers/x/enabled", ADMIN)
        .await;
    assert_eq!(
        (no_cmd.status, no_cmd.body.as_str()),
        (404, "No command with id 9")
    );
    let no_wrapper = emu
        .call(Method::PUT, "/xapi/commands/1/wrappers/nope/enabled", ADMIN)
        .await;
    assert_eq!(
        (no_wrapper.status, no_wrapper.body.as_str()),
        (404, "Command 1 has no wrapper nope")
    );
    let project = emu
        .call(
            Method::PUT,
            "/xapi/projects/DEMO/commands/1/wrappers/hello-project/enabled",
            OWNER,
        )
        .await;
    assert_eq!(project.status, 200, "{}", project.body);
    assert!(emu.running.emulator().project_enabled("DEMO", 1));
}

#[tokio::test]
async fn permissions_403_empty_for_site_and_401_text_for_projects() {
    let emu = Emu::default().await;
    emu.create_ok(&hello()).await;
    let site = emu
        .call(Method::PUT, "/xapi/wrappers/1/enabled", SITEADMIN)
        .await;
    assert_eq!((site.status, site.body.as_str()), (403, ""));
    assert!(!emu.running.emulator().site_enabled(1));
    let member = emu
        .call(
            Method::PUT,
            "/xapi/projects/DEMO/wrappers/1/enabled",
            MEMBER,
        )
        .await;
    assert_eq!(
        (member.status, member.body.as_str()),
        (
            401,
            "There was an error in the request : User member does not have Delete access."
        )
    );
    // Edit is enough to read the report.
    let read = emu
        .call(
            Method::GET,
            "/xapi/projects/DEMO/wrappers/1/enabled",
            MEMBER,
        )
        .await;
    assert_eq!(read.status, 200);
    let elsewhere = emu
        .call(
            Method::PUT,
            "/xapi/projects/other/wrappers/1/enabled",
            OWNER,
        )
        .await;
    assert_eq!(elsewhere.status, 401);
    // Managers may enable for a project that does not exist (3.7.3 does not check).
    let ghost = emu
        .call(
            Method::PUT,
            "/xapi/projects/ghost/wrappers/1/enabled",
            ADMIN,
        )
        .await;
    assert_eq!(ghost.status, 200);
}

#[tokio::test]
async fn update_keeps_enablement_but_renamed_wrapper_loses_it() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    emu.call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    let mut body = hello();
    body["description"] = json!("v2");
    let a = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &{
            let mut b = body.clone();
            b["image"] = json!("busybox:latest");
            b
        })
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        emu.wrapper_ids(id).await,
        vec![("hello-project".to_string(), 1)]
    );
    let report = project_report(&emu, "/xapi/projects/DEMO/wrappers/1/enabled").await;
    assert_eq!(report["enabled-for-project"], true);

    body["image"] = json!("busybox:latest");
    body["xnat"][0]["name"] = json!("hello-renamed");
    let r = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        emu.wrapper_ids(id).await,
        vec![("hello-renamed".to_string(), 2)]
    );
    let report = project_report(&emu, "/xapi/projects/DEMO/wrappers/2/enabled").await;
    assert_eq!(
        report,
        json!({"enabled-for-site": false, "enabled-for-project": false, "project": "DEMO"})
    );
}
