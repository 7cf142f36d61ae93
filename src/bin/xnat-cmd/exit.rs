//! How a run ends: [`ExitStatus`], the one value every subcommand returns, its process exit
//! code, and the exit-code table every `--help` shows, rendered from it (so the codes a help
//! text lists are the codes the binary returns).

use std::process::ExitCode;

/// The outcome of a run, as the process reports it (`uv` and `fd` do the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done (`status`: XNAT is in sync).
    Success,
    /// The work failed: an invalid command, an unreadable image, XNAT refused, a site failed.
    Failed,
    /// Bad arguments or input that names nothing usable; reported before any work.
    Usage,
    /// `status` only: the check ran and found drift.
    Drift,
}

impl ExitStatus {
    /// Every status, in code order: the rows of the help table.
    pub const ALL: [ExitStatus; 4] = [
        ExitStatus::Success,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::Drift,
    ];

    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Drift => 3,
        }
    }

    /// `Failed` when `failed`, else `Success`: the end of most runs.
    pub const fn failed_if(failed: bool) -> Self {
        if failed {
            ExitStatus::Failed
        } else {
            ExitStatus::Success
        }
    }

    /// What the code means for the subcommands of `help`; `None` when they never return it.
    fn meaning(self, help: Help) -> Option<&'static str> {
        use ExitStatus::*;
        use Help::*;
        Some(match (self, help) {
            (Success, Status) => "in sync",
            (Success, _) => "success",
            (Failed, Top) => {
                "the work failed (invalid command, image without label, XNAT refused, unreadable \
                 source)"
            }
            (Failed, Read | Validate) => {
                "the work failed (invalid command, image without label, unreadable source)"
            }
            (Failed, Local) => {
                "the work failed (an unreadable or invalid command file, or output that could not be written)"
            }
            (Failed, Xnat) => "the work failed (invalid command, XNAT refused, a conflict)",
            (Failed, Sync) => "something failed (see the summary)",
            (Failed, Status) => "could not check (an image or a site failed)",
            (Usage, Top | Local | Status) => "usage error",
            (Usage, Read) => "usage error (bad arguments, malformed source)",
            (Usage, Validate) => {
                "usage error (bad arguments, malformed source, any mistake in a fleet file)"
            }
            (Usage, Xnat) => {
                "usage error (bad arguments, malformed source, missing URL or credentials)"
            }
            (Usage, Sync) => {
                "usage error (including any mistake in the fleet file, each reported with its \
                 line and column, and a missing URL or credentials, reported before any image is \
                 read)"
            }
            (Drift, Top) => "`status` found drift",
            (Drift, Status) => "drift found",
            (Drift, Read | Validate | Local | Xnat | Sync) => return None,
        })
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
    }
}

/// Which subcommands a help text is for: the codes they can return and what those mean there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// `xnat-cmd --help`: every code.
    Top,
    /// `inspect`: images read, nothing written.
    Read,
    /// `validate`: images, command files and fleet files read, nothing written.
    Validate,
    /// `label`, `schema`, `completions`: local files and stdout only.
    Local,
    /// `install`, `list`, `uninstall`: one XNAT.
    Xnat,
    /// `sync`: a fleet file onto its sites.
    Sync,
    /// `status`: a fleet file (or images) against its sites.
    Status,
}

/// The exit-code line of `help`'s subcommands:
/// `Exit codes: 0 success; 1 …; 2 usage error …`.
pub fn table(help: Help) -> String {
    let rows: Vec<String> = ExitStatus::ALL
        .iter()
        .filter_map(|s| s.meaning(help).map(|m| format!("{} {m}", s.code())))
        .collect();
    format!("Exit codes: {}.", rows.join("; "))
}

/// A help footer: `text` (if any), a blank line, then the exit-code table of `help`.
pub fn after_help(text: &str, help: Help) -> String {
    if text.is_empty() {
        table(help)
    } else {
        format!("{text}\n\n{}", table(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        assert_eq!(ExitStatus::failed_if(true), ExitStatus::Failed);
        assert_eq!(ExitStatus::failed_if(false), ExitStatus::Success);
    }

    #[test]
    fn drift_is_listed_only_where_status_can_return_it() {
        assert_eq!(
            table(Help::Status),
            "Exit codes: 0 in sync; 1 could not check (an image or a site failed); 2 usage \
             error; 3 drift found."
        );
        assert!(table(Help::Top).contains("3 `status` found drift"));
        for h in [
            Help::Read,
            Help::Validate,
            Help::Local,
            Help::Xnat,
            Help::Sync,
        ] {
            let t = table(h);
            assert!(t.starts_with("Exit codes: 0 success; 1 "), "{t}");
            assert!(!t.contains(" 3 "), "{t}");
        }
    }

    #[test]
    fn after_help_puts_the_table_last() {
        assert_eq!(after_help("", Help::Local), table(Help::Local));
        assert_eq!(
            after_help("Text.", Help::Xnat),
            format!("Text.\n\n{}", table(Help::Xnat))
        );
    }
}
