//! Wrapper configuration (S8–S10, P7): what GET renders, how POST interacts with enablement,
//! that a configuration survives enable/disable and command updates, DELETE's rules, and the
//! aspect's permission answers.

use reqwest::Method;
use serde_json::{json, Value};
use xnat_emulator::{Config, Level, User};

use crate::support::{Emu, ADMIN, MEMBER, OWNER, SITEADMIN};

/// A command with a command input, a mount, an output and an output handler.
fn configurable() -> Value {
    json!({
        "name": "cfg", "image": "busybox:1", "command-line": "echo #MSG#",
        "mounts": [{"name": "out", "writable": true, "path": "/out"}],
        "inputs": [{"name": "msg", "type": "string", "default-value": "hi", "replacement-key": "#MSG#"}],
        "outputs": [{"name": "result", "mount": "out"}],
        "xnat": [{
            "name": "cfg-project", "contexts": ["xnat:projectData"],
            "external-inputs": [{"name": "project", "type": "Project"}],
            "output-handlers": [{"name": "result-resource", "accepts-command-output": "result",
                                 "as-a-child-of": "project", "type": "Resource", "label": "RESULT"}]
        }]
    })
}

async fn config_of(emu: &Emu, path: &str, user: (&str, &str)) -> Value {
    let a = emu.call(Method::GET, path, user).await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    a.json()
}

async fn site_enabled(emu: &Emu) -> String {
    emu.call(Method::GET, "/xapi/wrappers/1/enabled", ADMIN)
        .await
        .body
}

#[tokio::test]
async fn site_configuration_round_trip_survives_enablement_and_update() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&configurable()).await;
    let fresh = config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await;
    assert_eq!(fresh["inputs"]["msg"]["default-value"], "hi");
    assert_eq!(fresh["inputs"]["msg"]["user-settable"], true);
    assert_eq!(fresh["inputs"]["msg"]["advanced"], false);
    assert_eq!(fresh["inputs"]["project"]["type"], "Project");
    assert_eq!(fresh["inputs"]["project"]["required"], Value::Null);
    assert_eq!(
        fresh["outputs"],
        json!({"result-resource": {"type": "Resource", "label": "RESULT"}})
    );
    assert_eq!(site_enabled(&emu).await, "false");

    let body = json!({"inputs": {"msg": {"default-value": "bye", "advanced": true}},
                      "outputs": {"result-resource": {"label": "NEW"}}});
    let post = emu.post_json("/xapi/wrappers/1/config", ADMIN, &body).await;
    assert_eq!((post.status, post.body.as_str()), (201, ""));
    // `enable` defaults to true.
    assert_eq!(site_enabled(&emu).await, "true");
    let expect_configured = |c: &Value| {
        assert_eq!(c["inputs"]["msg"]["default-value"], "bye", "{c}");
        assert_eq!(c["inputs"]["msg"]["advanced"], true, "{c}");
        // A configured command input takes user-settable from the configuration, null included.
        assert_eq!(c["inputs"]["msg"]["user-settable"], Value::Null, "{c}");
        assert_eq!(c["outputs"]["result-resource"]["label"], "NEW", "{c}");
    };
    expect_configured(&config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await);

    emu.call(Method::PUT, "/xapi/wrappers/1/disabled", ADMIN)
        .await;
    assert_eq!(site_enabled(&emu).await, "false");
    expect_configured(
        &config_of(&emu, "/xapi/commands/1/wrappers/cfg-project/config", ADMIN).await,
    );
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    expect_configured(&config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await);

    // An update that keeps the wrapper keeps its id, so its configuration.
    let up = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &configurable())
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    expect_configured(&config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await);

    // DELETE clears inputs/outputs but keeps the record's flag.
    let del = emu
        .call(Method::DELETE, "/xapi/wrappers/1/config", ADMIN)
        .await;
    assert_eq!((del.status, del.body.as_str()), (204, ""));
    let cleared = config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await;
    assert_eq!(cleared["inputs"]["msg"]["default-value"], "hi");
    assert_eq!(cleared["outputs"]["result-resource"]["label"], "RESULT");
    assert_eq!(site_enabled(&emu).await, "true");
}

#[tokio::test]
async fn enable_false_writes_the_current_flag() {
    let emu = Emu::default().await;
    emu.create_ok(&configurable()).await;
    // A fresh wrapper is disabled: enable=false writes false.
    let a = emu
        .post_json(
            "/xapi/commands/1/wrappers/cfg-project/config?enable=false",
            ADMIN,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(site_enabled(&emu).await, "false");
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    emu.post_json("/xapi/wrappers/1/config?enable=false", ADMIN, &json!({}))
        .await;
    assert_eq!(site_enabled(&emu).await, "true");

    // Project scope: with the site flag off, enable=false turns an enabled project record off.
    emu.call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    emu.call(Method::PUT, "/xapi/wrappers/1/disabled", ADMIN)
        .await;
    let p = emu
        .post_json(
            "/xapi/projects/DEMO/wrappers/1/config?enable=false",
            OWNER,
            &json!({}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    assert!(!emu.running.emulator().project_enabled("DEMO", 1));
}

#[tokio::test]
async fn site_configuration_errors() {
    let emu = Emu::default().await;
    emu.create_ok(&configurable()).await;
    let cases = [
        (Method::POST, "/xapi/wrappers/1/config", MEMBER, 403, ""),
        (Method::POST, "/xapi/wrappers/1/config", SITEADMIN, 403, ""),
        (Method::GET, "/xapi/wrappers/1/config", MEMBER, 403, ""),
        (Method::DELETE, "/xapi/wrappers/1/config", MEMBER, 403, ""),
        (
            Method::GET,
            "/xapi/wrappers/99/config",
            ADMIN,
            404,
            "No command with wrapper with id 99",
        ),
        (
            Method::GET,
            "/xapi/commands/1/wrappers/nope/config",
            ADMIN,
            404,
            "Command 1 has no wrapper nope",
        ),
        (
            Method::POST,
            "/xapi/commands/9/wrappers/x/config",
            ADMIN,
            404,
            "No command with id 9",
        ),
        (
            Method::DELETE,
            "/xapi/commands/9/wrappers/x/config",
            ADMIN,
            404,
            "No command with id 9",
        ),
        // No existence check on the wrapper id for writes.
        (Method::POST, "/xapi/wrappers/99/config", ADMIN, 201, ""),
        (Method::DELETE, "/xapi/wrappers/98/config", ADMIN, 204, ""),
    ];
    for (method, path, user, status, body) in cases {
        let b = emu
            .req(method.clone(), path, Some(user))
            .header("content-type", "application/json")
            .body("{}");
        let a = emu.send(b).await;
        assert_eq!(
            (a.status, a.body.as_str()),
            (status, body),
            "{method} {path}"
        );
    }
    // The body is read before the aspect runs.
    let broken = emu
        .send(
            emu.req(Method::POST, "/xapi/wrappers/1/config", Some(MEMBER))
                .header("content-type", "application/json")
                .body("[1"),
        )
        .await;
    assert_eq!(broken.status, 500, "{}", broken.body);
    let bad_flag = emu
        .post_json("/xapi/wrappers/1/config?enable=maybe", ADMIN, &json!({}))
        .await;
    assert_eq!(bad_flag.status, 500, "{}", bad_flag.body);
}

/// Default users plus `reader` (Read on DEMO), `outsider` (no access) and `cm`, a Container
/// Manager who is not a site administrator and has no project access.
fn more_users() -> Config {
    let mut c = Config::default();
    c.users.push(User::new("reader", "reader", &[]));
    c.users.push(User::new("outsider", "outsider", &[]));
    c.users.push(User::new("cm", "cm", &["ContainerManager"]));
    if let Some(p) = c.projects.iter_mut().find(|p| p.id == "DEMO") {
        p.access.push(("reader".to_string(), Level::Read));
    }
    c
}

#[tokio::test]
async fn project_configuration_overlays_the_site_one_with_aspect_permissions() {
    let emu = Emu::start(more_users()).await;
    emu.create_ok(&configurable()).await;
    emu.post_json(
        "/xapi/wrappers/1/config",
        ADMIN,
        &json!({"inputs": {"msg": {"default-value": "site"}}}),
    )
    .await;
    let p = emu
        .post_json(
            "/xapi/projects/DEMO/commands/1/wrappers/cfg-project/config",
            OWNER,
            &json!({"inputs": {"msg": {"matcher": "m"}}}),
        )
        .await;
    assert_eq!((p.status, p.body.as_str()), (201, ""));
    let project = config_of(&emu, "/xapi/projects/DEMO/wrappers/1/config", MEMBER).await;
    assert_eq!(project["inputs"]["msg"]["default-value"], "site");
    assert_eq!(project["inputs"]["msg"]["matcher"], "m");
    let site = config_of(&emu, "/xapi/wrappers/1/config", ADMIN).await;
    assert_eq!(site["inputs"]["msg"]["matcher"], Value::Null);
    // POST with enable (default) wrote the project flag.
    assert!(emu.running.emulator().project_enabled("DEMO", 1));

    let cases = [
        (
            Method::POST,
            "/xapi/projects/DEMO/wrappers/1/config",
            MEMBER,
            403,
        ),
        (
            Method::DELETE,
            "/xapi/projects/DEMO/wrappers/1/config",
            MEMBER,
            403,
        ),
        (
            Method::GET,
            "/xapi/projects/DEMO/wrappers/1/config",
            ("reader", "reader"),
            403,
        ),
        (
            Method::GET,
            "/xapi/projects/DEMO/wrappers/1/config",
            ("outsider", "outsider"),
            403,
        ),
        (
            Method::POST,
            "/xapi/projects/DEMO/wrappers/1/config",
            ("cm", "cm"),
            403,
        ),
        (
            Method::GET,
            "/xapi/projects/DEMO/commands/1/wrappers/cfg-project/config",
            MEMBER,
            200,
        ),
        (
            Method::POST,
            "/xapi/projects/DEMO/wrappers/1/config",
            SITEADMIN,
            201,
        ),
        (
            Method::DELETE,
            "/xapi/projects/DEMO/commands/1/wrappers/cfg-project/config",
            OWNER,
            204,
        ),
    ];
    for (method, path, user, status) in cases {
        let b = emu
            .req(method.clone(), path, Some(user))
            .header("content-type", "application/json")
            .body("{}");
        let a = emu.send(b).await;
        assert_eq!(
            a.status, status,
            "{method} {path} as {}: {}",
            user.0, a.body
        );
        if status == 403 {
            assert_eq!(a.body, "", "aspect answers are empty");
        }
    }
    // The enable endpoint is the controller's check, where a Container Manager passes.
    let cm_enable = emu
        .call(
            Method::PUT,
            "/xapi/projects/DEMO/wrappers/1/enabled",
            ("cm", "cm"),
        )
        .await;
    assert_eq!(cm_enable.status, 200);
}
