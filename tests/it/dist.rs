//! What the release channels ship besides the binary: the shell completions (bash driven for
//! real: the script is sourced and its completion function called as bash's `complete` would),
//! the man pages, and the `--version` line with the commit. The channels themselves (wheel,
//! cargo install, tarball, image, SBOM, reproducibility) are checked by scripts/test-release.sh.

use std::process::Command;

use crate::support::Sandbox;

/// Source the bash completion script and complete `words` with the cursor on the last word, as
/// bash does on TAB; the candidates, one per line.
fn complete_in_bash(sb: &Sandbox, words: &[&str]) -> Vec<String> {
    let out = sb.cmd().args(["completions", "bash"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = sb.path().join("xnat-cmd.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // The function `complete -F` registered is looked up, not assumed (clap names it after the
    // binary with `-` spelled `__`).
    let driver = r#"
source "$1"; shift
fn=$(complete -p xnat-cmd | sed -n 's/.*-F \([^ ]*\).*/\1/p')
[ -n "$fn" ] || { echo "no completion function registered for xnat-cmd" >&2; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
prev=""
[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
"$fn" xnat-cmd "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(driver)
        .arg("bash")
        .arg(&script)
        .args(words)
        .output()
        .expect("bash runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    found.sort();
    found
}

#[test]
fn bash_completes_a_subcommand_prefix() {
    let sb = Sandbox::new();
    assert_eq!(
        complete_in_bash(&sb, &["xnat-cmd", "ins"]),
        ["inspect", "install"]
    );
    assert_eq!(complete_in_bash(&sb, &["xnat-cmd", "sy"]), ["sync"]);
}

#[test]
fn bash_completes_a_flag_of_the_subcommand_typed() {
    let sb = Sandbox::new();
    assert_eq!(
        complete_in_bash(&sb, &["xnat-cmd", "install", "--enable-s"]),
        ["--enable-site"]
    );
    // The flag belongs to install, not to validate.
    assert_eq!(
        complete_in_bash(&sb, &["xnat-cmd", "validate", "--enable-s"]),
        Vec::<String>::new()
    );
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = sb.cmd().args(["completions", shell]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // Fish and elvish name long flags without their dashes.
        for word in ["install", "sync", "status", "enable-site", "prune"] {
            assert!(text.contains(word), "{shell} script lacks {word}");
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error_naming_the_choices() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
    assert!(err.contains("bash, elvish, fish, powershell, zsh"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn manpage_on_stdout_is_section_1_and_lists_the_subcommands() {
    let sb = Sandbox::new();
    let out = sb.cmd().arg("manpage").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH xnat-cmd 1"), "{page}");
    for sub in [
        "inspect",
        "validate",
        "install",
        "sync",
        "status",
        "completions",
    ] {
        assert!(
            page.contains(&format!("xnat\\-cmd\\-{sub}(1)")),
            "no {sub} in:\n{page}"
        );
    }
    assert!(
        !page.contains("xnat\\-cmd\\-manpage"),
        "the hidden subcommand is listed"
    );
}

#[test]
fn manpage_dir_writes_one_page_per_subcommand() {
    let sb = Sandbox::new();
    let dir = sb.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let out = sb
        .cmd()
        .args(["manpage", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "xnat-cmd-completions.1",
            "xnat-cmd-export.1",
            "xnat-cmd-inspect.1",
            "xnat-cmd-install.1",
            "xnat-cmd-label.1",
            "xnat-cmd-list.1",
            "xnat-cmd-schema.1",
            "xnat-cmd-status.1",
            "xnat-cmd-sync.1",
            "xnat-cmd-uninstall.1",
            "xnat-cmd-validate.1",
            "xnat-cmd.1",
        ]
    );
    let install = std::fs::read_to_string(dir.join("xnat-cmd-install.1")).unwrap();
    assert!(install.contains("\\-\\-enable\\-site"), "{install}");
}

#[test]
fn manpage_into_a_missing_folder_fails_naming_it() {
    let sb = Sandbox::new();
    let dir = sb.path().join("no/such/dir");
    let out = sb
        .cmd()
        .args(["manpage", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: failed to write the man pages into `{}`\n",
            dir.display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: create the folder first"), "{err}");
}

#[test]
fn version_names_the_commit_of_the_checkout() {
    let head = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    assert!(head.status.success(), "the tests run from a git checkout");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let sb = Sandbox::new();
    let out = sb.cmd().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("xnat-cmd {} ({head})\n", env!("CARGO_PKG_VERSION"))
    );
}
