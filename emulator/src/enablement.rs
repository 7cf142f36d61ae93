//! Wrapper enablement (§1.3, §7.5): site and project flags, in both path spellings (wrapper id,
//! or command id + wrapper name with a numeric fallback), and the project list of a wrapper.
//! The `reason` query parameter is accepted by every endpoint and ignored.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use xnat_cmd::command::{lenient_i64, list_field, str_field};

use crate::auth::{self, Identity};
use crate::commands::parse_id;
use crate::config::{Level, VersionMode};
use crate::reply;
use crate::state::Inner;

/// Wrapper id by (command id, wrapper name); a name that is not found but is numeric is tried
/// as a wrapper id of that command.
fn lookup(app: &Inner, cid: &str, name: &str) -> Result<u64, Response> {
    let cid = parse_id(cid)?;
    let st = app.state();
    let Some(cmd) = st.commands.get(&cid) else {
        return Err(reply::text(404, format!("No command with id {cid}")));
    };
    let wrappers = list_field(cmd, "xnat");
    let id_of = |w: &Value| {
        w.get("id")
            .and_then(lenient_i64)
            .and_then(|i| u64::try_from(i).ok())
    };
    if let Some(id) = wrappers
        .iter()
        .find(|w| str_field(w, "name").as_deref() == Some(name))
        .and_then(id_of)
    {
        return Ok(id);
    }
    if let Ok(n) = name.parse::<u64>() {
        if wrappers.iter().any(|w| id_of(w) == Some(n)) {
            return Ok(n);
        }
    }
    Err(reply::text(
        404,
        format!("Command {cid} has no wrapper {name}"),
    ))
}

fn set_site(app: &Inner, who: &Identity, wid: u64, enabled: bool) -> Response {
    if let Err(r) = auth::manager_or_403(app, who) {
        return r;
    }
    // No existence check: XNAT writes the record for any id.
    app.state().site_enabled.insert(wid, Some(enabled));
    reply::empty(200)
}

fn get_site(app: &Inner, who: &Identity, wid: u64) -> Response {
    if let Err(r) = auth::manager_or_403(app, who) {
        return r;
    }
    reply::json(200, &Value::Bool(app.state().site_is_enabled(wid)))
}

fn set_project(app: &Inner, who: &Identity, project: &str, wid: u64, enabled: bool) -> Response {
    if let Err(r) = auth::project_level(app, who, project, Level::Delete) {
        return r;
    }
    app.state()
        .project_enabled
        .insert((project.to_string(), wid), Some(enabled));
    reply::empty(200)
}

fn get_project(app: &Inner, who: &Identity, project: &str, wid: u64) -> Response {
    if let Err(r) = auth::project_level(app, who, project, Level::Edit) {
        return r;
    }
    let st = app.state();
    reply::json(
        200,
        &json!({
            "enabled-for-site": st.site_is_enabled(wid),
            "enabled-for-project": st.project_is_enabled(project, wid),
            "project": project,
        }),
    )
}

type App = State<Arc<Inner>>;
type Who = Extension<Identity>;

macro_rules! try_id {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

pub async fn site_enable(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    set_site(&app, &who, try_id!(parse_id(&w)), true)
}

pub async fn site_disable(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    set_site(&app, &who, try_id!(parse_id(&w)), false)
}

pub async fn site_get(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    get_site(&app, &who, try_id!(parse_id(&w)))
}

/// The by-name forms check permission before the lookup (aspect first, then the controller).
pub async fn site_enable_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth::manager_or_403(&app, &who) {
        return r;
    }
    set_site(&app, &who, try_id!(lookup(&app, &c, &n)), true)
}

pub async fn site_disable_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth::manager_or_403(&app, &who) {
        return r;
    }
    set_site(&app, &who, try_id!(lookup(&app, &c, &n)), false)
}

pub async fn site_get_by_name(
    State(app): App,
    Extension(who): Who,
    Path((c, n)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth::manager_or_403(&app, &who) {
        return r;
    }
    get_site(&app, &who, try_id!(lookup(&app, &c, &n)))
}

/// `GET /xapi/wrappers/{w}/projects`: projects whose own record says enabled. New in 3.7.0
/// (container-service e8b85e6a): 3.6 has no such mapping, so Spring answers 404.
pub async fn projects_of(State(app): App, Extension(who): Who, Path(w): Path<String>) -> Response {
    if app.config.version_mode == VersionMode::V36 {
        return reply::empty(404);
    }
    let wid = try_id!(parse_id(&w));
    if let Err(r) = auth::manager_or_403(&app, &who) {
        return r;
    }
    let st = app.state();
    let mut projects: Vec<&String> = st
        .project_enabled
        .iter()
        .filter(|((_, id), e)| *id == wid && **e == Some(true))
        .map(|((p, _), _)| p)
        .collect();
    projects.sort();
    reply::json(200, &json!(projects))
}

pub async fn project_enable(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
) -> Response {
    set_project(&app, &who, &p, try_id!(parse_id(&w)), true)
}

pub async fn project_disable(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
) -> Response {
    set_project(&app, &who, &p, try_id!(parse_id(&w)), false)
}

pub async fn project_get(
    State(app): App,
    Extension(who): Who,
    Path((p, w)): Path<(String, String)>,
) -> Response {
    get_project(&app, &who, &p, try_id!(parse_id(&w)))
}

pub async fn project_enable_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = auth::project_level(&app, &who, &p, Level::Delete) {
        return r;
    }
    set_project(&app, &who, &p, try_id!(lookup(&app, &c, &n)), true)
}

pub async fn project_disable_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = auth::project_level(&app, &who, &p, Level::Delete) {
        return r;
    }
    set_project(&app, &who, &p, try_id!(lookup(&app, &c, &n)), false)
}

pub async fn project_get_by_name(
    State(app): App,
    Extension(who): Who,
    Path((p, c, n)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = auth::project_level(&app, &who, &p, Level::Edit) {
        return r;
    }
    get_project(&app, &who, &p, try_id!(lookup(&app, &c, &n)))
}
