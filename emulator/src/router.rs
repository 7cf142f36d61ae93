//! The axum router: every XNAT path the emulator serves, the test hooks, and the middleware
//! order (fault injection + log outermost, then authentication), nested under the context path.

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::state::Inner;
use crate::{auth, available, commands, docker, enablement as en, faults, info, reply};
use crate::{wrapper_config as wc, wrappers};

pub fn build(app: Arc<Inner>) -> Router {
    let mut xnat = Router::new()
        .route("/xapi/commands", get(commands::list).post(commands::create))
        .route(
            "/xapi/commands/{id}",
            get(commands::get)
                .post(commands::update)
                .delete(commands::delete),
        )
        .route("/xapi/wrappers/{w}", delete(commands::delete_wrapper))
        .route(
            "/xapi/wrappers/{w}/enabled",
            get(en::site_get).put(en::site_enable),
        )
        .route("/xapi/wrappers/{w}/disabled", put(en::site_disable))
        .route("/xapi/wrappers/{w}/projects", get(en::projects_of))
        .route(
            "/xapi/commands/{c}/wrappers/{n}/enabled",
            get(en::site_get_by_name).put(en::site_enable_by_name),
        )
        .route(
            "/xapi/commands/{c}/wrappers/{n}/disabled",
            put(en::site_disable_by_name),
        )
        .route(
            "/xapi/projects/{p}/wrappers/{w}/enabled",
            get(en::project_get).put(en::project_enable),
        )
        .route(
            "/xapi/projects/{p}/wrappers/{w}/disabled",
            put(en::project_disable),
        )
        .route(
            "/xapi/projects/{p}/commands/{c}/wrappers/{n}/enabled",
            get(en::project_get_by_name).put(en::project_enable_by_name),
        )
        .route(
            "/xapi/projects/{p}/commands/{c}/wrappers/{n}/disabled",
            put(en::project_disable_by_name),
        )
        // -- Command API beyond CRUD and enablement (issue 11 item 2): wrappers, wrapper
        // configuration, visibility, available commands, label import.
        .route("/xapi/commands/{c}/wrappers", post(wrappers::add))
        .route("/xapi/commands/{c}/wrappers/{n}", post(wrappers::update))
        .route(
            "/xapi/command/{c}/visibility/{v}",
            post(wrappers::set_visibility),
        )
        .route(
            "/xapi/wrappers/{w}/config",
            post(wc::site_post)
                .get(wc::site_get)
                .delete(wc::site_delete),
        )
        .route(
            "/xapi/commands/{c}/wrappers/{n}/config",
            post(wc::site_post_by_name)
                .get(wc::site_get_by_name)
                .delete(wc::site_delete_by_name),
        )
        .route(
            "/xapi/projects/{p}/wrappers/{w}/config",
            post(wc::project_post)
                .get(wc::project_get)
                .delete(wc::project_delete),
        )
        .route(
            "/xapi/projects/{p}/commands/{c}/wrappers/{n}/config",
            post(wc::project_post_by_name)
                .get(wc::project_get_by_name)
                .delete(wc::project_delete_by_name),
        )
        .route("/xapi/commands/available", get(available::by_query))
        .route("/xapi/commands/available/site", get(available::site))
        .route(
            "/xapi/projects/{p}/commands/available",
            get(available::by_project),
        )
        .route(
            "/xapi/docker/images/save",
            post(docker::save).get(docker::save_get),
        )
        // -- end of issue 11 item 2 routes
        .route("/xapi/siteConfig/buildInfo", get(info::build_info_all))
        .route(
            "/xapi/siteConfig/buildInfo/{property}",
            get(info::build_info_property),
        )
        .route("/xapi/plugins", get(info::plugins))
        .route("/xapi/users/{u}/roles", get(info::roles))
        .route("/data/projects", get(info::data_projects))
        .route(
            "/data/JSESSION",
            get(auth::jsession)
                .post(auth::jsession)
                .delete(auth::jsession),
        )
        .route("/data/auth", get(auth::whoami))
        .route("/data/services/tokens/issue", get(auth::issue_token))
        .route(
            "/data/services/tokens/issue/user/{u}",
            get(auth::issue_token_for),
        )
        .route(
            "/data/services/tokens/invalidate/{alias}/{secret}",
            get(auth::invalidate_token),
        )
        // What xnatpy's `connect()` and pyxnat's `Interface` call at connect and disconnect
        // (besides /data/JSESSION and /data/auth above): the site root and the form login.
        .route("/", get(auth::site_root))
        .route(
            "/data/services/auth",
            put(auth::form_login).post(auth::form_login),
        )
        .route("/app/template/Login.vm", get(auth::login_page))
        .route(
            "/app/template/XDATScreen_UpdateUser.vm",
            get(auth::expired_page),
        )
        // Unknown paths still pass through authentication, as on XNAT.
        .fallback(|| async { reply::empty(404) })
        .layer(from_fn_with_state(Arc::clone(&app), auth::authenticate));
    if app.config.test_hooks {
        let hooks = Router::new()
            .route("/log", get(faults::log))
            .route("/counters", get(faults::counters))
            .route("/reset", post(faults::reset))
            .route("/state", get(faults::state))
            .route("/faults", get(faults::get_faults).put(faults::put_faults));
        xnat = xnat.nest(faults::HOOKS, hooks);
    }
    let xnat = xnat
        .layer(from_fn_with_state(Arc::clone(&app), faults::record))
        .with_state(Arc::clone(&app));
    let ctx = app.config.context_path.as_str();
    if ctx.is_empty() {
        xnat
    } else {
        Router::new().nest(ctx, xnat)
    }
}
