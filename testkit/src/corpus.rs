//! The corpus of real command files (`../shared/corpus/commands` beside the project, or
//! `XNAT_CMD_CORPUS`), for both test binaries: where it is, and the one visible skip line
//! when it is absent.

use std::path::{Path, PathBuf};

/// `XNAT_CMD_CORPUS`, else `shared/corpus/commands` next to the workspace.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("XNAT_CMD_CORPUS") {
        Some(p) => PathBuf::from(p),
        // This crate sits one level below the workspace root.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/commands"),
    }
}

/// True (and one visible `skipped: corpus not found` line per test binary) when the corpus
/// is absent and `XNAT_CMD_CORPUS` is unset: a clone with nothing beside it still passes, and
/// the project's own fixtures cover every validation rule (the root package's
/// `tests/it/rules.rs`). When the variable is set, a missing corpus is a failure, not a skip.
///
/// The line is written to the stderr handle itself, not with `eprintln!`: libtest captures
/// the print macros of passing tests, but not direct writes, so the line shows in a plain
/// `cargo test` run.
pub fn skip_without_corpus() -> bool {
    if std::env::var_os("XNAT_CMD_CORPUS").is_some() || corpus_dir().is_dir() {
        return false;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: corpus not found (set XNAT_CMD_CORPUS)"
        );
    });
    true
}
