//! The command model against the real corpus: label parsing, validation verdicts, the CLI.

use std::path::PathBuf;

use xnat_cmd::labels::{parse_label, LabelError};

use crate::support::corpus_dir;

fn label_files() -> Vec<PathBuf> {
    let dir = corpus_dir().join("labels");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "corpus labels at {} unreadable ({e}); set XNAT_CMD_CORPUS",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".label.txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_labels_parse_as_documented() {
    let files = label_files();
    assert_eq!(files.len(), 9, "the corpus has 9 labels");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let got = parse_label(&text);
        // The file name says what the label holds: `-Ncmd(s)`, `OBJECT-not-list`, `INVALID-json`.
        if name.contains("INVALID-json") {
            let e = got.unwrap_err();
            assert!(
                matches!(e, LabelError::InvalidJson { line: 1, .. }),
                "{name}: {e:?}"
            );
            assert!(e.to_string().contains("trailing comma"), "{name}: {e}");
        } else if name.contains("OBJECT-not-list") {
            let p = got.unwrap();
            assert_eq!(p.commands.len(), 1, "{name}");
            assert_eq!(p.warnings.len(), 1, "{name}");
        } else {
            let want = if name.contains("3cmds") {
                3
            } else if name.contains("2cmds") {
                2
            } else {
                1
            };
            let p = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.commands.len(), want, "{name}");
            assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
            for c in &p.commands {
                assert!(
                    c.get("name").and_then(|n| n.as_str()).is_some(),
                    "{name}: command without name"
                );
            }
        }
    }
}

#[test]
fn dollar_escapes_survive_in_the_decoded_label() {
    let text = std::fs::read_to_string(
        corpus_dir().join("labels/NrgXnat__docker-images__xnat-populate-dollar-escapes.label.txt"),
    )
    .unwrap();
    let p = parse_label(&text).unwrap();
    let cl = p.commands[0]["command-line"].as_str().unwrap();
    assert!(
        cl.contains("-u $XNAT_USER -p $XNAT_PASS --url $XNAT_HOST"),
        "{cl}"
    );
}
