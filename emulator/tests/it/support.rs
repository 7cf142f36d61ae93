//! Shared test harness: start an emulator, build requests as a given user, read answers.

use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use xnat_emulator::{Config, Running};

pub const ADMIN: (&str, &str) = ("admin", "admin");
/// A site administrator without the ContainerManager role.
pub const SITEADMIN: (&str, &str) = ("siteadmin", "siteadmin");
pub const OWNER: (&str, &str) = ("owner", "owner");
pub const MEMBER: (&str, &str) = ("member", "member");

pub struct Emu {
    pub running: Running,
    pub http: reqwest::Client,
}

/// A status and the body as text (XNAT's error bodies are text even when labelled JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl Emu {
    pub async fn start(mut config: Config) -> Emu {
        config.test_hooks = true;
        let running = xnat_emulator::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("emulator starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Emu { running, http }
    }

    pub async fn default() -> Emu {
        Emu::start(Config::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url())
    }

    pub fn req(&self, method: Method, path: &str, user: Option<(&str, &str)>) -> RequestBuilder {
        let b = self.http.request(method, self.url(path));
        match user {
            Some((u, p)) => b.basic_auth(u, Some(p)),
            None => b,
        }
    }

    pub async fn send(&self, b: RequestBuilder) -> Answer {
        let r = b.send().await.expect("request reaches the emulator");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await.unwrap();
        Answer {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: Method, path: &str, user: (&str, &str)) -> Answer {
        self.send(self.req(method, path, Some(user))).await
    }

    pub async fn post_json(&self, path: &str, user: (&str, &str), body: &Value) -> Answer {
        self.send(
            self.req(Method::POST, path, Some(user))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// `POST /xapi/commands` as admin; returns the answer.
    pub async fn create(&self, body: &Value) -> Answer {
        self.post_json("/xapi/commands", ADMIN, body).await
    }

    /// Create as admin, expecting 201; returns the command id.
    pub async fn create_ok(&self, body: &Value) -> u64 {
        let a = self.create(body).await;
        assert_eq!(a.status, 201, "create failed: {}", a.body);
        a.body.parse().expect("bare id")
    }

    pub async fn get_command(&self, id: u64) -> Value {
        let a = self
            .call(Method::GET, &format!("/xapi/commands/{id}"), ADMIN)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    }

    /// Wrapper ids by name from GET.
    pub async fn wrapper_ids(&self, id: u64) -> Vec<(String, u64)> {
        self.get_command(id).await["xnat"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["name"].as_str().unwrap().to_string(),
                    w["id"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

/// The minimal command of spec §2.8.
pub fn hello() -> Value {
    json!({
        "name": "hello", "image": "busybox", "command-line": "echo hi",
        "xnat": [{"name": "hello-project", "contexts": ["xnat:projectData"],
                  "external-inputs": [{"name": "project", "type": "Project"}]}]
    })
}

pub use xnat_cmd_testkit::corpus::{corpus_dir, skip_without_corpus};
