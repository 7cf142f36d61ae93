//! One command's verdict, as `validate` reports it and `label` refuses on it: XNAT's
//! findings split into errors and warnings, with a hint when the image is what is missing, and
//! the human rendering of a list of them.

use serde::Serialize;

use xnat_cmd::pipeline::Prepared;
use xnat_cmd::problem::Problem;
use xnat_cmd::Severity;

/// One finding in the JSON report.
#[derive(Debug, Serialize)]
pub struct Finding {
    pub pointer: String,
    pub message: String,
}

/// One command's verdict.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub source: String,
    pub command: Option<String>,
    /// The image the command was checked with (after `--image` or injection, and `:latest`).
    pub image: Option<String>,
    pub valid: bool,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// What to do about the errors, when there is one thing to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// For an input that gave no commands (`command: null`): why, as every error is shown
    /// (`error`, `causes`, `hint`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

const NO_IMAGE: &str = "no image to check this command with: the image records no reference and the command names no `image`";
const IMAGE_HINT: &str =
    "pass --image REF (what `POST /xapi/commands?image=REF` and XNAT's label import supply)";

/// The verdict on one prepared command. `image_flag`: `--image` was given.
pub fn verdict(source: &str, p: &Prepared, image_flag: bool) -> Verdict {
    let pick = |sev: Severity| -> Vec<Finding> {
        p.diagnostics
            .iter()
            .filter(|d| d.severity == sev)
            .map(|d| Finding {
                pointer: d.pointer.clone(),
                message: d.message.clone(),
            })
            .collect()
    };
    let mut errors = pick(Severity::Error);
    if p.missing_image {
        errors.push(Finding {
            pointer: "/image".into(),
            message: NO_IMAGE.into(),
        });
    }
    // Without an image XNAT's own message says "cannot be blank"; say where one comes from.
    let hint = (!image_flag && p.image.is_none() && !errors.is_empty()).then(|| IMAGE_HINT.into());
    Verdict {
        source: source.to_string(),
        command: p.name.clone(),
        image: p.image.clone(),
        valid: errors.is_empty(),
        errors,
        warnings: pick(Severity::Warning),
        hint,
        problem: None,
    }
}

/// `✓ name  (source)`, then indented findings, then a summary.
pub fn human(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let mark = if v.valid { '✓' } else { '✗' };
        let name = v.command.as_deref().unwrap_or("(no name)");
        out.push_str(&format!("{mark} {name}  ({})\n", v.source));
        for (kind, list) in [("error", &v.errors), ("warning", &v.warnings)] {
            for f in list.iter() {
                let at = if f.pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", f.pointer)
                };
                // Some XNAT messages span lines: keep them under the finding.
                let msg = f.message.replace('\n', "\n      ");
                out.push_str(&format!("    {kind}{at}: {msg}\n"));
            }
        }
        if let Some(h) = &v.hint {
            out.push_str(&format!("    hint: {h}\n"));
        }
    }
    let invalid = verdicts.iter().filter(|v| !v.valid).count();
    let plural = if verdicts.len() == 1 { "" } else { "s" };
    out.push_str(&format!(
        "{} command{plural} checked: {} valid, {invalid} invalid\n",
        verdicts.len(),
        verdicts.len() - invalid
    ));
    out
}
