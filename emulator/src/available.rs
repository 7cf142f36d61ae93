//! "Available commands" (§1.2 A1, A2): the wrapper summaries XNAT's UI asks for when it shows
//! what can run on an item, as `CommandServiceImpl.available` (3.7.3) computes them.
//!
//! * A wrapper matches when the asked xsiType equals one of its contexts or descends from one
//!   (`xnat:mrSessionData` matches a wrapper for `xnat:imageSessionData`, not the reverse).
//!   XNAT asks its schema for the ancestry; here a table of XNAT's core data types stands in
//!   (simplified: types outside it, e.g. plugin data types, match by equality only — which is
//!   also all XNAT does for a type its schema does not know).
//! * An unknown xsiType is *not* an error in 3.7.3: `xsiTypeEqualToOrInstanceOf` catches the
//!   `ElementNotFoundException` and logs it (since 2017), so the controller's
//!   `Bad XSI Type. …` handler is unreachable and the answer is 200 with equality matches.
//! * Project scope needs project Read (aspect: 403 empty), skips wrappers without external
//!   inputs, and reports project enablement; site scope keeps them (`root-element-name` "")
//!   and reports the site flag. XNAT also drops wrappers whose inputs the user may not read or
//!   outputs they may not edit (`userHasRequiredPermissions`). Of that, the emulator models
//!   the rule every user meets: reading a scan type passes only in a project holding an image
//!   session the user may act on (`scanPermissionCheckWorkaround`,
//!   ContainerServicePermissionUtils.java:232-240, 271-274), and the emulator's projects hold
//!   no sessions, so asked for a scan type a project lists nothing, even to an administrator.
//!   Per-type permissions of other users are not modelled.
//! * Without `project`/`xsiType`, `/xapi/commands/available` is served by `GET
//!   /xapi/commands/{id}` with id `available` (Spring picks that mapping): a 500 conversion error.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};
use xnat_cmd::command::{lenient_i64, list_field, str_field};

use crate::auth::Identity;
use crate::commands::{parse_id, project_readable};
use crate::reply;
use crate::state::{Inner, State as Store};

/// XNAT core data types and their parent type (XNAT's schema `extension` base).
const PARENTS: &[(&str, &str)] = &[
    ("xnat:subjectAssessorData", "xnat:experimentData"),
    ("xnat:imageSessionData", "xnat:subjectAssessorData"),
    ("xnat:derivedData", "xnat:experimentData"),
    ("xnat:imageAssessorData", "xnat:derivedData"),
    ("xnat:qcAssessmentData", "xnat:imageAssessorData"),
    ("xnat:qcManualAssessorData", "xnat:imageAssessorData"),
    ("xnat:mrSessionData", "xnat:imageSessionData"),
    ("xnat:petSessionData", "xnat:imageSessionData"),
    ("xnat:ctSessionData", "xnat:imageSessionData"),
    ("xnat:petmrSessionData", "xnat:petSessionData"),
    ("xnat:crSessionData", "xnat:imageSessionData"),
    ("xnat:dxSessionData", "xnat:imageSessionData"),
    ("xnat:usSessionData", "xnat:imageSessionData"),
    ("xnat:xaSessionData", "xnat:imageSessionData"),
    ("xnat:mgSessionData", "xnat:imageSessionData"),
    ("xnat:nmSessionData", "xnat:imageSessionData"),
    ("xnat:otherDicomSessionData", "xnat:imageSessionData"),
    ("xnat:srSessionData", "xnat:imageSessionData"),
    ("xnat:megSessionData", "xnat:imageSessionData"),
    ("xnat:eegSessionData", "xnat:imageSessionData"),
    ("xnat:mrScanData", "xnat:imageScanData"),
    ("xnat:petScanData", "xnat:imageScanData"),
    ("xnat:ctScanData", "xnat:imageScanData"),
    ("xnat:crScanData", "xnat:imageScanData"),
    ("xnat:dxScanData", "xnat:imageScanData"),
    ("xnat:usScanData", "xnat:imageScanData"),
    ("xnat:xaScanData", "xnat:imageScanData"),
    ("xnat:mgScanData", "xnat:imageScanData"),
    ("xnat:nmScanData", "xnat:imageScanData"),
    ("xnat:otherDicomScanData", "xnat:imageScanData"),
    ("xnat:srScanData", "xnat:imageScanData"),
    ("xnat:scScanData", "xnat:imageScanData"),
    ("xnat:segScanData", "xnat:imageScanData"),
];

/// Is `concrete` equal to `generic` or descended from it?
fn instance_of(concrete: &str, generic: &str) -> bool {
    let mut current = Some(concrete);
    // The table is acyclic; the bound only guards against a future typo making a loop.
    for _ in 0..=PARENTS.len() {
        match current {
            Some(t) if t == generic => return true,
            Some(t) => current = PARENTS.iter().find(|(c, _)| *c == t).map(|(_, p)| *p),
            None => return false,
        }
    }
    false
}

fn matches(xsi_type: &str, wrapper: &Value) -> bool {
    list_field(wrapper, "contexts")
        .iter()
        .filter_map(Value::as_str)
        .any(|ctx| instance_of(xsi_type, ctx))
}

/// One `CommandSummaryForContext` (null fields omitted, as XNAT's writer does).
fn summary(command: &Value, wrapper: &Value, enabled: bool, root: &str) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            m.insert(k.to_string(), v);
        }
    };
    put("command-id", command.get("id").cloned());
    put("command-name", command.get("name").cloned());
    put("command-label", command.get("label").cloned());
    put("command-description", command.get("description").cloned());
    put("wrapper-id", wrapper.get("id").cloned());
    put("wrapper-name", wrapper.get("name").cloned());
    put("wrapper-label", wrapper.get("label").cloned());
    put("wrapper-description", wrapper.get("description").cloned());
    put("wrapper-contexts", wrapper.get("contexts").cloned());
    put("image-name", command.get("image").cloned());
    put("image-type", command.get("type").cloned());
    put("enabled", Some(Value::Bool(enabled)));
    put("root-element-name", Some(Value::String(root.to_string())));
    Value::Object(m)
}

/// `CommandServiceImpl.available(project, xsiType, user)`; `project` None = site-wide.
fn available(st: &Store, user: &str, project: Option<&str>, xsi_type: &str) -> Vec<Value> {
    if xsi_type.trim().is_empty() {
        return Vec::new();
    }
    if let Some(p) = project {
        // No image session in any project: the scan workaround denies reading a scan type.
        if !project_readable(st, user, p) || instance_of(xsi_type, "xnat:imageScanData") {
            return Vec::new();
        }
    }
    let mut out = Vec::new();
    for command in st.commands.values() {
        for wrapper in list_field(command, "xnat") {
            if !matches(xsi_type, wrapper) {
                continue;
            }
            let root = list_field(wrapper, "external-inputs")
                .first()
                .map(|i| str_field(i, "name").unwrap_or_default());
            let wid = wrapper
                .get("id")
                .and_then(lenient_i64)
                .and_then(|i| u64::try_from(i).ok())
                .unwrap_or(0);
            match (project, root) {
                (None, root) => out.push(summary(
                    command,
                    wrapper,
                    st.site_is_enabled(wid),
                    &root.unwrap_or_default(),
                )),
                (Some(_), None) => {}
                (Some(p), Some(root)) => out.push(summary(
                    command,
                    wrapper,
                    st.project_is_enabled(p, wid),
                    &root,
                )),
            }
        }
    }
    out
}

/// Project Read through the aspect: site administrators and project users pass.
fn read_aspect(app: &Inner, who: &Identity, project: &str) -> Result<(), Response> {
    if project_readable(&app.state(), &who.user, project) {
        Ok(())
    } else if who.is_guest() {
        Err(reply::challenge(&app.config.site_id))
    } else {
        Err(reply::empty(403))
    }
}

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k).map(String::as_str)
}

fn project_answer(app: &Inner, who: &Identity, project: &str, xsi_type: &str) -> Response {
    if let Err(r) = read_aspect(app, who, project) {
        return r;
    }
    let list = available(&app.state(), &who.user, Some(project), xsi_type);
    reply::json(200, &Value::Array(list))
}

/// `GET /xapi/commands/available?project=P&xsiType=T`.
pub async fn by_query(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match (param(&q, "project"), param(&q, "xsiType")) {
        (Some(p), Some(t)) => project_answer(&app, &who, p, t),
        // No mapping with these params: `GET /xapi/commands/{id}` takes the request.
        _ => parse_id("available")
            .err()
            .unwrap_or_else(|| reply::empty(404)),
    }
}

/// `GET /xapi/projects/{P}/commands/available?xsiType=T`.
pub async fn by_project(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(project): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match param(&q, "xsiType") {
        Some(t) => project_answer(&app, &who, &project, t),
        // The only mapping of this path requires xsiType (unverified: Spring's 400 for an
        // unsatisfied parameter condition, assumed to survive XNAT's advice).
        None => reply::text(
            400,
            "Parameter conditions \"xsiType\" not met for actual request parameters: ",
        ),
    }
}

/// `GET /xapi/commands/available/site?xsiType=T[&projects=P1,P2]` (any authenticated user).
pub async fn site(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if who.is_guest() {
        return reply::challenge(&app.config.site_id);
    }
    let Some(xsi_type) = param(&q, "xsiType") else {
        return reply::advice(400, "Required String parameter 'xsiType' is not present");
    };
    let st = app.state();
    let list = match param(&q, "projects") {
        None => available(&st, &who.user, None, xsi_type),
        Some(projects) => {
            // XNAT's intersection, quirk included: an empty running result is refilled by
            // the next project instead of staying empty; summaries compare whole (with
            // `enabled`, which differs per project).
            let mut common: Vec<Value> = Vec::new();
            for p in projects.split(',') {
                let these = available(&st, &who.user, Some(p.trim()), xsi_type);
                if common.is_empty() {
                    common.extend(these);
                } else {
                    common.retain(|c| these.contains(c));
                }
            }
            common
        }
    };
    reply::json(200, &Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsi_types_match_themselves_and_their_ancestors_only() {
        let cases = [
            ("xnat:mrSessionData", "xnat:mrSessionData", true),
            ("xnat:mrSessionData", "xnat:imageSessionData", true),
            ("xnat:mrSessionData", "xnat:experimentData", true),
            ("xnat:petmrSessionData", "xnat:imageSessionData", true),
            ("xnat:imageSessionData", "xnat:mrSessionData", false),
            ("xnat:mrScanData", "xnat:imageSessionData", false),
            ("xnat:mrScanData", "xnat:imageScanData", true),
            ("xnat:projectData", "xnat:projectData", true),
            ("xnat:projectData", "xnat:experimentData", false),
            ("plugin:thingData", "plugin:thingData", true),
            ("plugin:thingData", "xnat:experimentData", false),
        ];
        for (concrete, generic, want) in cases {
            assert_eq!(
                instance_of(concrete, generic),
                want,
                "{concrete} vs {generic}"
            );
        }
    }
}
