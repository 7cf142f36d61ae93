//! Wrapper configuration (§1.3 S8–S10, P7): `POST/GET/DELETE …/config` at site and project
//! scope, by wrapper id or by command id + wrapper name, as `ContainerConfigServiceImpl` and
//! `CommandConfiguration` (3.7.3) do it:
//!
//! * XNAT keeps one config document per scope and wrapper, `{enabled, inputs, outputs}`. Here
//!   the record's `enabled` is `State::site_enabled` / `project_enabled` (which enable/disable
//!   write) and its inputs/outputs are `site_config` / `project_config`, so enabling or
//!   disabling keeps a stored configuration, and both survive a command update that keeps
//!   the wrapper id.
//! * POST writes `enabled = true` when `enable` (default true), else the *current* effective
//!   flag (site: record says not false; project: site AND project) — so configuring a fresh
//!   wrapper with `enable=false` writes `false`, and configuring a project whose site flag is
//!   off with `enable=false` turns the project flag off. No wrapper existence check.
//! * GET renders a `CommandConfiguration` from the wrapper's and command's inputs and outputs
//!   overlaid with the stored values; the project GET overlays the project document on the
//!   site one. Unknown wrapper → 404 `No command with wrapper with id <w>`.
//! * DELETE: no record → nothing; a record with `enabled: null` → removed; otherwise only
//!   inputs/outputs are cleared and the flag stays. 204.
//!
//! Permissions are the aspect's (403 empty): Container Manager at site scope; project
//! Delete (POST, DELETE) or Edit (GET) at project scope — site administrators pass, a
//! Container Manager without project access does not.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use xnat_cmd::command::{lenient_bool, lenient_i64, lenient_string, list_field, str_field};

use crate::auth::{self, Identity};
use crate::commands::{parse_id, read_body};
use crate::config::Level;
use crate::reply;
use crate::state::{Inner, State as Store};

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

type App = State<Arc<Inner>>;
type Who = Extension<Identity>;
type Params = Query<HashMap<String, String>>;

/// Site scope (`None`) or a project.
type Scope = Option<String>;

/// The `@Project` aspect check: site administrators and users with `level` pass; the guest
/// gets the login challenge; anyone else 403 with an empty body.
fn project_aspect(
    app: &Inner,
    who: &Identity,
    project: &str,
    level: Level,
) -> Result<(), Response> {
    if auth::has_role(app, &who.user, "Administrator")
        || auth::has_project_level(app, &who.user, project, level)
    {
        Ok(())
    } else if who.is_guest() {
        Err(reply::challenge(&app.config.site_id))
    } else {
        Err(reply::empty(403))
    }
}

fn check(app: &Inner, who: &Identity, scope: &Scope, level: Level) -> Result<(), Response> {
    match scope {
        None => auth::manager_or_403(app, who),
        Some(p) => project_aspect(app, who, p, level),
    }
}

/// Spring's boolean conversion of `enable` (default true).
fn enable_param(q: &HashMap<String, String>) -> Result<bool, Response> {
    let Some(raw) = q.get("enable").map(|s| s.trim()).filter(|s| !s.is_empty()) else {
        return Ok(true);
    };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(reply::advice(
            500,
            &format!(
                "Failed to convert value of type 'java.lang.String' to required type 'boolean'; \
                 nested exception is java.lang.IllegalArgumentException: Invalid boolean value [{raw}]"
            ),
        )),
    }
}

/// Wrapper id by (command id, name), with the numeric fallback (§1.3); 404 texts as XNAT's.
fn lookup(st: &Store, cid: u64, name: &str) -> Result<u64, Response> {
    let Some(cmd) = st.commands.get(&cid) else {
        return Err(reply::text_as_json(
            404,
            format!("No command with id {cid}"),
        ));
    };
    let wrappers = list_field(cmd, "xnat");
    if let Some(id) = wrappers
        .iter()
        .find(|w| str_field(w, "name").as_deref() == Some(name))
        .and_then(wrapper_id)
    {
        return Ok(id);
    }
    if let Ok(n) = name.parse::<u64>() {
        if wrappers.iter().any(|w| wrapper_id(w) == Some(n)) {
            return Ok(n);
        }
    }
    Err(reply::text_as_json(
        404,
        format!("Command {cid} has no wrapper {name}"),
    ))
}

fn wrapper_id(w: &Value) -> Option<u64> {
    w.get("id")
        .and_then(lenient_i64)
        .and_then(|i| u64::try_from(i).ok())
}

/// Field of a config entry as stored: a string, a boolean, or null.
fn text_of(v: &Value, key: &str) -> Value {
    v.get(key)
        .and_then(lenient_string)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn bool_of(v: &Value, key: &str) -> Value {
    match v.get(key).map(lenient_bool) {
        Some(Ok(Some(b))) => Value::Bool(b),
        _ => Value::Null,
    }
}

/// The stored (internal) form of a posted `CommandConfiguration`: per input `default-value`,
/// `matcher`, `user-settable`, `advanced`; per output `label`. Other keys are ignored.
fn internal_of(body: &Value) -> Value {
    let mut inputs = Map::new();
    if let Some(map) = body.get("inputs").and_then(Value::as_object) {
        for (name, c) in map {
            inputs.insert(
                name.clone(),
                json!({
                    "default-value": text_of(c, "default-value"),
                    "matcher": text_of(c, "matcher"),
                    "user-settable": bool_of(c, "user-settable"),
                    "advanced": bool_of(c, "advanced"),
                }),
            );
        }
    }
    let mut outputs = Map::new();
    if let Some(map) = body.get("outputs").and_then(Value::as_object) {
        for (name, c) in map {
            outputs.insert(name.clone(), json!({"label": text_of(c, "label")}));
        }
    }
    json!({"inputs": inputs, "outputs": outputs})
}

/// `base` overlaid with `overlay`: per entry, the overlay's non-null fields win.
fn merge(base: &Value, overlay: &Value) -> Value {
    let mut out = base.clone();
    for section in ["inputs", "outputs"] {
        let Some(over) = overlay.get(section).and_then(Value::as_object) else {
            continue;
        };
        let target = out
            .as_object_mut()
            .map(|o| o.entry(section).or_insert_with(|| json!({})));
        let Some(target) = target.and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, entry) in over {
            let slot = target.entry(name.clone()).or_insert_with(|| json!({}));
            if let (Some(slot), Some(entry)) = (slot.as_object_mut(), entry.as_object()) {
                for (k, v) in entry {
                    if !v.is_null() || !slot.contains_key(k) {
                        slot.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    out
}

/// `CommandConfiguration.create(command, wrapper, internal)`: wrapper inputs, derived
/// inputs, output handlers, then command inputs no wrapper input provides a value for.
fn render(command: &Value, wrapper: &Value, internal: Option<&Value>) -> Value {
    let configured = |section: &str, name: &str| -> Option<Value> {
        internal
            .and_then(|i| i.get(section))
            .and_then(|s| s.get(name))
            .cloned()
    };
    let non_null = |c: &Option<Value>, key: &str| -> Option<Value> {
        c.as_ref()
            .and_then(|c| c.get(key))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    let mut inputs = Map::new();
    let mut handled: Vec<String> = Vec::new();
    for kind in ["external-inputs", "derived-inputs"] {
        for input in list_field(wrapper, kind) {
            let Some(name) = str_field(input, "name") else {
                continue;
            };
            let c = configured("inputs", &name);
            let advanced = match &c {
                Some(c) => field(c, "advanced"),
                None => Value::Bool(false),
            };
            inputs.insert(
                name.clone(),
                json!({
                    "description": field(input, "description"),
                    "type": field(input, "type"),
                    "default-value": non_null(&c, "default-value").unwrap_or_else(|| field(input, "default-value")),
                    "matcher": non_null(&c, "matcher").unwrap_or_else(|| field(input, "matcher")),
                    "user-settable": non_null(&c, "user-settable").unwrap_or_else(|| field(input, "user-settable")),
                    "advanced": advanced,
                    "required": Value::Null,
                }),
            );
            if let Some(p) = str_field(input, "provides-value-for-command-input") {
                handled.push(p);
            }
        }
    }
    let mut outputs = Map::new();
    for handler in list_field(wrapper, "output-handlers") {
        let Some(name) = str_field(handler, "name") else {
            continue;
        };
        let c = configured("outputs", &name);
        outputs.insert(
            name,
            json!({
                "type": field(handler, "type"),
                "label": non_null(&c, "label").unwrap_or_else(|| field(handler, "label")),
            }),
        );
    }
    for input in list_field(command, "inputs") {
        let Some(name) = str_field(input, "name") else {
            continue;
        };
        if handled.contains(&name) {
            continue;
        }
        let c = configured("inputs", &name);
        let (user_settable, advanced) = match &c {
            Some(c) => (field(c, "user-settable"), field(c, "advanced")),
            None => (Value::Bool(true), Value::Bool(false)),
        };
        inputs.insert(
            name,
            json!({
                "description": field(input, "description"),
                "type": field(input, "type"),
                "default-value": non_null(&c, "default-value").unwrap_or_else(|| field(input, "default-value")),
                "matcher": non_null(&c, "matcher").unwrap_or_else(|| field(input, "matcher")),
                "user-settable": user_settable,
                "advanced": advanced,
                "required": field(input, "required"),
            }),
        );
    }
    json!({"inputs": inputs, "outputs": outputs})
}

fn configure(app: &Inner, scope: &Scope, wid: u64, enable: bool, body: &Value) {
    let mut st = app.state();
    let internal = internal_of(body);
    match scope {
        None => {
            let flag = enable || st.site_is_enabled(wid);
            st.site_enabled.insert(wid, Some(flag));
            st.site_config.insert(wid, internal);
        }
        Some(p) => {
            let flag = enable || st.project_is_enabled(p, wid);
            let key = (p.clone(), wid);
            st.project_enabled.insert(key.clone(), Some(flag));
            st.project_config.insert(key, internal);
        }
    }
}

fn read(app: &Inner, scope: &Scope, wid: u64) -> Response {
    let st = app.state();
    let found = st.commands.values().find_map(|c| {
        list_field(c, "xnat")
            .iter()
            .find(|w| wrapper_id(w) == Some(wid))
            .map(|w| (c, w))
    });
    let Some((command, wrapper)) = found else {
        return reply::text_as_json(404, format!("No command with wrapper with id {wid}"));
    };
    let site = st.site_config.get(&wid);
    let internal = match scope {
        None => site.cloned(),
        Some(p) => {
            let base = site
                .cloned()
                .unwrap_or_else(|| json!({"inputs": {}, "outputs": {}}));
            Some(match st.project_config.get(&(p.clone(), wid)) {
                Some(overlay) => merge(&base, overlay),
                None => base,
            })
        }
    };
    reply::json(200, &render(command, wrapper, internal.as_ref()))
}

fn remove(app: &Inner, scope: &Scope, wid: u64) -> Response {
    let mut st = app.state();
    match scope {
        None => match st.site_enabled.get(&wid) {
            None => {}
            Some(None) => {
                st.site_enabled.remove(&wid);
                st.site_config.remove(&wid);
            }
            Some(Some(_)) => {
                st.site_config.remove(&wid);
            }
        },
        Some(p) => {
            let key = (p.clone(), wid);
            match st.project_enabled.get(&key) {
                None => {}
                Some(None) => {
                    st.project_enabled.remove(&key);
                    st.project_config.remove(&key);
                }
                Some(Some(_)) => {
                    st.project_config.remove(&key);
                }
            }
        }
    }
    reply::empty(204)
}

/// Which wrapper a path names: an id, or a command id and a wrapper name.
enum Target {
    Id(String),
    Named(String, String),
}

/// Path ids converted (Spring argument resolution, before the aspect).
enum Resolved {
    Id(u64),
    Named(u64, String),
}

fn convert(t: Target) -> Result<Resolved, Response> {
    Ok(match t {
        Target::Id(w) => Resolved::Id(parse_id(&w)?),
        Target::Named(c, n) => Resolved::Named(parse_id(&c)?, n),
    })
}

fn wid_of(app: &Inner, r: Resolved) -> Result<u64, Response> {
    match r {
        Resolved::Id(w) => Ok(w),
        Resolved::Named(c, n) => lookup(&app.state(), c, &n),
    }
}

fn post(
    app: &Inner,
    who: &Identity,
    scope: Scope,
    t: Target,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let body = tri!(read_body(app, headers, body));
    let target = tri!(convert(t));
    let enable = tri!(enable_param(q));
    tri!(check(app, who, &scope, Level::Delete));
    let wid = tri!(wid_of(app, target));
    configure(app, &scope, wid, enable, &body);
    reply::empty(201)
}

fn get(app: &Inner, who: &Identity, scope: Scope, t: Target) -> Response {
    let target = tri!(convert(t));
    tri!(check(app, who, &scope, Level::Edit));
    let wid = tri!(wid_of(app, target));
    read(app, &scope, wid)
}

fn delete(app: &Inner, who: &Identity, scope: Scope, t: Target) -> Response {
    let target = tri!(convert(t));
    tri!(check(app, who, &scope, Level::Delete));
    let wid = tri!(wid_of(app, target));
    remove(app, &scope, wid)
}

pub async fn site_post(
    State(app): App,
    Extension(who): Who,
    Path(w): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&app, &who, None, Target::Id(w), &q, &headers, &body)
}

pub async fn site_get(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    get(&app, &who, None, Target::Id(w))
}

pub async fn site_delete(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    delete(&app, &who, None, Target::Id(w))
}

pub async fn site_post_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&app, &who, None, Target::Named(c, n), &q, &headers, &body)
}

pub async fn site_get_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
) -> Response {
    get(&app, &who, None, Target::Named(c, n))
}

pub async fn site_delete_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
) -> Response {
    delete(&app, &who, None, Target::Named(c, n))
}

pub async fn project_post(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(&app, &who, Some(p), Target::Id(w), &q, &headers, &body)
}

pub async fn project_get(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
) -> Response {
    get(&app, &who, Some(p), Target::Id(w))
}

pub async fn project_delete(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
) -> Response {
    delete(&app, &who, Some(p), Target::Id(w))
}

pub async fn project_post_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    post(
        &app,
        &who,
        Some(p),
        Target::Named(c, n),
        &q,
        &headers,
        &body,
    )
}

pub async fn project_get_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
) -> Response {
    get(&app, &who, Some(p), Target::Named(c, n))
}

pub async fn project_delete_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
) -> Response {
    delete(&app, &who, Some(p), Target::Named(c, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_base_where_overlay_is_null() {
        let cases = [
            (
                json!({"inputs": {"a": {"matcher": "m", "default-value": "1"}}, "outputs": {}}),
                json!({"inputs": {"a": {"matcher": null, "default-value": "2"}}, "outputs": {}}),
                json!({"inputs": {"a": {"matcher": "m", "default-value": "2"}}, "outputs": {}}),
            ),
            (
                json!({"inputs": {}, "outputs": {"o": {"label": "site"}}}),
                json!({"inputs": {"b": {"advanced": true}}, "outputs": {"o": {"label": null}}}),
                json!({"inputs": {"b": {"advanced": true}}, "outputs": {"o": {"label": "site"}}}),
            ),
        ];
        for (base, overlay, want) in cases {
            assert_eq!(merge(&base, &overlay), want);
        }
    }

    #[test]
    fn internal_form_keeps_only_the_stored_fields() {
        let body = json!({"inputs": {"x": {"type": "string", "default-value": 3, "user-settable": "false", "junk": 1}},
                          "outputs": {"o": {"type": "Resource", "label": "L"}}, "other": true});
        assert_eq!(
            internal_of(&body),
            json!({"inputs": {"x": {"default-value": "3", "matcher": null, "user-settable": false, "advanced": null}},
                   "outputs": {"o": {"label": "L"}}})
        );
    }

    #[test]
    fn enable_parameter_reads_as_spring_does() {
        let q = |v: &str| HashMap::from([("enable".to_string(), v.to_string())]);
        assert_eq!(enable_param(&HashMap::new()).ok(), Some(true));
        assert_eq!(enable_param(&q("")).ok(), Some(true));
        assert_eq!(enable_param(&q("FALSE")).ok(), Some(false));
        assert_eq!(enable_param(&q("off")).ok(), Some(false));
        assert_eq!(enable_param(&q("1")).ok(), Some(true));
        assert!(enable_param(&q("maybe")).is_err());
    }
}
