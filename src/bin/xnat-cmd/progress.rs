//! Progress on stderr for the long runs (`sync`, `status`): a bar on a terminal, a plain line
//! per step otherwise, nothing at all with `--json` (stdout stays data only either way).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
}

impl Progress {
    /// `quiet`: `--json` was given.
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        Progress {
            bar: None,
            plain: !quiet && !tty,
        }
        .with_bar(!quiet && tty)
    }

    fn with_bar(mut self, on: bool) -> Self {
        if on {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len}") {
                bar.set_style(style.progress_chars("=> "));
            }
            self.bar = Some(bar);
        }
        self
    }

    /// Start a step of `len` units.
    pub fn start(&self, what: &str, len: usize) {
        if let Some(b) = &self.bar {
            b.set_message(what.to_string());
            b.set_length(len as u64);
            b.set_position(0);
        }
    }

    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// A step is over: on a terminal the bar is cleared; otherwise one plain line says so.
    pub fn finish(&self, line: &str) {
        if let Some(b) = &self.bar {
            b.set_position(b.length().unwrap_or(0));
        }
        if self.plain {
            eprintln!("{line}");
        }
    }

    pub fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
