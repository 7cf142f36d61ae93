//! Authentication (§5, §7.2): Basic with users or alias tokens, JSESSIONID sessions with a
//! per-user cap, the 401-vs-302 decision by User-Agent, the auth endpoints under `/data`
//! (including the form login `PUT /data/services/auth` and the site root that xnatpy and pyxnat
//! call at connect), alias token issue in XNAT's format, and the permission checks of §7.3
//! (manager 401/403, project level 401).

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use rand::Rng;
use serde_json::json;

use crate::config::{Level, VersionMode};
use crate::reply;
use crate::state::Inner;

pub const GUEST: &str = "guest";

/// Who is making the request; inserted into request extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    /// The session this request runs in (absent for guest).
    pub session: Option<String>,
}

impl Identity {
    pub fn is_guest(&self) -> bool {
        self.session.is_none() && self.user == GUEST
    }
}

/// XNAT's public form login (`@XnatRestlet(value = "/services/auth", secure = false)`): reached
/// without credentials even when the site requires login.
const FORM_LOGIN: &str = "/data/services/auth";

/// Paths that answer 401 (not a login redirect) to non-browser agents (XNAT's `dataPaths`).
fn is_data_path(path: &str) -> bool {
    ["/xapi", "/data", "/REST", "/fs"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// XNAT's default `interactiveAgentIds` (`.*MSIE.*`, `.*Mozilla.*`, …), as substring tests.
fn is_browser(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ["MSIE", "Mozilla", "AppleWebKit", "Opera"]
        .iter()
        .any(|m| ua.contains(m))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    // `provider/username` selects an auth provider; the emulator has one.
    let user = user.rsplit_once('/').map(|(_, u)| u).unwrap_or(user);
    Some((user.to_string(), pass.to_string()))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "JSESSIONID")
        .map(|(_, v)| v.to_string())
}

fn new_session_id() -> String {
    format!("{:032X}", rand::rng().random::<u128>())
}

/// Tomcat's session cookie path: the context path, or `/` at the root.
fn cookie_path(app: &Inner) -> &str {
    if app.base().is_empty() {
        "/"
    } else {
        app.base()
    }
}

/// The user that `name`/`secret` log in as: an enabled user with that password, or the owner of
/// the alias token `name` with that secret.
fn owner_of(st: &crate::state::State, name: &str, secret: &str) -> Option<String> {
    match st.users.get(name) {
        Some(u) if u.enabled && u.password == secret => Some(name.to_string()),
        _ => st
            .tokens
            .get(name)
            .filter(|t| t.secret == secret)
            .map(|t| t.user.clone()),
    }
}

/// Login page location (what the entry point redirects browsers to).
pub fn login_redirect(app: &Inner) -> Response {
    reply::redirect(&format!("{}/app/template/Login.vm", app.base()))
}

/// The middleware of §7.2: resolve the caller or answer 401/302 before any handler runs.
pub async fn authenticate(State(app): State<Arc<Inner>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let cookie = session_cookie(&headers);
    let mut new_session = None;
    let identity = if let Some((user, pass)) = basic_credentials(&headers) {
        let mut st = app.state();
        let owner = owner_of(&st, &user, &pass);
        let Some(owner) = owner else {
            drop(st);
            return reply::html(
                401,
                reply::error_page(401, "Login attempt failed. Please try again."),
            );
        };
        let reuse = cookie
            .as_ref()
            .filter(|c| st.sessions.get(*c) == Some(&owner))
            .cloned();
        let session = match reuse {
            Some(s) => s,
            None => {
                // "Reject new login" once the user holds the maximum number of sessions.
                if st.sessions_of(&owner) >= app.config.session_cap {
                    drop(st);
                    return reply::html(
                        401,
                        reply::error_page(401, "Maximum sessions exceeded for this user"),
                    );
                }
                let s = new_session_id();
                st.sessions.insert(s.clone(), owner.clone());
                new_session = Some(s.clone());
                s
            }
        };
        Some(Identity {
            user: owner,
            session: Some(session),
        })
    } else {
        cookie.as_ref().and_then(|c| {
            let user = app.state().sessions.get(c).cloned()?;
            Some(Identity {
                user,
                session: Some(c.clone()),
            })
        })
    };

    let identity = match identity {
        Some(i) => i,
        None if is_data_path(&path) && app.config.require_login && path != FORM_LOGIN => {
            return if is_browser(&headers) {
                login_redirect(&app)
            } else {
                reply::challenge(&app.config.site_id)
            };
        }
        None => Identity {
            user: GUEST.to_string(),
            session: None,
        },
    };

    let expired = app
        .state()
        .users
        .get(&identity.user)
        .is_some_and(|u| u.password_expired);
    if expired && is_data_path(&path) {
        return reply::redirect(&format!(
            "{}/app/template/XDATScreen_UpdateUser.vm",
            app.base()
        ));
    }

    req.extensions_mut().insert(identity);
    let mut response = next.run(req).await;
    if let Some(s) = new_session {
        // The handler may have ended the session (DELETE /data/JSESSION).
        if app.state().sessions.contains_key(&s) {
            set_session_cookie(&app, &mut response, &s);
        }
    }
    response
}

fn set_session_cookie(app: &Inner, response: &mut Response, session: &str) {
    let cookie = format!("JSESSIONID={session}; Path={}; HttpOnly", cookie_path(app));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub fn has_role(app: &Inner, user: &str, role: &str) -> bool {
    app.state()
        .users
        .get(user)
        .is_some_and(|u| u.roles.iter().any(|r| r == role))
}

/// 3.7: the `ContainerManager` role; 3.6: site administrators.
pub fn is_manager(app: &Inner, who: &Identity) -> bool {
    match app.config.version_mode {
        VersionMode::V37 => has_role(app, &who.user, "ContainerManager"),
        VersionMode::V36 => has_role(app, &who.user, "Administrator"),
    }
}

/// Controller-level check of command writes: 401 text.
pub fn manager_or_401(app: &Inner, who: &Identity) -> Result<(), Response> {
    if is_manager(app, who) {
        return Ok(());
    }
    let what = match app.config.version_mode {
        VersionMode::V37 => "a Container Manager",
        VersionMode::V36 => "an admin",
    };
    Err(reply::advice(
        401,
        &format!("User {} is not {what}.", who.user),
    ))
}

/// Aspect-level check (`restrictTo`): 403 with an empty body; the guest user gets a 401
/// challenge instead (§10.5).
pub fn manager_or_403(app: &Inner, who: &Identity) -> Result<(), Response> {
    if is_manager(app, who) {
        Ok(())
    } else if who.is_guest() {
        Err(reply::challenge(&app.config.site_id))
    } else {
        Err(reply::empty(403))
    }
}

/// `user` holds at least `level` on `project` through the project's own access list (roles
/// are the callers' business).
pub fn has_project_level(app: &Inner, user: &str, project: &str, level: Level) -> bool {
    app.state()
        .projects
        .get(project)
        .and_then(|a| a.get(user).copied())
        .is_some_and(|l| l >= level)
}

/// Project permission of the enable endpoints: managers and site admins pass, others need
/// `level` on the project. 3.7 answers 401 text; 3.6 checks in the aspect (403 empty).
pub fn project_level(
    app: &Inner,
    who: &Identity,
    project: &str,
    level: Level,
) -> Result<(), Response> {
    if is_manager(app, who) || has_role(app, &who.user, "Administrator") {
        return Ok(());
    }
    if has_project_level(app, &who.user, project, level) {
        return Ok(());
    }
    match app.config.version_mode {
        VersionMode::V37 => Err(reply::advice(
            401,
            &format!("User {} does not have {} access.", who.user, level.word()),
        )),
        VersionMode::V36 => Err(reply::empty(403)),
    }
}

/// `GET|POST|DELETE /data/JSESSION`.
pub async fn jsession(
    State(app): State<Arc<Inner>>,
    method: Method,
    axum::Extension(who): axum::Extension<Identity>,
) -> Response {
    let Some(session) = who.session else {
        return reply::challenge(&app.config.site_id);
    };
    if method == Method::DELETE {
        app.state().sessions.remove(&session);
        let mut r = reply::empty(200);
        let expire = format!(
            "JSESSIONID=; Path={}; Max-Age=0; HttpOnly",
            cookie_path(&app)
        );
        if let Ok(v) = HeaderValue::from_str(&expire) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    reply::text(200, session)
}

/// `GET /data/auth`: who am I.
pub async fn whoami(axum::Extension(who): axum::Extension<Identity>) -> Response {
    reply::text(200, format!("User '{}' is logged in", who.user))
}

/// An alias in XNAT's format: `AliasToken` uses `UUID.randomUUID().toString()`, and xnatpy
/// recognises alias logins by that pattern. Written here (a version-4 UUID from 16 random
/// bytes) rather than with the `uuid` crate: one format call does not justify a dependency.
fn new_alias() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A secret in XNAT's format: 64 random ASCII letters and digits.
fn new_secret() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(64)
        .map(char::from)
        .collect()
}

/// XNAT's default alias token lifetime (`aliasTokenTimeout`, 2 days).
const TOKEN_LIFETIME_MS: u128 = 2 * 24 * 3600 * 1000;

fn issue(app: &Inner, user: &str) -> Response {
    let alias = new_alias();
    let secret = new_secret();
    app.state().tokens.insert(
        alias.clone(),
        crate::config::Token {
            alias: alias.clone(),
            secret: secret.clone(),
            user: user.to_string(),
        },
    );
    // `estimatedExpirationTime` is a java.util.Date: epoch milliseconds in Jackson's output.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    reply::json(
        200,
        &json!({
            "alias": alias,
            "secret": secret,
            "xdatUserId": user,
            "singleUse": false,
            "enabled": true,
            "estimatedExpirationTime": now_ms + TOKEN_LIFETIME_MS,
        }),
    )
}

/// `GET /data/services/tokens/issue`.
pub async fn issue_token(
    State(app): State<Arc<Inner>>,
    axum::Extension(who): axum::Extension<Identity>,
) -> Response {
    if who.is_guest() {
        return reply::empty(403);
    }
    issue(&app, &who.user)
}

/// `GET /data/services/tokens/issue/user/{username}`: site admins only.
pub async fn issue_token_for(
    State(app): State<Arc<Inner>>,
    axum::Extension(who): axum::Extension<Identity>,
    Path(user): Path<String>,
) -> Response {
    if !has_role(&app, &who.user, "Administrator") || !app.state().users.contains_key(&user) {
        return reply::empty(403);
    }
    issue(&app, &user)
}

/// `GET /data/services/tokens/invalidate/{alias}/{secret}`.
pub async fn invalidate_token(
    State(app): State<Arc<Inner>>,
    Path((alias, secret)): Path<(String, String)>,
) -> Response {
    let mut st = app.state();
    if st.tokens.get(&alias).is_some_and(|t| t.secret == secret) {
        st.tokens.remove(&alias);
        reply::empty(200)
    } else {
        reply::empty(404)
    }
}

/// `GET /app/template/Login.vm`: the HTML a redirect-following client ends up with.
pub async fn login_page(State(app): State<Arc<Inner>>) -> Response {
    reply::html(
        200,
        format!(
            "<!DOCTYPE html><html><head><title>XNAT -- Login</title></head><body>\
             <form name=\"form1\" method=\"post\" action=\"{}/login\">\
             <input type=\"text\" name=\"username\"/><input type=\"password\" name=\"password\"/>\
             <button type=\"submit\">Login</button></form></body></html>",
            app.base()
        ),
    )
}

/// `GET /app/template/XDATScreen_UpdateUser.vm`: the expired-password page.
pub async fn expired_page() -> Response {
    reply::html(
        200,
        "<!DOCTYPE html><html><head><title>XNAT</title></head><body>\
         <p>Your password has expired. Please choose a new password.</p></body></html>"
            .to_string(),
    )
}

/// The status page XNAT's Restlet 1.1 writes for an error status set by a `/data` resource
/// (`<h3>` holds the description; xnatpy shows that text in its login error).
fn restlet_status_page(code: u16, description: &str) -> Response {
    let section = match code {
        400 => "sec10.4.1",
        401 => "sec10.4.2",
        _ => "sec10.4",
    };
    reply::html(
        code,
        format!(
            "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n<h3>{description}</h3>\
             <p>You can get technical details <a href=\"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#{section}\">here</a>.<br>\n\
             Please continue your visit at our <a href=\"/\">home page</a>.\n</p>\n</body>\n</html>\n"
        ),
    )
}

/// The credentials of a form login body, read as XNAT's `AuthenticationRestlet` reads them:
/// `username`/`j_username` and `password`/`j_password`, URL-decoded; other fields ignored.
fn form_credentials(body: &[u8]) -> (String, String) {
    let mut user = String::new();
    let mut pass = String::new();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "username" | "j_username" => user = v.into_owned(),
            "password" | "j_password" => pass = v.into_owned(),
            _ => {}
        }
    }
    (user, pass)
}

/// `PUT|POST /data/services/auth`: form login. 200 `text/plain` with the new session id (and
/// its cookie), or 401 with Restlet's status page "Authentication failed.".
pub async fn form_login(State(app): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let (user, pass) = form_credentials(&body);
    let failed = || restlet_status_page(401, "Authentication failed.");
    if app.config.require_login && (user.trim().is_empty() || pass.trim().is_empty()) {
        return failed();
    }
    let session = {
        let mut st = app.state();
        let Some(owner) = owner_of(&st, &user, &pass) else {
            return failed();
        };
        if st.sessions_of(&owner) >= app.config.session_cap {
            return failed();
        }
        let s = new_session_id();
        st.sessions.insert(s.clone(), owner);
        s
    };
    let mut r = reply::text(200, session.clone());
    set_session_cookie(&app, &mut r, &session);
    r
}

/// `GET /`: the site's start page. Anonymous callers of a site that requires login are sent to
/// the login page; others get a page naming them the way XNAT's header does (xnatpy reads
/// `<span id="user_info">` to learn who it is logged in as).
pub async fn site_root(
    State(app): State<Arc<Inner>>,
    axum::Extension(who): axum::Extension<Identity>,
) -> Response {
    if who.is_guest() && app.config.require_login {
        return login_redirect(&app);
    }
    let user_info = if who.is_guest() {
        "<span id=\"user_info\">Logged in as: <span style=\"color:red;\">Guest</span></span>"
            .to_string()
    } else {
        format!(
            "<span id=\"user_info\">Logged in as: &nbsp;<a id=\"username-link\" \
             href=\"{}/app/template/XDATScreen_UpdateUser.vm\">{}</a></span>",
            app.base(),
            who.user
        )
    };
    reply::html(
        200,
        format!(
            "<!DOCTYPE html><html><head><title>XNAT</title></head><body>{user_info}</body></html>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_credentials_are_read_as_xnat_reads_them() {
        let cases: &[(&str, (&str, &str))] = &[
            ("username=admin&password=admin", ("admin", "admin")),
            ("j_username=a&j_password=b", ("a", "b")),
            ("username=a%40b&password=p%26q+r", ("a@b", "p&q r")),
            ("password=x&username=u&provider=localdb", ("u", "x")),
            ("username&password=p", ("", "p")),
            ("", ("", "")),
        ];
        for (body, (user, pass)) in cases {
            let (u, p) = form_credentials(body.as_bytes());
            assert_eq!((u.as_str(), p.as_str()), (*user, *pass), "{body}");
        }
    }

    #[test]
    fn aliases_and_secrets_have_xnat_formats() {
        let alias = new_alias();
        let groups: Vec<usize> = alias.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{alias}");
        assert_eq!(&alias[14..15], "4", "version 4: {alias}");
        assert!("89ab".contains(&alias[19..20]), "variant: {alias}");
        let secret = new_secret();
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_alias(), alias);
    }
}
