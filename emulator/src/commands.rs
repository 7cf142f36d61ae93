//! Command CRUD (§1.2, §7.4): list/get with XNAT's filters and visibility, create with the
//! `?image=` override, `:latest` default, duplicate check and the library's validator, update
//! merging wrappers by name so their ids (and enablement) survive, delete → 204.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde_json::{Map, Value};
use xnat_cmd::command::normalize::normalize;
use xnat_cmd::command::{
    lenient_i64, lenient_string, list_field, str_field, with_image, xnat_error_body,
};
use xnat_cmd::reference::xnat_default_tag;
use xnat_cmd::{Form, Severity};

use crate::auth::{self, Identity};
use crate::config::{Config, VersionMode};
use crate::reply;
use crate::state::{Inner, State as Store};

const DUPLICATE: &str = "Bad request:\norg.nrg.framework.exceptions.NrgServiceRuntimeException: Error [Default]: Error [Default]: This command duplicates a command already in the database.";
const KNOWN_TYPES: [&str; 3] = ["docker", "docker-setup", "docker-wrapup"];

/// A stored command as GET returns it in the configured version mode.
pub fn render(config: &Config, stored: &Value) -> Value {
    let mut v = stored.clone();
    if config.version_mode == VersionMode::V36 {
        if let Some(obj) = v.as_object_mut() {
            // Pre-3.7 servers have no visibility.
            obj.remove("visibility");
        }
    }
    v
}

/// Numeric path id; anything else is Spring's conversion failure, a 500 via the global advice.
pub fn parse_id(raw: &str) -> Result<u64, Response> {
    raw.parse::<u64>().map_err(|_| {
        reply::advice(
            500,
            &format!(
                "Failed to convert value of type 'java.lang.String' to required type 'long'; \
                 nested exception is java.lang.NumberFormatException: For input string: \"{raw}\""
            ),
        )
    })
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json_media(m: &str) -> bool {
    m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
}

/// `Accept` absent or compatible with JSON (the create mapping `produces` JSON).
fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept
        .split(',')
        .map(media_type)
        .any(|m| m.is_empty() || m == "*/*" || m == "application/*" || is_json_media(&m))
}

/// Content-Type check and JSON parse of a command body (§7.4 steps 1–2).
pub(crate) fn read_body(app: &Inner, headers: &HeaderMap, body: &Bytes) -> Result<Value, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_json_media(&media_type(ct)) {
        let shown = if ct.is_empty() {
            "application/octet-stream"
        } else {
            ct
        };
        return Err(reply::advice(
            app.config.unsupported_media_status,
            &format!("Content type '{shown}' not supported"),
        ));
    }
    let unreadable = |msg: String| {
        reply::advice(
            app.config.unreadable_body_status,
            &format!("JSON parse error: {msg}"),
        )
    };
    // Read as XNAT's Jackson mapper reads a body: single quotes, `#` comments, trailing text ignored.
    let value: Value = xnat_cmd::lenient_json::parse_bytes(body)
        .map_err(|e| unreadable(e.to_string()))?
        .value;
    if !value.is_object() {
        return Err(unreadable(format!(
            "Cannot deserialize value of type `org.nrg.containers.model.command.auto.Command` \
             from {} value",
            match value {
                Value::Array(_) => "Array",
                Value::String(_) => "String",
                _ => "scalar",
            }
        )));
    }
    Ok(value)
}

type Key = (Option<String>, Option<String>, Option<String>);

fn key_of(v: &Value) -> Key {
    (
        str_field(v, "name"),
        str_field(v, "image"),
        str_field(v, "version"),
    )
}

/// Duplicate rule of §3.5; null versions match each other unless the old framework
/// behaviour (§10.2) is switched on.
fn duplicates(a: &Key, b: &Key, versionless_allowed: bool) -> bool {
    a.0 == b.0
        && a.1 == b.1
        && match (&a.2, &b.2) {
            (Some(x), Some(y)) => x == y,
            (None, None) => !versionless_allowed,
            _ => false,
        }
}

/// `value` with `id` as its first key (XNAT's serialisation order).
pub(crate) fn with_id(value: &Value, id: u64) -> Value {
    let mut out = Map::new();
    out.insert("id".to_string(), Value::from(id));
    if let Some(obj) = value.as_object() {
        for (k, v) in obj {
            if k != "id" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Store `normalized` under `id`, giving each wrapper the id `wrapper_id(name)` returns.
pub(crate) fn assemble(
    normalized: &Value,
    id: u64,
    mut wrapper_id: impl FnMut(Option<String>) -> u64,
) -> Value {
    let mut stored = with_id(normalized, id);
    if let Some(list) = stored.get_mut("xnat").and_then(Value::as_array_mut) {
        for w in list.iter_mut() {
            let wid = wrapper_id(str_field(w, "name"));
            *w = with_id(w, wid);
        }
    }
    stored
}

/// Errors (not warnings) of the library's validator, as XNAT's 400 body.
pub(crate) fn validation_failure(raw: &Value, form: Form) -> Option<Response> {
    let errors: Vec<_> = xnat_cmd::validate(raw, form)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        return None;
    }
    // Controller-local handler: plain text under the mapping's JSON content type (§7.4 step 8).
    Some(reply::text_as_json(400, xnat_error_body(&errors)))
}

/// What blows up before validation: unknown `type` (entity construction) and outputs or
/// handlers without a name (a NullPointerException inside `validate()`).
pub(crate) fn pre_validation_crash(normalized: &Value) -> Option<Response> {
    let kind = str_field(normalized, "type").unwrap_or_else(|| "docker".to_string());
    if !KNOWN_TYPES.contains(&kind.as_str()) {
        return Some(reply::advice(
            500,
            &format!("Cannot instantiate command with type {kind}"),
        ));
    }
    let unnamed = |v: &Value| v.get("name").and_then(lenient_string).is_none();
    let output_unnamed = list_field(normalized, "outputs").iter().any(unnamed);
    let handler_unnamed = list_field(normalized, "xnat")
        .iter()
        .flat_map(|w| list_field(w, "output-handlers"))
        .any(unnamed);
    if output_unnamed || handler_unnamed {
        return Some(reply::advice(500, "java.lang.NullPointerException"));
    }
    None
}

pub(crate) fn unreadable(app: &Inner, err: impl std::fmt::Display) -> Response {
    reply::advice(
        app.config.unreadable_body_status,
        &format!("JSON parse error: {err}"),
    )
}

/// Private commands are visible to non-managers only through a project they can read.
fn visible(app: &Inner, st: &Store, who: &Identity, cmd: &Value) -> bool {
    let visibility = str_field(cmd, "visibility").unwrap_or_else(|| "public".to_string());
    if visibility != "private" || app.config.version_mode == VersionMode::V36 {
        return true;
    }
    let wrappers: Vec<u64> = list_field(cmd, "xnat")
        .iter()
        .filter_map(|w| w.get("id").and_then(lenient_i64))
        .filter_map(|i| u64::try_from(i).ok())
        .collect();
    st.project_enabled.iter().any(|((p, w), e)| {
        *e == Some(true) && wrappers.contains(w) && project_readable(st, &who.user, p)
    })
}

pub(crate) fn project_readable(st: &Store, user: &str, project: &str) -> bool {
    st.users
        .get(user)
        .is_some_and(|u| u.roles.iter().any(|r| r == "Administrator"))
        || st
            .projects
            .get(project)
            .is_some_and(|a| a.contains_key(user))
}

/// `GET /xapi/commands[?name=&version=&image=&restrictToEnabledForSite=]`.
pub async fn list(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let param = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let (name, version, image) = (param("name"), param("version"), param("image"));
    if version.is_some() && name.is_none() {
        return reply::text_as_json(
            400,
            "Bad request:\nIf \"version\" is specified, must specify \"name\" as well.",
        );
    }
    let only_enabled = param("restrictToEnabledForSite").is_some_and(|v| v == "true");
    let manager = auth::is_manager(&app, &who);
    let st = app.state();
    let found: Vec<Value> = st
        .commands
        .values()
        .filter(|c| {
            let (n, i, v) = key_of(c);
            name.is_none_or(|x| n.as_deref() == Some(x))
                && image.is_none_or(|x| i.as_deref() == Some(x))
                && version.is_none_or(|x| v.as_deref() == Some(x))
        })
        .filter(|c| {
            !only_enabled
                || list_field(c, "xnat").iter().any(|w| {
                    w.get("id")
                        .and_then(lenient_i64)
                        .and_then(|i| u64::try_from(i).ok())
                        .is_some_and(|i| st.site_is_enabled(i))
                })
        })
        .filter(|c| manager || visible(&app, &st, &who, c))
        .map(|c| render(&app.config, c))
        .collect();
    reply::json(200, &Value::Array(found))
}

/// `GET /xapi/commands/{id}`.
pub async fn get(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(raw_id): Path<String>,
) -> Response {
    let id = match parse_id(&raw_id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let manager = auth::is_manager(&app, &who);
    let st = app.state();
    match st.commands.get(&id) {
        None => reply::text(404, format!("Could not find entity with ID {id}")),
        Some(c) if !manager && !visible(&app, &st, &who, c) => reply::empty(200),
        Some(c) => reply::json(200, &render(&app.config, c)),
    }
}

/// `POST /xapi/commands[?image=X]` (§7.4, steps in XNAT's order).
pub async fn create(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !accepts_json(&headers) {
        return reply::empty(406);
    }
    let raw = match read_body(&app, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // The `image` parameter replaces the body's image; either way `:latest` is defaulted.
    let mut raw = with_image(&raw, q.get("image").map(String::as_str).unwrap_or(""));
    if let Some(image) = str_field(&raw, "image") {
        raw["image"] = Value::String(xnat_default_tag(&image));
    }
    let normalized = match normalize(&raw, Form::Create) {
        Ok(v) => v,
        Err(e) => return unreadable(&app, e),
    };
    if let Err(r) = auth::manager_or_401(&app, &who) {
        return r;
    }
    if let Some(r) = pre_validation_crash(&normalized) {
        return r;
    }
    // XNAT checks for a duplicate and inserts in one transaction: one critical section here,
    // so two identical creates at once store one command (the second gets the duplicate
    // error). Validation needs no state, so it runs before the lock; the duplicate error still
    // wins over a validation error, as in XNAT's order.
    let invalid = validation_failure(&raw, Form::Create);
    let mut st = app.state();
    if is_duplicate(&app, &st, &normalized) {
        return reply::text_as_json(400, DUPLICATE);
    }
    if let Some(r) = invalid {
        return r;
    }
    let id = insert_new(&mut st, &normalized);
    drop(st);
    reply::text_as_json(201, id.to_string())
}

/// Is there a stored command with the same (name, image, version) (§3.5)?
pub(crate) fn is_duplicate(app: &Inner, st: &Store, normalized: &Value) -> bool {
    let key = key_of(normalized);
    let allowed = app.config.versionless_duplicates_allowed;
    st.commands
        .values()
        .any(|c| duplicates(&key_of(c), &key, allowed))
}

/// Store a new command with fresh command and wrapper ids; returns the command id.
pub(crate) fn insert_new(st: &mut Store, normalized: &Value) -> u64 {
    let id = st.next_command_id;
    st.next_command_id += 1;
    let stored = assemble(normalized, id, |_| st.alloc_wrapper_id());
    st.commands.insert(id, stored);
    id
}

/// `POST /xapi/commands/{id}`: full-form update merged by wrapper name (§3.7, §10.1).
pub async fn update(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match parse_id(&raw_id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let raw = match read_body(&app, &headers, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let normalized = match normalize(&raw, Form::Update) {
        Ok(v) => v,
        Err(e) => return unreadable(&app, e),
    };
    if let Err(r) = auth::manager_or_401(&app, &who) {
        return r;
    }
    if let Some(r) = validation_failure(&raw, Form::Update) {
        return r;
    }
    let mut st = app.state();
    let Some(current) = st.commands.get(&id) else {
        return reply::advice(
            500,
            &format!(
                "Unable to find org.nrg.containers.model.command.entity.CommandEntity with id {id}"
            ),
        );
    };
    let existing: HashMap<String, u64> = list_field(current, "xnat")
        .iter()
        .filter_map(|w| {
            let id = w.get("id").and_then(lenient_i64)?;
            Some((str_field(w, "name")?, u64::try_from(id).ok()?))
        })
        .collect();
    // A non-zero wrapper id in the body overwrites the stored wrapper's primary key (§10.1).
    for w in list_field(&raw, "xnat") {
        let Some(body_id) = w.get("id").and_then(lenient_i64).filter(|i| *i != 0) else {
            continue;
        };
        let name = str_field(w, "name").unwrap_or_default();
        match existing.get(&name) {
            Some(stored) if i64::try_from(*stored).ok() == Some(body_id) => {}
            Some(stored) => {
                return reply::advice(
                    500,
                    &format!(
                        "identifier of an instance of org.nrg.containers.model.command.entity.\
                         CommandWrapperEntity was altered from {stored} to {body_id}"
                    ),
                )
            }
            None => {
                return reply::advice(
                    500,
                    "detached entity passed to persist: \
                     org.nrg.containers.model.command.entity.CommandWrapperEntity",
                )
            }
        }
    }
    // The unique constraint on (name, image, version); PostgreSQL treats NULLs as distinct.
    let key = key_of(&normalized);
    if key.2.is_some()
        && st
            .commands
            .iter()
            .any(|(other, c)| *other != id && duplicates(&key_of(c), &key, true))
    {
        return reply::advice(
            500,
            "could not execute statement; SQL [n/a]; constraint [xhbm_command_entity_name_image_version_key]",
        );
    }
    let stored = assemble(&normalized, id, |name| {
        name.and_then(|n| existing.get(&n).copied())
            .unwrap_or_else(|| st.alloc_wrapper_id())
    });
    st.commands.insert(id, stored);
    reply::empty(200)
}

/// `DELETE /xapi/commands/{id}`: 204 whether or not it existed; enablement records stay.
pub async fn delete(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(raw_id): Path<String>,
) -> Response {
    let id = match parse_id(&raw_id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = auth::manager_or_401(&app, &who) {
        return r;
    }
    app.state().commands.remove(&id);
    reply::empty(204)
}

/// `DELETE /xapi/wrappers/{wid}`: 204 always.
pub async fn delete_wrapper(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(raw_id): Path<String>,
) -> Response {
    let wid = match parse_id(&raw_id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = auth::manager_or_401(&app, &who) {
        return r;
    }
    let mut st = app.state();
    for cmd in st.commands.values_mut() {
        if let Some(list) = cmd.get_mut("xnat").and_then(Value::as_array_mut) {
            list.retain(|w| w.get("id").and_then(lenient_i64) != i64::try_from(wid).ok());
        }
    }
    reply::empty(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_versions_duplicate_unless_old_behaviour() {
        let a: Key = (Some("n".into()), Some("i:1".into()), None);
        assert!(duplicates(&a, &a.clone(), false));
        assert!(!duplicates(&a, &a.clone(), true));
        let b: Key = (Some("n".into()), Some("i:1".into()), Some("1".into()));
        assert!(!duplicates(&a, &b, false));
    }
}
