//! Preflight endpoints a client reads before writing: build info (XNAT version), installed
//! plugins (Container Service version), the caller's roles, and the project list.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use crate::auth::Identity;
use crate::reply;
use crate::state::Inner;

fn build_info(app: &Inner) -> Value {
    json!({
        "version": app.config.xnat_version,
        "buildNumber": "emulator",
        "buildDate": "2025-01-01T00:00:00Z",
        "commit": "emulator",
    })
}

/// `GET /xapi/siteConfig/buildInfo`.
pub async fn build_info_all(State(app): State<Arc<Inner>>) -> Response {
    reply::json(200, &build_info(&app))
}

/// `GET /xapi/siteConfig/buildInfo/{property}`: the bare value as text.
pub async fn build_info_property(
    State(app): State<Arc<Inner>>,
    Path(property): Path<String>,
) -> Response {
    match build_info(&app).get(&property).and_then(Value::as_str) {
        Some(v) => reply::text(200, v.to_string()),
        None => reply::empty(404),
    }
}

/// `GET /xapi/plugins`: keyed by plugin id; Container Service is `containers`.
pub async fn plugins(State(app): State<Arc<Inner>>) -> Response {
    let version = app.config.version_mode.plugin_version();
    reply::json(
        200,
        &json!({
            "containers": {
                "id": "containers",
                "name": "Container Service Plugin",
                "namespace": "org.nrg.xnatx.plugins",
                "pluginClass": "org.nrg.containers.ContainersConfig",
                "version": version,
                "beanName": "containersPlugin",
            }
        }),
    )
}

/// `GET /xapi/users/{u}/roles`: the caller's own roles only (case-sensitive), else 403.
pub async fn roles(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Path(user): Path<String>,
) -> Response {
    if user != who.user {
        return reply::empty(403);
    }
    let roles: Vec<String> = app
        .state()
        .users
        .get(&user)
        .map(|u| u.roles.clone())
        .unwrap_or_default();
    reply::json(200, &json!(roles))
}

/// Projects the caller can see: all for admins and managers, else those they have access to.
fn visible_projects(app: &Inner, who: &Identity) -> Vec<String> {
    let all =
        crate::auth::has_role(app, &who.user, "Administrator") || crate::auth::is_manager(app, who);
    app.state()
        .projects
        .iter()
        .filter(|(_, access)| all || access.contains_key(&who.user))
        .map(|(id, _)| id.clone())
        .collect()
}

/// `GET /data/projects?format=json`: the Restlet ResultSet shape.
pub async fn data_projects(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(_q): Query<HashMap<String, String>>,
) -> Response {
    let rows: Vec<Value> = visible_projects(&app, &who)
        .into_iter()
        .map(|id| {
            json!({"ID": id, "secondary_ID": id, "name": id, "description": "",
                   "pi_firstname": "", "pi_lastname": "",
                   "URI": format!("/data/projects/{id}")})
        })
        .collect();
    let total = rows.len();
    reply::json(
        200,
        &json!({"ResultSet": {"Result": rows, "totalRecords": total.to_string()}}),
    )
}
