//! Wrapper writes (W1 add, W2 update) and command visibility (V1 and the C1–C3 filter):
//! success answers, XNAT's check order, and the stored-despite-400 quirk of W1.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{hello, Emu, ADMIN, MEMBER, SITEADMIN};

fn second_wrapper() -> Value {
    json!({"name": "second", "contexts": ["xnat:projectData"],
           "external-inputs": [{"name": "project", "type": "Project"}]})
}

#[tokio::test]
async fn add_wrapper_answers_201_with_the_new_wrapper_id() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let a = emu
        .post_json(
            &format!("/xapi/commands/{id}/wrappers"),
            ADMIN,
            &second_wrapper(),
        )
        .await;
    assert_eq!((a.status, a.body.as_str()), (201, "2"));
    assert_eq!(
        emu.wrapper_ids(id).await,
        vec![("hello-project".to_string(), 1), ("second".to_string(), 2)]
    );
}

#[tokio::test]
async fn add_wrapper_checks_in_xnat_order_and_keeps_a_rejected_wrapper() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    // The body is read before anything else: a broken body is a 500 even for a non-manager.
    let broken = emu
        .send(
            emu.req(Method::POST, "/xapi/commands/1/wrappers", Some(MEMBER))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(broken.status, 500, "{}", broken.body);
    let mistyped = emu
        .post_json(
            "/xapi/commands/1/wrappers",
            MEMBER,
            &json!({"name": "x", "external-inputs": "not a list"}),
        )
        .await;
    assert_eq!(mistyped.status, 500, "{}", mistyped.body);
    for user in [MEMBER, SITEADMIN] {
        let a = emu
            .post_json("/xapi/commands/1/wrappers", user, &second_wrapper())
            .await;
        assert_eq!(a.status, 401);
        assert_eq!(
            a.body,
            format!(
                "There was an error in the request : User {} is not a Container Manager.",
                user.0
            )
        );
    }
    let missing = emu
        .post_json("/xapi/commands/99/wrappers", ADMIN, &second_wrapper())
        .await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "Could not find entity with ID 99")
    );
    let bad_id = emu
        .post_json("/xapi/commands/x/wrappers", ADMIN, &second_wrapper())
        .await;
    assert_eq!(bad_id.status, 500);
    let nameless = emu
        .post_json(&format!("/xapi/commands/{id}/wrappers"), ADMIN, &json!({}))
        .await;
    assert_eq!(nameless.status, 400);
    assert_eq!(
        nameless.body,
        "Invalid command:\n\tCommand \"hello\" - Command wrapper name cannot be blank."
    );
    // Validation runs after the insert, in a transaction a checked exception does not roll
    // back: the rejected wrapper is stored, with the next id.
    let stored = emu.get_command(id).await;
    let wrappers = stored["xnat"].as_array().unwrap();
    assert_eq!(wrappers.len(), 2, "{stored}");
    assert_eq!(wrappers[1]["id"], 2);
}

#[tokio::test]
async fn update_wrapper_replaces_it_in_place_and_keeps_its_enablement() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    emu.call(Method::PUT, "/xapi/wrappers/1/enabled", ADMIN)
        .await;
    let mut changed = hello()["xnat"][0].clone();
    changed["description"] = json!("now described");
    let a = emu
        .post_json(&format!("/xapi/commands/{id}/wrappers/1"), ADMIN, &changed)
        .await;
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    let stored = emu.get_command(id).await;
    assert_eq!(stored["xnat"][0]["id"], 1);
    assert_eq!(stored["xnat"][0]["description"], "now described");
    assert!(emu.running.emulator().site_enabled(1));

    let cases = [
        (
            "/xapi/commands/1/wrappers/9",
            ADMIN,
            404,
            "No command wrapper for id 9",
        ),
        (
            "/xapi/commands/9/wrappers/1",
            ADMIN,
            404,
            "Could not find entity with ID 9",
        ),
        (
            "/xapi/commands/1/wrappers/1",
            MEMBER,
            401,
            "There was an error in the request : User member is not a Container Manager.",
        ),
    ];
    for (path, user, status, body) in cases {
        let a = emu.post_json(path, user, &changed).await;
        assert_eq!((a.status, a.body.as_str()), (status, body), "{path}");
    }
    // A wrapper made invalid is stored all the same (checked exception, no rollback).
    let mut blank = changed.clone();
    blank["name"] = json!("");
    let a = emu
        .post_json(&format!("/xapi/commands/{id}/wrappers/1"), ADMIN, &blank)
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.starts_with("Invalid command:\n\t"), "{}", a.body);
    assert_eq!(emu.get_command(id).await["xnat"][0]["name"], "");
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn visibility_hides_private_commands_from_non_managers() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let set = emu
        .call(
            Method::POST,
            &format!("/xapi/command/{id}/visibility/private"),
            ADMIN,
        )
        .await;
    assert_eq!((set.status, set.body.as_str()), (200, ""));
    assert_eq!(emu.get_command(id).await["visibility"], "private");

    let member_list = emu.call(Method::GET, "/xapi/commands", MEMBER).await;
    assert_eq!(names(&member_list.json()), Vec::<String>::new());
    let admin_list = emu.call(Method::GET, "/xapi/commands", ADMIN).await;
    assert_eq!(names(&admin_list.json()), vec!["hello"]);
    let member_one = emu
        .call(Method::GET, &format!("/xapi/commands/{id}"), MEMBER)
        .await;
    assert_eq!((member_one.status, member_one.body.as_str()), (200, ""));
    let filtered = emu
        .call(Method::GET, "/xapi/commands?name=hello", MEMBER)
        .await;
    assert_eq!(filtered.json(), json!([]));

    // Enabled in a project the member can read (the project record alone counts): visible.
    emu.call(Method::PUT, "/xapi/projects/DEMO/wrappers/1/enabled", ADMIN)
        .await;
    let member_list = emu.call(Method::GET, "/xapi/commands", MEMBER).await;
    assert_eq!(names(&member_list.json()), vec!["hello"]);

    emu.call(
        Method::PUT,
        "/xapi/projects/DEMO/wrappers/1/disabled",
        ADMIN,
    )
    .await;
    emu.call(
        Method::POST,
        &format!("/xapi/command/{id}/visibility/protected"),
        ADMIN,
    )
    .await;
    let member_list = emu.call(Method::GET, "/xapi/commands", MEMBER).await;
    assert_eq!(names(&member_list.json()), vec!["hello"]);
}

#[tokio::test]
async fn visibility_errors() {
    let emu = Emu::default().await;
    let id = emu.create_ok(&hello()).await;
    let member = emu
        .call(
            Method::POST,
            &format!("/xapi/command/{id}/visibility/private"),
            MEMBER,
        )
        .await;
    assert_eq!((member.status, member.body.as_str()), (403, ""));
    let unknown = emu
        .call(
            Method::POST,
            &format!("/xapi/command/{id}/visibility/Public"),
            ADMIN,
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.body,
        "[Command \"hello\" -  has visibility set to an unknown value. Known types: public, private, protected]"
    );
    assert_eq!(emu.get_command(id).await["visibility"], "public");
    let missing = emu
        .call(Method::POST, "/xapi/command/9/visibility/private", ADMIN)
        .await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (
            400,
            "There was an error in the request : The command identified by id 9 does not exist."
        )
    );
}
