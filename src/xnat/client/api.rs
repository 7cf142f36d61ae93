//! The calls xnat-cmd makes to XNAT, one method each (`/data/auth`, the build and plugin
//! information, roles, projects, commands and wrapper enablement), and the checks of their
//! answers' shapes: a wrong answer is a typed [`XnatError::BadBody`], never read as "none" or
//! "disabled" (which would make a run write). Each call is one request through
//! [`XnatClient::send`]; a create looks before it sends again ([`Repeat::LookFirst`]).

use reqwest::Method;
use serde_json::Value;

use super::exchange::{Attempt, Request, Tries};
use super::{one_line, redact_url, seg, XnatClient, XnatError};
use crate::http::Repeat;

impl XnatClient {
    /// A GET answer of the wrong shape.
    fn unexpected(&self, path: &str, reason: &str) -> XnatError {
        XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url(path)),
            reason: reason.to_string(),
        }
    }

    fn expect(&self, path: &str, ok: bool, reason: &str) -> Result<(), XnatError> {
        if ok {
            Ok(())
        } else {
            Err(self.unexpected(path, reason))
        }
    }

    // ---- info / preflight -------------------------------------------------------------

    /// `GET /data/auth` → the real user name (an alias token's owner, for instance).
    pub async fn whoami(&self) -> Result<String, XnatError> {
        let (_, text) = self.send(&Request::new(Method::GET, "data/auth")).await?;
        let name = text
            .trim()
            .strip_prefix("User '")
            .and_then(|r| r.split_once('\''))
            .map(|(n, _)| n.to_string());
        name.ok_or_else(|| XnatError::BadBody {
            method: "GET".into(),
            url: redact_url(&self.url("data/auth")),
            reason: format!(
                "expected `User '<name>' is logged in`, got `{}`",
                one_line(&text)
            ),
        })
    }

    /// XNAT's version from `/xapi/siteConfig/buildInfo`, when it says.
    pub async fn xnat_version(&self) -> Result<Option<String>, XnatError> {
        let path = "xapi/siteConfig/buildInfo";
        let v = self.get_json(path, &[]).await?;
        self.expect(path, v.is_object(), "expected a JSON object")?;
        Ok(v.get("version").and_then(Value::as_str).map(str::to_string))
    }

    /// The Container Service plugin's entry in `/xapi/plugins`, if installed.
    pub async fn container_service_version(&self) -> Result<Option<String>, XnatError> {
        let v = self.get_json("xapi/plugins", &[]).await?;
        self.expect("xapi/plugins", v.is_object(), "expected a JSON object")?;
        Ok(v.get("containers").map(|p| {
            p.get("version")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string()
        }))
    }

    pub async fn roles(&self, user: &str) -> Result<Vec<String>, XnatError> {
        let path = format!("xapi/users/{}/roles", seg(user));
        let v = self.get_json(&path, &[]).await?;
        self.expect(&path, v.is_array(), "expected a JSON list of roles")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Project ids visible to the user (`GET /data/projects?format=json`).
    pub async fn projects(&self) -> Result<Vec<String>, XnatError> {
        let v = self
            .get_json("data/projects", &[("format", "json")])
            .await?;
        let listed = v.pointer("/ResultSet/Result").is_some_and(Value::is_array);
        self.expect(
            "data/projects",
            listed,
            "expected `{\"ResultSet\":{\"Result\":[...]}}`",
        )?;
        Ok(v.pointer("/ResultSet/Result")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("ID").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    // ---- commands ---------------------------------------------------------------------

    pub async fn list_commands(&self) -> Result<Vec<Value>, XnatError> {
        let v = self.get_json("xapi/commands", &[]).await?;
        match v {
            Value::Array(a) => match crate::xnat::listing::shape_problem(&a) {
                None => Ok(a),
                Some(reason) => Err(XnatError::BadBody {
                    method: "GET".into(),
                    url: redact_url(&self.url("xapi/commands")),
                    reason,
                }),
            },
            _ => Err(XnatError::BadBody {
                method: "GET".into(),
                url: redact_url(&self.url("xapi/commands")),
                reason: "expected a JSON list of commands".into(),
            }),
        }
    }

    pub async fn get_command(&self, id: i64) -> Result<Value, XnatError> {
        self.get_json(&format!("xapi/commands/{id}"), &[]).await
    }

    /// `POST /xapi/commands?image=…` → the new id. A create is not simply sent again: when a
    /// try fails in a way another may fix ([`Repeat::LookFirst`]: a reset, a cut-off answer, a
    /// transient 5xx, a 429), the earlier try may have created the command before its answer
    /// was lost, so the list is read first and a command of this name and image found there is
    /// the one created.
    pub async fn create_command(&self, command: &Value, image: &str) -> Result<i64, XnatError> {
        let name = command.get("name").and_then(Value::as_str);
        let query = [("image", image)];
        let req = Request::new(Method::POST, "xapi/commands")
            .query(&query)
            .json(command);
        let mut tries = Tries::default();
        loop {
            match self.attempt(&req, Repeat::LookFirst, &mut tries).await {
                Attempt::Done(answer) => {
                    let (_, text) = answer?;
                    return text.trim().parse().map_err(|_| XnatError::BadBody {
                        method: "POST".into(),
                        url: redact_url(&self.url("xapi/commands")),
                        reason: format!("expected the new command id, got `{}`", one_line(&text)),
                    });
                }
                Attempt::Again { wait, after } => {
                    self.wait(&req, &mut tries, wait, &after).await;
                }
            }
            if let Some(id) = self.find_command(name, image).await? {
                tracing::debug!(id, "the lost create had happened: command found");
                return Ok(id);
            }
        }
    }

    /// The id of the installed command named `name` with exactly `image`, if one is.
    async fn find_command(
        &self,
        name: Option<&str>,
        image: &str,
    ) -> Result<Option<i64>, XnatError> {
        let Some(name) = name else {
            return Ok(None);
        };
        Ok(self.list_commands().await?.iter().find_map(|c| {
            let same = c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("image").and_then(Value::as_str) == Some(image);
            same.then(|| crate::command::CommandView::new(c).id())
                .flatten()
        }))
    }

    /// `POST /xapi/commands/{id}`: update in place (children merged by name by XNAT). Sending
    /// the same update twice leaves the same command, so it is retried like a PUT.
    pub async fn update_command(&self, id: i64, command: &Value) -> Result<(), XnatError> {
        let path = format!("xapi/commands/{id}");
        self.send_retrying(&Request::new(Method::POST, &path).json(command))
            .await
            .map(|_| ())
    }

    pub async fn delete_command(&self, id: i64) -> Result<(), XnatError> {
        let path = format!("xapi/commands/{id}");
        self.send(&Request::new(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    // ---- enablement -------------------------------------------------------------------

    pub async fn site_enabled(&self, wrapper_id: i64) -> Result<bool, XnatError> {
        let path = format!("xapi/wrappers/{wrapper_id}/enabled");
        let v = self.get_json(&path, &[]).await?;
        // A wrong answer read as "disabled" would make us write an enablement.
        v.as_bool()
            .ok_or_else(|| self.unexpected(&path, "expected true or false"))
    }

    pub async fn set_site_enabled(&self, wrapper_id: i64, enabled: bool) -> Result<(), XnatError> {
        let what = if enabled { "enabled" } else { "disabled" };
        let path = format!("xapi/wrappers/{wrapper_id}/{what}");
        self.send(&Request::new(Method::PUT, &path).query(&[("reason", "xnat-cmd")]))
            .await
            .map(|_| ())
    }

    /// Projects whose own record enables the wrapper (the site flag is not consulted).
    pub async fn wrapper_projects(&self, wrapper_id: i64) -> Result<Vec<String>, XnatError> {
        let path = format!("xapi/wrappers/{wrapper_id}/projects");
        let v = self.get_json(&path, &[]).await?;
        self.expect(&path, v.is_array(), "expected a JSON list of project ids")?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /xapi/commands/available/site?xsiType=T`: a summary of every wrapper whose contexts
    /// match `T`, each with `wrapper-id` and `enabled` = the site flag (the same
    /// `isEnabledForSite` as [`Self::site_enabled`]; see docs/design/xnat-bulk-reads.md).
    pub async fn available_site(&self, xsi_type: &str) -> Result<Vec<Value>, XnatError> {
        let path = "xapi/commands/available/site";
        let v = self.get_json(path, &[("xsiType", xsi_type)]).await?;
        match v {
            Value::Array(a) => Ok(a),
            _ => Err(self.unexpected(path, "expected a JSON list of wrapper summaries")),
        }
    }

    /// `GET /xapi/projects/{p}/commands/available?xsiType=T`: the wrappers matching `T` that
    /// XNAT offers in project `p`, each with `enabled` = effective enablement there (as
    /// [`Self::project_enabled`]'s second flag). XNAT leaves some wrappers out (no external
    /// input, permissions), so a wrapper not listed is unknown, not disabled.
    pub async fn available_in_project(
        &self,
        project: &str,
        xsi_type: &str,
    ) -> Result<Vec<Value>, XnatError> {
        let path = format!("xapi/projects/{}/commands/available", seg(project));
        let v = self.get_json(&path, &[("xsiType", xsi_type)]).await?;
        match v {
            Value::Array(a) => Ok(a),
            _ => Err(self.unexpected(&path, "expected a JSON list of wrapper summaries")),
        }
    }

    /// `(enabled-for-site, enabled-for-project)` of a wrapper in a project.
    pub async fn project_enabled(
        &self,
        project: &str,
        wrapper_id: i64,
    ) -> Result<(bool, bool), XnatError> {
        let v = self
            .get_json(
                &format!(
                    "xapi/projects/{}/wrappers/{wrapper_id}/enabled",
                    seg(project)
                ),
                &[],
            )
            .await?;
        // A wrong answer read as "disabled" would make us write an enablement.
        let flag = |k: &str| {
            v.get(k).and_then(Value::as_bool).ok_or_else(|| {
                self.unexpected(
                    &format!(
                        "xapi/projects/{}/wrappers/{wrapper_id}/enabled",
                        seg(project)
                    ),
                    &format!("expected an object with a true or false `{k}`"),
                )
            })
        };
        Ok((flag("enabled-for-site")?, flag("enabled-for-project")?))
    }

    pub async fn set_project_enabled(
        &self,
        project: &str,
        wrapper_id: i64,
        enabled: bool,
    ) -> Result<(), XnatError> {
        let what = if enabled { "enabled" } else { "disabled" };
        let path = format!(
            "xapi/projects/{}/wrappers/{wrapper_id}/{what}",
            seg(project)
        );
        self.send(&Request::new(Method::PUT, &path).query(&[("reason", "xnat-cmd")]))
            .await
            .map(|_| ())
    }
}
