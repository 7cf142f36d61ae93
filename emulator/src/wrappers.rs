//! Wrapper writes and command visibility (§1.2 W1, W2, V1): add a wrapper to a stored command,
//! update one wrapper in place, and set a command's `visibility`. The checks run in XNAT's
//! order: body read, path ids, Container Manager (401 text; V1: aspect 403), lookups (404),
//! then validation of the *whole* command.
//!
//! Transaction quirk, decided from `CommandServiceImpl.addWrapper` / `updateWrapper` (3.7.3):
//! both are `@Transactional` and validate after the write; `CommandValidationException` is a
//! checked exception, which Spring does not roll back on, so a wrapper rejected with 400 *stays
//! stored* (with a new id for W1). A NullPointerException inside `validate()` (an output
//! handler without a name) is unchecked, rolls back, and leaves nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};
use xnat_cmd::command::normalize::normalize;
use xnat_cmd::command::{lenient_i64, list_field};
use xnat_cmd::{Form, Severity};

use crate::auth::{self, Identity};
use crate::commands::{parse_id, pre_validation_crash, read_body, unreadable, with_id};
use crate::config::VersionMode;
use crate::reply;
use crate::state::Inner;

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// A wrapper as XNAT reads it in `form`: normalised through a one-wrapper command, so the
/// wrapper gets exactly the defaults and key mapping a command's wrappers get.
fn read_wrapper(app: &Inner, raw: &Value, form: Form) -> Result<Value, Response> {
    let mut carrier = Map::new();
    carrier.insert("name".into(), Value::String("wrapper-carrier".into()));
    carrier.insert("image".into(), Value::String("carrier:1".into()));
    carrier.insert("xnat".into(), Value::Array(vec![raw.clone()]));
    let normalized = normalize(&Value::Object(carrier), form).map_err(|e| unreadable(app, e))?;
    let mut wrapper = list_field(&normalized, "xnat")
        .first()
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    if let Some(obj) = wrapper.as_object_mut() {
        obj.remove("id");
    }
    Ok(wrapper)
}

fn wrapper_id(w: &Value) -> Option<u64> {
    w.get("id")
        .and_then(lenient_i64)
        .and_then(|i| u64::try_from(i).ok())
}

/// XNAT's `Command.validate()` errors of a stored (full-form) command, as the 400 body.
fn invalid(command: &Value) -> Option<Response> {
    let errors: Vec<_> = xnat_cmd::validate(command, Form::Update)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        return None;
    }
    Some(reply::text_as_json(
        400,
        xnat_cmd::command::xnat_error_body(&errors),
    ))
}

fn not_found_command(id: u64) -> Response {
    reply::text_as_json(404, format!("Could not find entity with ID {id}"))
}

/// `POST /xapi/commands/{id}/wrappers`: 201 with the new wrapper id as a bare number.
pub async fn add(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = tri!(read_body(&app, &headers, &body));
    // Deserialisation (Spring's argument resolution) happens before the method's own check.
    let wrapper = tri!(read_wrapper(&app, &raw, Form::Create));
    let id = tri!(parse_id(&raw_id));
    tri!(auth::manager_or_401(&app, &who));
    let mut st = app.state();
    let Some(current) = st.commands.get(&id).cloned() else {
        return not_found_command(id);
    };
    let wid = st.alloc_wrapper_id();
    let mut candidate = current;
    if let Some(list) = candidate.get_mut("xnat").and_then(Value::as_array_mut) {
        list.push(with_id(&wrapper, wid));
    }
    // The NPE inside validate() is unchecked: the transaction rolls back.
    if let Some(r) = pre_validation_crash(&candidate) {
        return r;
    }
    // Checked validation failure: the insert is committed anyway.
    let verdict = invalid(&candidate);
    st.commands.insert(id, candidate);
    match verdict {
        Some(r) => r,
        None => reply::text_as_json(201, wid.to_string()),
    }
}

/// `POST /xapi/commands/{cid}/wrappers/{wid}`: replace wrapper `wid` (wherever it is stored,
/// as XNAT looks it up by id alone), then validate command `cid`. 200 empty.
pub async fn update(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path((raw_cid, raw_wid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = tri!(read_body(&app, &headers, &body));
    let wrapper = tri!(read_wrapper(&app, &raw, Form::Update));
    let cid = tri!(parse_id(&raw_cid));
    let wid = tri!(parse_id(&raw_wid));
    tri!(auth::manager_or_401(&app, &who));
    let mut st = app.state();
    if !st.commands.contains_key(&cid) {
        return not_found_command(cid);
    }
    let owner = st.commands.iter().find_map(|(id, c)| {
        list_field(c, "xnat")
            .iter()
            .position(|w| wrapper_id(w) == Some(wid))
            .map(|pos| (*id, pos))
    });
    let Some((owner, pos)) = owner else {
        return reply::text_as_json(404, format!("No command wrapper for id {wid}"));
    };
    let mut candidate = st.commands.get(&owner).cloned().unwrap_or(Value::Null);
    if let Some(slot) = candidate
        .get_mut("xnat")
        .and_then(Value::as_array_mut)
        .and_then(|l| l.get_mut(pos))
    {
        *slot = with_id(&wrapper, wid);
    }
    if let Some(r) = pre_validation_crash(&candidate) {
        return r;
    }
    st.commands.insert(owner, candidate);
    let target = st.commands.get(&cid).cloned().unwrap_or(Value::Null);
    match invalid(&target) {
        Some(r) => r,
        None => reply::empty(200),
    }
}

/// `POST /xapi/command/{id}/visibility/{visibility}` (3.7 only; singular `command`).
pub async fn set_visibility(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path((raw_id, visibility)): Path<(String, String)>,
) -> Response {
    if app.config.version_mode == VersionMode::V36 {
        return reply::empty(404);
    }
    let id = tri!(parse_id(&raw_id));
    tri!(auth::manager_or_403(&app, &who));
    let mut st = app.state();
    let Some(current) = st.commands.get(&id) else {
        return reply::advice(
            400,
            &format!("The command identified by id {id} does not exist."),
        );
    };
    let mut candidate = current.clone();
    candidate["visibility"] = Value::String(visibility);
    // This controller's own handler writes the error list as Java's List.toString().
    let errors: Vec<String> = xnat_cmd::validate(&candidate, Form::Update)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message)
        .collect();
    if !errors.is_empty() {
        return reply::text_as_json(400, format!("[{}]", errors.join(", ")));
    }
    st.commands.insert(id, candidate);
    reply::empty(200)
}
