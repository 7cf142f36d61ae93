//! Command bodies read as XNAT's Jackson mapper reads them: single quotes and `#` comments
//! accepted on create and update, `//` comments and unquoted names refused as by XNAT.

use reqwest::Method;

use crate::support::{Emu, ADMIN};

/// The minimal command of spec §2.8, hand-written with single quotes and `#` comments.
const LENIENT_HELLO: &str = "# hand-written, as XNAT's mapper allows\n\
{'name': 'hello', 'image': 'busybox', # the image\n\
 'command-line': 'echo \\'hi\\' \"there\"',\n\
 'xnat': [{'name': 'hello-project', 'contexts': ['xnat:projectData'],\n\
           'external-inputs': [{'name': 'project', 'type': 'Project'}]}]}\n";

async fn post_text(emu: &Emu, path: &str, body: &str) -> crate::support::Answer {
    emu.send(
        emu.req(Method::POST, path, Some(ADMIN))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn single_quotes_and_hash_comments_are_accepted_on_create_and_update() {
    let emu = Emu::default().await;
    let created = post_text(&emu, "/xapi/commands", LENIENT_HELLO).await;
    assert_eq!((created.status, created.body.as_str()), (201, "1"));
    let stored = emu.get_command(1).await;
    assert_eq!(stored["command-line"], "echo 'hi' \"there\"");
    assert_eq!(stored["xnat"][0]["name"], "hello-project");

    // An update carries the full form: the stored image has its tag.
    let update = LENIENT_HELLO
        .replace("echo \\'hi\\'", "echo \\'bye\\'")
        .replace("'busybox'", "'busybox:latest'");
    let updated = post_text(&emu, "/xapi/commands/1", &update).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        emu.get_command(1).await["command-line"],
        "echo 'bye' \"there\""
    );
}

#[tokio::test]
async fn near_misses_xnat_refuses_are_unreadable() {
    let emu = Emu::default().await;
    let cases = [
        ("// c\n{'name': 'x'}", "ALLOW_COMMENTS"),
        (
            "{name: 'x'}",
            "was expecting double-quote to start field name",
        ),
        ("{'name': 'x',}", "trailing comma"),
    ];
    for (body, reason) in cases {
        let a = post_text(&emu, "/xapi/commands", body).await;
        assert_eq!(a.status, 500, "{body}: {}", a.body);
        assert!(
            a.body
                .starts_with("There was an error in the request : JSON parse error: "),
            "{body}: {}",
            a.body
        );
        assert!(a.body.contains(reason), "{body}: {}", a.body);
    }
    assert!(emu.running.emulator().commands().is_empty());
}
