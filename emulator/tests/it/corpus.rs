//! Every file of the shared corpus through `POST /xapi/commands`, checked against the outcome
//! SOURCES.md predicts, and the GET shape of each stored command (§2.8).

use serde_json::Value;

use crate::support::{corpus_dir, Emu};

#[derive(Debug)]
enum Expect {
    Created { image: String },
    Rejected { errors: usize, first: String },
    Unreadable,
}

/// Rows of the SOURCES.md table: file name and predicted outcome.
fn expectations() -> Vec<(String, Expect)> {
    let dir = corpus_dir();
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_else(|e| {
        panic!(
            "cannot read {}/SOURCES.md ({e}); set XNAT_CMD_CORPUS to the corpus directory",
            dir.display()
        )
    });
    let mut rows = Vec::new();
    for line in sources
        .lines()
        .filter(|l| l.starts_with("| `") && l.contains(".json`"))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let file = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_string();
        let outcome = cells[5];
        let expect = if cells[4].starts_with("NO") || outcome.contains("JSON list") {
            Expect::Unreadable
        } else if let Some(rest) = outcome.strip_prefix("201 (image stored as `") {
            Expect::Created {
                image: rest.split('`').next().unwrap().to_string(),
            }
        } else if let Some(rest) = outcome.strip_prefix("400, ") {
            let errors = rest.split(' ').next().unwrap().parse().unwrap();
            let quoted = rest.split_once("first: \"").unwrap().1;
            let first = quoted[..quoted.rfind('"').unwrap()].to_string();
            Expect::Rejected { errors, first }
        } else {
            panic!("unrecognised outcome for {file}: {outcome}");
        };
        rows.push((file, expect));
    }
    rows
}

/// NON_NULL serialisation: no null anywhere in GET output.
fn assert_no_nulls(v: &Value, at: &str, file: &str) {
    match v {
        Value::Null => panic!("{file}: null at {at}"),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| assert_no_nulls(x, &format!("{at}/{i}"), file)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| assert_no_nulls(x, &format!("{at}/{k}"), file)),
        _ => {}
    }
}

fn assert_get_shape(file: &str, sent: &Value, got: &Value) {
    assert_no_nulls(got, "", file);
    for key in ["mounts", "inputs", "outputs", "xnat", "secrets"] {
        assert!(got[key].is_array(), "{file}: {key} is {}", got[key]);
    }
    for key in [
        "environment-variables",
        "ports",
        "generic-resources",
        "ulimits",
    ] {
        assert!(got[key].is_object(), "{file}: {key} is {}", got[key]);
    }
    // Docker-only fields vanish for setup and wrapup commands.
    if got["type"] == "docker" {
        assert!(
            got["container-labels"].is_object(),
            "{file}: container-labels"
        );
    } else {
        assert!(
            got.get("container-labels").is_none(),
            "{file}: container-labels"
        );
    }
    let visibility = sent["visibility"].as_str().unwrap_or("public");
    assert_eq!(got["visibility"], visibility, "{file}");
    assert!(got["type"].is_string(), "{file}: type");
    for input in got["inputs"].as_array().unwrap() {
        assert!(input["select-values"].is_array(), "{file}: {input}");
    }
    for w in got["xnat"].as_array().unwrap() {
        assert!(w["id"].is_u64(), "{file}: wrapper id {}", w["id"]);
        for key in ["external-inputs", "derived-inputs", "output-handlers"] {
            assert!(w[key].is_array(), "{file}: wrapper {key}");
        }
        for ext in w["external-inputs"].as_array().unwrap() {
            assert!(ext["required"].is_boolean(), "{file}: {ext}");
            assert!(ext["load-children"].is_boolean(), "{file}: {ext}");
        }
        for h in w["output-handlers"].as_array().unwrap() {
            assert!(h["as-a-child-of"].is_string(), "{file}: {h}");
            assert!(
                h.get("as-a-child-of-wrapper-input").is_none(),
                "{file}: {h}"
            );
            assert!(h["tags"].is_array(), "{file}: {h}");
        }
    }
}

#[tokio::test]
async fn every_corpus_file_gets_its_predicted_answer_and_get_shape() {
    if crate::support::skip_without_corpus() {
        return;
    }
    let emu = Emu::default().await;
    let rows = expectations();
    assert!(rows.len() >= 40, "only {} rows in SOURCES.md", rows.len());
    let mut created = 0;
    for (file, expect) in rows {
        let bytes = std::fs::read(corpus_dir().join(&file)).unwrap();
        let answer = emu
            .send(
                emu.req(
                    reqwest::Method::POST,
                    "/xapi/commands",
                    Some(crate::support::ADMIN),
                )
                .header("content-type", "application/json")
                .body(bytes.clone()),
            )
            .await;
        match expect {
            Expect::Unreadable => assert_eq!(answer.status, 500, "{file}: {}", answer.body),
            Expect::Rejected { errors, first } => {
                assert_eq!(answer.status, 400, "{file}: {}", answer.body);
                let lines: Vec<&str> = answer
                    .body
                    .strip_prefix("Invalid command:\n\t")
                    .unwrap_or_else(|| panic!("{file}: {}", answer.body))
                    .split("\n\t")
                    .collect();
                assert_eq!(lines.len(), errors, "{file}: {}", answer.body);
                assert!(lines[0].starts_with(&first), "{file}: {}", lines[0]);
            }
            Expect::Created { image } => {
                assert_eq!(answer.status, 201, "{file}: {}", answer.body);
                created += 1;
                let id: u64 = answer.body.parse().unwrap();
                let got = emu.get_command(id).await;
                assert_eq!(got["image"], image.as_str(), "{file}");
                let sent: Value = serde_json::from_slice(&bytes).unwrap();
                assert_get_shape(&file, &sent, &got);
            }
        }
    }
    assert_eq!(emu.running.emulator().commands().len(), created);
}
