//! Authentication: Basic (with provider prefix), alias tokens, JSESSION lifecycle, session
//! cap, 401 vs 302 by User-Agent, wrong passwords, expired passwords, guest access,
//! context path, 3.6 mode and the preflight endpoints.

use reqwest::Method;
use serde_json::json;
use xnat_emulator::{Config, Token, User, VersionMode};

use crate::support::{hello, Emu, ADMIN, OWNER, SITEADMIN};

#[tokio::test]
async fn no_credentials_is_401_challenge_for_tools_and_302_for_browsers() {
    let emu = Emu::default().await;
    let tool = emu.send(emu.req(Method::GET, "/xapi/commands", None)).await;
    assert_eq!(tool.status, 401);
    assert_eq!(
        tool.header("www-authenticate").as_deref(),
        Some("Basic realm=\"XNAT\"")
    );
    let browser = emu
        .send(
            emu.req(Method::GET, "/xapi/commands", None)
                .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        )
        .await;
    assert_eq!(browser.status, 302);
    assert_eq!(
        browser.header("location").as_deref(),
        Some("/app/template/Login.vm")
    );
    let login = emu
        .send(emu.req(Method::GET, "/app/template/Login.vm", None))
        .await;
    assert_eq!(login.status, 200);
    assert!(login.content_type.starts_with("text/html"));
    assert!(
        login.body.contains("<form name=\"form1\""),
        "{}",
        login.body
    );
}

#[tokio::test]
async fn wrong_password_is_401_html_whatever_the_agent() {
    let emu = Emu::default().await;
    for ua in ["xnat-cmd/0.1", "Mozilla/5.0"] {
        let a = emu
            .send(
                emu.req(Method::GET, "/xapi/commands", Some(("admin", "wrong")))
                    .header("user-agent", ua),
            )
            .await;
        assert_eq!(a.status, 401, "{ua}");
        assert!(a.content_type.starts_with("text/html"), "{ua}");
        assert!(a.body.contains("Login attempt failed"), "{}", a.body);
    }
}

#[tokio::test]
async fn provider_prefix_is_stripped_and_whoami_names_the_user() {
    let emu = Emu::default().await;
    let a = emu
        .call(Method::GET, "/data/auth", ("localdb/admin", "admin"))
        .await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (200, "User 'admin' is logged in")
    );
}

#[tokio::test]
async fn jsession_lifecycle_and_cookie_reuse() {
    let emu = Emu::default().await;
    let open = emu.call(Method::POST, "/data/JSESSION", ADMIN).await;
    assert_eq!(open.status, 200);
    let sid = open.body.clone();
    assert_eq!(sid.len(), 32);
    assert_eq!(
        open.header("set-cookie"),
        Some(format!("JSESSIONID={sid}; Path=/; HttpOnly"))
    );
    let cookie = format!("JSESSIONID={sid}");
    let with_cookie = emu
        .send(
            emu.req(Method::GET, "/data/auth", None)
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(with_cookie.body, "User 'admin' is logged in");
    // Basic plus a valid cookie of the same user reuses the session.
    let both = emu
        .send(
            emu.req(Method::GET, "/data/auth", Some(ADMIN))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(both.header("set-cookie"), None);
    assert_eq!(emu.running.emulator().session_count("admin"), 1);
    let close = emu
        .send(
            emu.req(Method::DELETE, "/data/JSESSION", None)
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(close.status, 200);
    assert_eq!(emu.running.emulator().session_count("admin"), 0);
    let stale = emu
        .send(
            emu.req(Method::GET, "/xapi/commands", None)
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(stale.status, 401);
}

#[tokio::test]
async fn session_cap_rejects_new_logins_even_with_the_right_password() {
    let emu = Emu::start(Config {
        session_cap: 2,
        ..Config::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(emu.call(Method::GET, "/data/auth", ADMIN).await.status, 200);
    }
    let third = emu.call(Method::GET, "/data/auth", ADMIN).await;
    assert_eq!(third.status, 401);
    assert!(third.body.contains("Maximum sessions"), "{}", third.body);
    // Other users are unaffected.
    assert_eq!(emu.call(Method::GET, "/data/auth", OWNER).await.status, 200);
}

#[tokio::test]
async fn tokens_issued_and_configured_work_as_basic_credentials() {
    let emu = Emu::start(Config {
        tokens: vec![Token {
            alias: "alias1".into(),
            secret: "s3cret".into(),
            user: "admin".into(),
        }],
        ..Config::default()
    })
    .await;
    let configured = emu
        .call(Method::GET, "/data/auth", ("alias1", "s3cret"))
        .await;
    assert_eq!(configured.body, "User 'admin' is logged in");
    let issued = emu
        .call(Method::GET, "/data/services/tokens/issue", OWNER)
        .await;
    assert_eq!(issued.status, 200);
    let t = issued.json();
    assert_eq!(t["xdatUserId"], "owner");
    let (alias, secret) = (t["alias"].as_str().unwrap(), t["secret"].as_str().unwrap());
    let via = emu.call(Method::GET, "/data/auth", (alias, secret)).await;
    assert_eq!(via.body, "User 'owner' is logged in");
    let bad = emu.call(Method::GET, "/data/auth", (alias, "nope")).await;
    assert_eq!(bad.status, 401);
    let inv = emu
        .call(
            Method::GET,
            &format!("/data/services/tokens/invalidate/{alias}/{secret}"),
            OWNER,
        )
        .await;
    assert_eq!(inv.status, 200);
    assert_eq!(
        emu.call(Method::GET, "/data/auth", (alias, secret))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn guest_without_login_required_reads_but_cannot_write() {
    let emu = Emu::start(Config {
        require_login: false,
        ..Config::default()
    })
    .await;
    let list = emu.send(emu.req(Method::GET, "/xapi/commands", None)).await;
    assert_eq!((list.status, list.body.as_str()), (200, "[]"));
    let create = emu
        .send(
            emu.req(Method::POST, "/xapi/commands", None)
                .header("content-type", "application/json")
                .body(hello().to_string()),
        )
        .await;
    assert_eq!(
        (create.status, create.body.as_str()),
        (
            401,
            "There was an error in the request : User guest is not a Container Manager."
        )
    );
    let enable = emu
        .send(emu.req(Method::PUT, "/xapi/wrappers/1/enabled", None))
        .await;
    assert_eq!(enable.status, 401);
    assert!(enable.header("www-authenticate").is_some());
    let token = emu
        .send(emu.req(Method::GET, "/data/services/tokens/issue", None))
        .await;
    assert_eq!(token.status, 403);
}

#[tokio::test]
async fn expired_password_redirects_to_the_change_password_page() {
    let mut user = User::new("old", "pw", &["ContainerManager"]);
    user.password_expired = true;
    let mut config = Config::default();
    config.users.push(user);
    let emu = Emu::start(config).await;
    let a = emu.call(Method::GET, "/xapi/commands", ("old", "pw")).await;
    assert_eq!(a.status, 302);
    assert_eq!(
        a.header("location").as_deref(),
        Some("/app/template/XDATScreen_UpdateUser.vm")
    );
}

#[tokio::test]
async fn context_path_prefixes_every_url() {
    let emu = Emu::start(Config {
        context_path: "/xnat".into(),
        ..Config::default()
    })
    .await;
    assert!(
        emu.running.url().ends_with("/xnat"),
        "{}",
        emu.running.url()
    );
    assert_eq!(emu.create_ok(&hello()).await, 1);
    let root = emu
        .http
        .get(format!("http://{}/xapi/commands", emu.running.addr()))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status().as_u16(), 404);
    let browser = emu
        .send(
            emu.req(Method::GET, "/xapi/commands", None)
                .header("user-agent", "Mozilla/5.0"),
        )
        .await;
    assert_eq!(
        browser.header("location").as_deref(),
        Some("/xnat/app/template/Login.vm")
    );
    let session = emu.call(Method::GET, "/data/JSESSION", ADMIN).await;
    assert!(
        session
            .header("set-cookie")
            .unwrap()
            .contains("Path=/xnat;"),
        "{:?}",
        session.header("set-cookie")
    );
}

#[tokio::test]
async fn mode_36_lets_site_admins_install_and_hides_visibility() {
    let emu = Emu::start(Config {
        version_mode: VersionMode::V36,
        ..Config::default()
    })
    .await;
    let a = emu.post_json("/xapi/commands", SITEADMIN, &hello()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let got = emu
        .call(Method::GET, "/xapi/commands/1", SITEADMIN)
        .await
        .json();
    assert_eq!(got.get("visibility"), None);
    let owner = emu.post_json("/xapi/commands", OWNER, &hello()).await;
    assert_eq!(
        owner.body,
        "There was an error in the request : User owner is not an admin."
    );
    let plugins = emu.call(Method::GET, "/xapi/plugins", ADMIN).await.json();
    assert_eq!(plugins["containers"]["version"], "3.6.3");
}

#[tokio::test]
async fn preflight_endpoints() {
    let emu = Emu::default().await;
    let build = emu
        .call(Method::GET, "/xapi/siteConfig/buildInfo", ADMIN)
        .await
        .json();
    assert_eq!(build["version"], "1.9.2");
    let version = emu
        .call(Method::GET, "/xapi/siteConfig/buildInfo/version", ADMIN)
        .await;
    assert_eq!(version.body, "1.9.2");
    let plugins = emu.call(Method::GET, "/xapi/plugins", ADMIN).await.json();
    assert_eq!(plugins["containers"]["version"], "3.7.3");
    let roles = emu
        .call(Method::GET, "/xapi/users/admin/roles", ADMIN)
        .await;
    assert_eq!(roles.json(), json!(["Administrator", "ContainerManager"]));
    let other = emu
        .call(Method::GET, "/xapi/users/admin/roles", OWNER)
        .await;
    assert_eq!(other.status, 403);
    let case = emu
        .call(Method::GET, "/xapi/users/Admin/roles", ADMIN)
        .await;
    assert_eq!(case.status, 403);
    let save = emu
        .call(
            Method::POST,
            "/xapi/docker/images/save?image=busybox:1",
            ADMIN,
        )
        .await;
    assert_eq!(
        (save.status, save.body.as_str()),
        (424, "Set up Docker server before using this REST endpoint.")
    );
    let projects = emu
        .call(Method::GET, "/data/projects?format=json", OWNER)
        .await
        .json();
    assert_eq!(projects["ResultSet"]["Result"][0]["ID"], "DEMO");
    let none = emu
        .call(Method::GET, "/data/projects?format=json", SITEADMIN)
        .await
        .json();
    assert_eq!(none["ResultSet"]["Result"].as_array().unwrap().len(), 1);
}
