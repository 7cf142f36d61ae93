//! Command CRUD against the emulator: create/duplicate/image override, validation, update
//! merge semantics, delete, list filters and the error statuses of §1.9.

use reqwest::Method;
use serde_json::json;
use xnat_emulator::Config;

use crate::support::{hello, Emu, ADMIN, SITEADMIN};

const DUPLICATE: &str = "Bad request:\norg.nrg.framework.exceptions.NrgServiceRuntimeException: Error [Default]: Error [Default]: This command duplicates a command already in the database.";

#[tokio::test]
async fn create_returns_201_with_bare_id_and_duplicate_is_400_exact() {
    let emu = Emu::default().await;
    let first = emu.create(&hello()).await;
    assert_eq!((first.status, first.body.as_str()), (201, "1"));
    assert_eq!(first.content_type, "application/json;charset=UTF-8");
    let again = emu.create(&hello()).await;
    assert_eq!((again.status, again.body.as_str()), (400, DUPLICATE));
    let stored = emu.get_command(1).await;
    assert_eq!(stored["image"], "busybox:latest");
    assert_eq!(stored["xnat"][0]["id"], 1);
}

/// Regression: the duplicate check and the insert took the state lock separately, so identical
/// creates arriving together could both be stored. XNAT checks and inserts in one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_creates_at_once_store_one_command() {
    let emu = Emu::default().await;
    let url = emu.url("/xapi/commands");
    // Many inputs make validation (between the check and the insert before the fix) take a
    // while, so the creates overlap there.
    let mut cmd = hello();
    cmd["inputs"] = (0..3000)
        .map(|i| json!({"name": format!("in{i}"), "type": "string"}))
        .collect();
    let body = cmd.to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (url, body) = (url.clone(), body.clone());
        tasks.spawn(async move {
            let r = reqwest::Client::new()
                .post(url)
                .basic_auth(ADMIN.0, Some(ADMIN.1))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request reaches the emulator");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        });
    }
    let mut answers = Vec::new();
    while let Some(a) = tasks.join_next().await {
        answers.push(a.expect("task runs"));
    }
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 400 && b == DUPLICATE)
        .count();
    assert_eq!((created, refused), (1, 15), "{answers:?}");
    assert_eq!(emu.running.emulator().commands().len(), 1);
}

#[tokio::test]
async fn image_param_overrides_body_and_gets_latest() {
    let emu = Emu::default().await;
    let a = emu
        .post_json(
            "/xapi/commands?image=registry.example.org/team/tool",
            ADMIN,
            &hello(),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let stored = emu.get_command(1).await;
    assert_eq!(stored["image"], "registry.example.org/team/tool:latest");
    // A tagged parameter is kept as given, and counts for the duplicate check.
    let tagged = emu
        .post_json("/xapi/commands?image=busybox:1.36", ADMIN, &hello())
        .await;
    assert_eq!(tagged.status, 201);
    assert_eq!(emu.get_command(2).await["image"], "busybox:1.36");
}

#[tokio::test]
async fn imageless_command_without_param_is_400_blank_image() {
    let emu = Emu::default().await;
    let mut cmd = hello();
    cmd.as_object_mut().unwrap().remove("image");
    let a = emu.create(&cmd).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        "Invalid command:\n\tCommand \"hello\" - image name cannot be blank."
    );
    let with_param = emu
        .post_json("/xapi/commands?image=busybox", ADMIN, &cmd)
        .await;
    assert_eq!(with_param.status, 201, "{}", with_param.body);
}

#[tokio::test]
async fn unknown_type_is_500_before_validation() {
    let emu = Emu::default().await;
    let mut cmd = hello();
    cmd["type"] = json!("kubernetes");
    let a = emu.create(&cmd).await;
    assert_eq!(a.status, 500);
    assert_eq!(
        a.body,
        "There was an error in the request : Cannot instantiate command with type kubernetes"
    );
    assert!(emu.running.emulator().commands().is_empty());
}

#[tokio::test]
async fn unreadable_bodies_are_500_text_and_content_rules_apply() {
    let emu = Emu::default().await;
    let not_json = emu
        .send(
            emu.req(Method::POST, "/xapi/commands", Some(ADMIN))
                .header("content-type", "application/json")
                .body("{\"name\": \"x\",}"),
        )
        .await;
    assert_eq!(not_json.status, 500);
    assert!(
        not_json
            .body
            .starts_with("There was an error in the request : JSON parse error: "),
        "{}",
        not_json.body
    );
    let list = emu.create(&json!([hello()])).await;
    assert_eq!(list.status, 500);
    assert!(list.body.contains("from Array value"), "{}", list.body);

    let no_type = emu
        .send(
            emu.req(Method::POST, "/xapi/commands", Some(ADMIN))
                .body(hello().to_string()),
        )
        .await;
    assert_eq!(no_type.status, 500);
    let xml = emu
        .send(
            emu.req(Method::POST, "/xapi/commands", Some(ADMIN))
                .header("content-type", "application/json")
                .header("accept", "application/xml")
                .body(hello().to_string()),
        )
        .await;
    assert_eq!((xml.status, xml.body.as_str()), (406, ""));

    let strict = Emu::start(Config {
        unsupported_media_status: 415,
        unreadable_body_status: 400,
        ..Config::default()
    })
    .await;
    let no_type = strict
        .send(
            strict
                .req(Method::POST, "/xapi/commands", Some(ADMIN))
                .body(hello().to_string()),
        )
        .await;
    assert_eq!(no_type.status, 415);
    let bad = strict
        .send(
            strict
                .req(Method::POST, "/xapi/commands", Some(ADMIN))
                .header("content-type", "application/json")
                .body("nope"),
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn non_manager_admin_gets_401_text_on_writes() {
    let emu = Emu::default().await;
    let a = emu.post_json("/xapi/commands", SITEADMIN, &hello()).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        "There was an error in the request : User siteadmin is not a Container Manager."
    );
    assert_eq!(a.header("www-authenticate"), None);
    let id = emu.create_ok(&hello()).await;
    let del = emu
        .call(Method::DELETE, &format!("/xapi/commands/{id}"), SITEADMIN)
        .await;
    assert_eq!(del.status, 401);
    assert_eq!(emu.running.emulator().commands().len(), 1);
}

#[tokio::test]
async fn update_keeps_wrapper_ids_and_adds_new_names() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let mut body = emu.get_command(id).await;
    body["description"] = json!("updated");
    // Ids the server gave are fine in the body (they equal the stored ones).
    let same = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!((same.status, same.body.as_str()), (200, ""));
    let mut second = body["xnat"][0].clone();
    second.as_object_mut().unwrap().remove("id");
    second["name"] = json!("hello-again");
    body["xnat"].as_array_mut().unwrap().push(second);
    let grow = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!(grow.status, 200, "{}", grow.body);
    assert_eq!(
        emu.wrapper_ids(id).await,
        vec![
            ("hello-project".to_string(), 1),
            ("hello-again".to_string(), 2)
        ]
    );
    assert_eq!(emu.get_command(id).await["description"], "updated");
    // Dropping a wrapper from the body removes it; its id is never reused.
    body["xnat"].as_array_mut().unwrap().remove(0);
    let shrink = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!(shrink.status, 200);
    assert_eq!(
        emu.wrapper_ids(id).await,
        vec![("hello-again".to_string(), 2)]
    );
}

#[tokio::test]
async fn update_with_foreign_wrapper_id_is_500_and_changes_nothing() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let mut body = emu.get_command(id).await;
    body["xnat"][0]["id"] = json!(77);
    body["description"] = json!("should not land");
    let a = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!(a.status, 500);
    assert!(a.body.contains("was altered from 1 to 77"), "{}", a.body);
    assert_eq!(emu.get_command(id).await.get("description"), None);
}

#[tokio::test]
async fn update_of_missing_id_or_onto_another_triple_is_500() {
    let emu = Emu::default().await;
    let mut v1 = hello();
    v1["version"] = json!("1");
    let mut v2 = hello();
    v2["version"] = json!("2");
    let id1 = emu.create_ok(&v1).await;
    let id2 = emu.create_ok(&v2).await;
    let mut body = emu.get_command(id2).await;
    body.as_object_mut().unwrap().remove("id");
    body["xnat"][0].as_object_mut().unwrap().remove("id");
    let missing = emu.post_json("/xapi/commands/99", ADMIN, &body).await;
    assert_eq!(missing.status, 500, "{}", missing.body);
    body["version"] = json!("1");
    let collide = emu
        .post_json(&format!("/xapi/commands/{id2}"), ADMIN, &body)
        .await;
    assert_eq!(collide.status, 500, "{}", collide.body);
    assert_eq!(emu.get_command(id2).await["version"], "2");
    assert_eq!(emu.get_command(id1).await["version"], "1");
}

#[tokio::test]
async fn update_does_not_default_the_tag() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let mut body = hello();
    body["image"] = json!("busybox");
    let a = emu
        .post_json(&format!("/xapi/commands/{id}"), ADMIN, &body)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        "Invalid command:\n\tCommand \"hello\" - image name must include version tag. e.g. image_name:tag"
    );
}

#[tokio::test]
async fn delete_is_204_always_and_frees_the_triple() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    for _ in 0..2 {
        let a = emu
            .call(Method::DELETE, &format!("/xapi/commands/{id}"), ADMIN)
            .await;
        assert_eq!((a.status, a.body.as_str()), (204, ""));
    }
    let gone = emu
        .call(Method::GET, &format!("/xapi/commands/{id}"), ADMIN)
        .await;
    assert_eq!(
        (gone.status, gone.body.as_str()),
        (404, "Could not find entity with ID 1")
    );
    assert_eq!(emu.create_ok(&hello()).await, 2);
    assert_eq!(
        emu.wrapper_ids(2).await,
        vec![("hello-project".to_string(), 2)]
    );
}

#[tokio::test]
async fn list_filters_by_exact_fields() {
    let emu = Emu::default().await;
    let mut v1 = hello();
    v1["version"] = json!("1.0");
    emu.create_ok(&v1).await;
    emu.create_ok(&hello()).await;
    let names = |a: &crate::support::Answer| {
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let all = emu.call(Method::GET, "/xapi/commands", ADMIN).await;
    assert_eq!(names(&all), vec![1, 2]);
    let by = emu
        .call(
            Method::GET,
            "/xapi/commands?name=hello&version=1.0&image=busybox:latest",
            ADMIN,
        )
        .await;
    assert_eq!(names(&by), vec![1]);
    let untagged = emu
        .call(Method::GET, "/xapi/commands?image=busybox", ADMIN)
        .await;
    assert_eq!(untagged.body, "[]");
    let bad = emu
        .call(Method::GET, "/xapi/commands?version=1.0", ADMIN)
        .await;
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (
            400,
            "Bad request:\nIf \"version\" is specified, must specify \"name\" as well."
        )
    );
    let enabled = emu
        .call(
            Method::GET,
            "/xapi/commands?restrictToEnabledForSite=true",
            ADMIN,
        )
        .await;
    assert_eq!(enabled.body, "[]");
    emu.call(Method::PUT, "/xapi/wrappers/2/enabled", ADMIN)
        .await;
    let enabled = emu
        .call(
            Method::GET,
            "/xapi/commands?restrictToEnabledForSite=true",
            ADMIN,
        )
        .await;
    assert_eq!(names(&enabled), vec![2]);
}

#[tokio::test]
async fn versionless_duplicates_switch_allows_a_second_copy() {
    let emu = Emu::start(Config {
        versionless_duplicates_allowed: true,
        ..Config::default()
    })
    .await;
    assert_eq!(emu.create_ok(&hello()).await, 1);
    assert_eq!(emu.create_ok(&hello()).await, 2);
    let both = emu
        .call(Method::GET, "/xapi/commands?name=hello", ADMIN)
        .await;
    assert_eq!(both.json().as_array().unwrap().len(), 2);
    // With a version the duplicate check still applies.
    let mut v = hello();
    v["version"] = json!("1");
    emu.create_ok(&v).await;
    assert_eq!(emu.create(&v).await.body, DUPLICATE);
}

#[tokio::test]
async fn private_commands_are_hidden_from_non_managers() {
    let emu = Emu::default().await;
    let mut cmd = hello();
    cmd["visibility"] = json!("private");
    let id = emu.create_ok(&cmd).await;
    let owner = crate::support::OWNER;
    let list = emu.call(Method::GET, "/xapi/commands", owner).await;
    assert_eq!(list.body, "[]");
    let one = emu
        .call(Method::GET, &format!("/xapi/commands/{id}"), owner)
        .await;
    assert_eq!((one.status, one.body.as_str()), (200, ""));
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    emu.call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    let list = emu.call(Method::GET, "/xapi/commands", owner).await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn non_numeric_id_is_500_text() {
    let emu = Emu::default().await;
    let a = emu.call(Method::GET, "/xapi/commands/abc", ADMIN).await;
    assert_eq!(a.status, 500);
    assert!(a.body.contains("For input string: \"abc\""), "{}", a.body);
}

#[tokio::test]
async fn upstream_bad_command_is_400_with_eight_error_lines() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let emu = Emu::default().await;
    let path = crate::support::corpus_dir()
        .join("NrgXnat__container-service__test-bad-command-INVALID-SEMANTICS.json");
    let body = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} ({e}); set XNAT_CMD_CORPUS", path.display()));
    let a = emu
        .send(
            emu.req(Method::POST, "/xapi/commands", Some(ADMIN))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!(a.status, 400);
    let errors = a.body.strip_prefix("Invalid command:\n\t").unwrap();
    assert_eq!(errors.split("\n\t").count(), 8, "{}", a.body);
    assert!(emu.running.emulator().commands().is_empty());
}

/// XNAT checks the caller's role before `validate()` runs (where an unnamed output or handler
/// throws): a non-manager gets the 401, a manager the 500.
#[tokio::test]
async fn permission_is_checked_before_an_unnamed_output_crashes() {
    let emu = Emu::default().await;
    let mut cmd = hello();
    cmd["outputs"] = json!([{"mount": "out"}]);
    cmd["mounts"] = json!([{"name": "out", "path": "/out", "writable": true}]);
    let a = emu.post_json("/xapi/commands", SITEADMIN, &cmd).await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(
        a.body,
        "There was an error in the request : User siteadmin is not a Container Manager."
    );
    let b = emu.create(&cmd).await;
    assert_eq!(b.status, 500, "{}", b.body);
    assert_eq!(
        b.body,
        "There was an error in the request : java.lang.NullPointerException"
    );
    assert!(emu.running.emulator().commands().is_empty());
}
