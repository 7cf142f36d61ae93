//! Table tests of the pipeline's rules: classification, install image choice, pin-digest,
//! "another repository" notes, missing images, repeated warnings, what install may write.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::digest::Digest;
use crate::problem::Hint;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn install_image_table() {
    let pinned = format!("ghcr.io/lab/tool@{D}");
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        // recorded, --image, pin → installed
        (Some("ghcr.io/lab/tool:1.2"), None, None, Some("ghcr.io/lab/tool:1.2")),
        (Some("ghcr.io/lab/tool"), None, None, Some("ghcr.io/lab/tool:latest")),
        (Some("ghcr.io/lab/tool:1.2"), Some("lab/other:2"), None, Some("lab/other:2")),
        (None, Some("lab/other"), None, Some("lab/other:latest")),
        (Some("  "), None, None, None),
        (None, None, None, None),
        (Some("ghcr.io/lab/tool:1.2"), None, Some(D), Some(pinned.as_str())),
        (Some(&pinned), None, Some(D), Some(pinned.as_str())),
        (Some("localhost:5000/x"), None, None, Some("localhost:5000/x:latest")),
        (Some("localhost:5000/x:3"), None, Some(D), Some("localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")),
    ];
    for (recorded, given, pin, want) in cases {
        let pin = pin.map(|d| Digest::parse(d).unwrap());
        let got = install_image(recorded, given, pin.as_ref());
        assert_eq!(
            got.as_ref().map(InstallRef::as_str),
            want,
            "{recorded:?} {given:?} {pin:?}"
        );
        // The digest it is pinned to is kept, not re-parsed from the text.
        assert_eq!(got.as_ref().and_then(InstallRef::digest), pin.as_ref());
    }
}

fn cmd(name: &str, image: Option<&str>) -> Value {
    let mut c = json!({"name": name, "type": "docker", "command-line": "echo hi"});
    if let Some(i) = image {
        c["image"] = json!(i);
    }
    c
}

#[test]
fn prepare_injects_and_notes_another_repository() {
    let p = prepare(&cmd("a", Some("other/repo:1")), Some("lab/tool:2"), true);
    assert_eq!(p.command["image"], "lab/tool:2");
    assert_eq!(p.image.as_deref(), Some("lab/tool:2"));
    assert!(p.valid(), "{:?}", p.diagnostics);
    assert_eq!(
        p.notes,
        vec!["command `a` names image other/repo:1 but is installed under lab/tool:2, the image it was read from".to_string()]
    );
    // The same repository in another spelling or tag is no news.
    for own in [
        "docker.io/lab/tool:1",
        "lab/tool",
        "index.docker.io/lab/tool:9",
    ] {
        let p = prepare(&cmd("a", Some(own)), Some("lab/tool:2"), true);
        assert!(p.notes.is_empty(), "{own}: {:?}", p.notes);
    }
    // A command file replaced by --image: the user asked for it, no note.
    let p = prepare(&cmd("a", Some("other/repo:1")), Some("lab/tool:2"), false);
    assert!(p.notes.is_empty());
}

#[test]
fn prepare_without_any_image() {
    // From a label without a reference: not checked, needs --image.
    let p = prepare(&cmd("a", None), None, true);
    assert!(p.missing_image && !p.valid() && p.diagnostics.is_empty());
    // Its own image is enough to check it.
    let p = prepare(&cmd("a", Some("lab/tool")), None, true);
    assert!(!p.missing_image && p.valid(), "{:?}", p.diagnostics);
    assert_eq!(p.image.as_deref(), Some("lab/tool:latest"));
    // A command file without image: XNAT's own verdict (POST without ?image=).
    let p = prepare(&cmd("a", None), None, false);
    assert!(!p.missing_image && !p.valid());
    assert!(p.errors().next().is_some());
}

#[test]
fn merge_repeated_counts_in_first_seen_order() {
    let w = |m: &str| Diagnostic {
        severity: Severity::Warning,
        pointer: String::new(),
        message: m.into(),
    };
    let diags = [w("x"), w("y"), w("x"), w("x")];
    assert_eq!(
        merge_repeated(&diags),
        vec![("x".to_string(), 3), ("y".to_string(), 1)]
    );
    assert!(merge_repeated(&[]).is_empty());
}

#[test]
fn command_file_content_is_recognised_after_bom_and_hash_comments() {
    let cases: &[(&[u8], bool)] = &[
        (b"  {\"name\": 1}", true),
        (b"[]", true),
        (b"\xEF\xBB\xBF{}", true),
        (b"# a comment\n# another\r\n  [{'name': 'a'}]", true),
        (b"# only a comment", false),
        (b"#\n\nnot json", false),
        (b"", false),
        (b"\x1f\x8b\x08", false),
        (b"layer.tar\0\0\0", false),
    ];
    for (head, want) in cases {
        assert_eq!(
            starts_like_json(head),
            *want,
            "{:?}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn classify_table() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.oci.tar");
    std::fs::write(&tar, [0u8; 1024]).unwrap();
    let json_file = dir.path().join("cmd");
    std::fs::write(&json_file, " [{}]").unwrap();
    let layout = dir.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    std::fs::write(layout.join("oci-layout"), "{}").unwrap();
    let t = tar.display().to_string();
    let l = layout.display().to_string();
    let j = json_file.display().to_string();

    assert!(matches!(
        classify("ubuntu", false),
        Ok(Input::Source(SourceSpec::Registry { .. }))
    ));
    assert!(matches!(
        classify(&format!("oci-archive:{t}"), false),
        Ok(Input::Source(_))
    ));
    assert_eq!(
        classify(&j, true),
        Ok(Input::CommandFile(json_file.clone()))
    );
    assert_eq!(
        classify("missing.json", true),
        Ok(Input::CommandFile("missing.json".into()))
    );
    assert_eq!(
        classify(&t, true),
        Err(InputError::BareFile { path: t.clone() })
    );
    assert_eq!(
        classify(&l, false),
        Err(InputError::BareDirectory {
            path: l.clone(),
            oci_layout: true
        })
    );
    let e = classify(&l, false).unwrap_err();
    assert!(e.hint().unwrap().contains(&format!("`oci:{l}`")));
    let e = classify(&t, false).unwrap_err();
    assert!(e.hint().unwrap().contains(&format!("`oci-archive:{t}`")));
    // docker:// says "registry" explicitly: no path check.
    assert!(matches!(
        classify(&format!("docker://{t}"), false),
        Err(InputError::Reference(_)) | Ok(_)
    ));
    // Malformed references are usage errors, with the registry-host rule named.
    let e = classify("UPPER/Case:tag", false).unwrap_err();
    assert!(
        matches!(e, InputError::Reference(ReferenceError::Uppercase { .. })),
        "{e:?}"
    );
    assert!(e
        .hint()
        .unwrap()
        .contains("`UPPER` was taken as a registry host"));
    let e = classify("foo:bar:baz", false).unwrap_err();
    assert!(
        matches!(
            e,
            InputError::Reference(ReferenceError::BadComponent { .. })
        ),
        "{e:?}"
    );
    assert_eq!(e.hint(), None);
    assert!(matches!(
        classify("dir:/x", false),
        Err(InputError::Spec(_))
    ));
}

fn record(image: Option<&str>, digest: Option<&str>, label: &str) -> ImageRecord {
    let mut labels = BTreeMap::new();
    labels.insert(crate::LABEL_KEY.to_string(), label.to_string());
    ImageRecord {
        image: image.map(str::to_string),
        manifest_digest: digest.map(|d| Digest::parse(d).unwrap()),
        config_digest: None,
        platform: None,
        labels,
        verified_digest: None,
    }
}

#[test]
fn images_reference_rules() {
    let label = r#"[{"name":"a","type":"docker","command-line":"x"},{"name":"b","type":"docker","command-line":"x","image":"own/img:3"}]"#;
    let opts = |need: bool, pin: bool, image: Option<&str>| Options {
        need_reference: need,
        pin_digest: pin,
        image: image.map(str::to_string),
        ..Options::default()
    };
    let mut w = Vec::new();
    // No reference recorded: install refuses the whole image…
    let err = images(
        "oci:x",
        &[record(None, None, label)],
        &opts(true, false, None),
        &mut w,
    )
    .unwrap_err();
    assert!(matches!(err, ItemError::NoReference));
    assert!(err.hint().unwrap().contains("--image"));
    // …validate checks what it can: `b` with its own image, `a` needs --image.
    let got = images(
        "oci:x",
        &[record(None, None, label)],
        &opts(false, false, None),
        &mut w,
    )
    .unwrap();
    let flags: Vec<(bool, bool)> = got[0]
        .commands
        .iter()
        .map(|p| (p.missing_image, p.valid()))
        .collect();
    assert_eq!(flags, vec![(true, false), (false, true)]);
    // --image supplies it for both.
    let got = images(
        "oci:x",
        &[record(None, None, label)],
        &opts(false, false, Some("lab/t")),
        &mut w,
    )
    .unwrap();
    assert!(got[0]
        .commands
        .iter()
        .all(|p| p.valid() && p.image.as_deref() == Some("lab/t:latest")));
    // --pin-digest needs a digest.
    let err = images(
        "oci:x",
        &[record(Some("lab/t:1"), None, label)],
        &opts(true, true, None),
        &mut w,
    )
    .unwrap_err();
    assert!(matches!(err, ItemError::NoDigest));
    let got = images(
        "oci:x",
        &[record(Some("lab/t:1"), Some(D), label)],
        &opts(true, true, None),
        &mut w,
    )
    .unwrap();
    assert_eq!(
        got[0].install_image.as_ref().map(InstallRef::as_str),
        Some(format!("lab/t@{D}").as_str())
    );
}

#[test]
fn desired_only_when_everything_is_valid() {
    let ok = |name: &str| Image {
        name: "s".into(),
        record: None,
        install_image: InstallRef::tagged("lab/t:1"),
        commands: vec![prepare(&cmd(name, None), Some("lab/t:1"), true)],
    };
    let item = |outcome| Item {
        input: "s".into(),
        warnings: vec![],
        outcome,
    };
    let items = vec![item(Ok(vec![ok("a")])), item(Ok(vec![ok("b")]))];
    let d = desired(&items).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[1].command["image"], "lab/t:1");
    let mut bad = ok("c");
    bad.commands[0].command = json!({"name": "c"});
    bad.commands[0] = prepare(&json!({"name": "c", "type": "nope"}), Some("lab/t:1"), true);
    assert!(!bad.commands[0].valid());
    assert!(desired(&[item(Ok(vec![ok("a")])), item(Ok(vec![bad]))]).is_none());
    assert!(desired(&[item(Err(ItemError::NoReference))]).is_none());
    // An input with no commands contributes nothing and blocks nothing.
    assert_eq!(desired(&[item(Ok(vec![]))]).unwrap().len(), 0);
}

#[test]
fn a_verified_image_is_installed_under_the_verified_digest() {
    let label = r#"[{"name":"a","type":"docker","command-line":"x"}]"#;
    let index = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let platform = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    let verified = |image: Option<&str>| {
        let mut r = record(Some("ghcr.io/lab/t:1"), Some(platform), label);
        r.verified_digest = Some(Digest::parse(index).unwrap());
        images(
            "ghcr.io/lab/t:1",
            &[r],
            &Options {
                need_reference: true,
                image: image.map(str::to_string),
                ..Options::default()
            },
            &mut Vec::new(),
        )
    };
    // (--image, the install image or the error's start)
    let cases: Vec<(Option<&str>, Result<String, &str>)> = vec![
        // Without --pin-digest: the verified (index) digest, not the tag nor the platform's.
        (None, Ok(format!("ghcr.io/lab/t@{index}"))),
        // --image of the same repository (another spelling) keeps the verified digest.
        (
            Some("ghcr.io/lab/t:2"),
            Ok(format!("ghcr.io/lab/t@{index}")),
        ),
        (
            Some("ghcr.io/lab/other:1"),
            Err("`ghcr.io/lab/other:1` names another repository"),
        ),
    ];
    for (image, want) in cases {
        match (verified(image), want) {
            (Ok(got), Ok(w)) => assert_eq!(
                got[0].install_image.as_ref().map(InstallRef::as_str),
                Some(w.as_str())
            ),
            (Err(e), Err(w)) => assert!(e.to_string().starts_with(w), "{e}"),
            (got, want) => panic!("{image:?}: got {got:?}, want {want:?}"),
        }
    }
}

/// A prepared command keeps one copy of the command (issue 19: three copies of a 16 MiB label
/// took 600 MB); the original is given back as the label held it, keys in their order.
#[test]
fn prepared_gives_back_the_original_with_its_key_order() {
    let own = json!({"name": "a", "image": "other/repo:1", "command-line": "x"});
    let none = json!({"name": "a", "command-line": "x"});
    for (original, image) in [
        (own.clone(), Some("lab/tool:2")),
        (none.clone(), Some("lab/tool:2")),
        (own.clone(), None),
        (none.clone(), None),
        (own.clone(), Some(" ")),
    ] {
        let p = prepare(&original, image, true);
        let back = p.original();
        assert_eq!(back, original, "{image:?}");
        let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&back), keys(&original), "{image:?}");
        if let Some(i) = image.filter(|i| !i.trim().is_empty()) {
            assert_eq!(p.command["image"], json!(i));
        }
    }
    let many = prepare_all(
        vec![none.clone(), json!({"name": "b"})],
        Some("lab/t:1"),
        true,
    );
    assert_eq!(many[0].original(), none);
    assert_eq!(many[1].command, json!({"name": "b", "image": "lab/t:1"}));
}
