//! docker `config.json` / podman `auth.json` / Kubernetes pull-secret contents and the lookup
//! of one registry in them (`credHelpers` > `auths` > `credsStore`).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::{Credential, CredentialError, Found, Helpers};
use crate::reference::{DOCKER_HUB, DOCKER_HUB_AUTH_KEY};
use crate::secret::Secret;

#[derive(Clone, Default, Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Clone, Default, Deserialize)]
struct RawEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

/// One parsed credentials document and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    origin: String,
    auths: Vec<(String, Credential)>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
    /// podman semantics: keys may name a namespace (`host/org`), most specific wins.
    pub(super) podman: bool,
}

/// YAML aliases are refused before serde_norway reads the text: it expands an alias by
/// copying, and its repetition limit counts nodes, not bytes — one 1 MiB scalar aliased 3,000
/// times took 3 GB. A credentials file (JSON, or a Kubernetes Secret manifest) has no use for
/// them. One pass of yaml-rust2's event parser, which stops at the first alias; a syntax error
/// is left for serde_norway to report with its own message.
fn refuse_aliases(text: &str, origin: &str) -> Result<(), CredentialError> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::Alias(_), _)) => {
                return Err(CredentialError::Malformed {
                    origin: origin.to_string(),
                    what: "it uses a YAML alias (`*name`), which a credentials file has no use for"
                        .to_string(),
                })
            }
            Ok((Event::StreamEnd, _)) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

impl AuthConfig {
    /// A config.json-shaped document (JSON; YAML accepted as its superset).
    pub fn parse(text: &str, origin: &str) -> Result<Self, CredentialError> {
        refuse_aliases(text, origin)?;
        let raw: RawConfig =
            serde_norway::from_str(text).map_err(|source| CredentialError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        Self::from_raw(raw, origin)
    }

    /// A Kubernetes image pull secret: the `.dockerconfigjson` content itself, or the Secret
    /// manifest (JSON or YAML) with `data[".dockerconfigjson"]` (base64) or `stringData`.
    pub fn parse_pull_secret(text: &str, origin: &str) -> Result<Self, CredentialError> {
        refuse_aliases(text, origin)?;
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|source| CredentialError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        let malformed = |what: &str| CredentialError::Malformed {
            origin: origin.to_string(),
            what: what.to_string(),
        };
        if value.get("kind").and_then(|k| k.as_str()) == Some("Secret") {
            const KEY: &str = ".dockerconfigjson";
            if let Some(s) = value
                .get("stringData")
                .and_then(|d| d.get(KEY))
                .and_then(|v| v.as_str())
            {
                return Self::parse(s, origin);
            }
            let encoded = value
                .get("data")
                .and_then(|d| d.get(KEY))
                .and_then(|v| v.as_str())
                .ok_or_else(|| malformed("the Secret has no `data.\".dockerconfigjson\"`"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| malformed("`data.\".dockerconfigjson\"` is not base64"))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| malformed("`.dockerconfigjson` is not UTF-8"))?;
            return Self::parse(&text, origin);
        }
        let raw: RawConfig =
            serde_norway::from_value(value).map_err(|source| CredentialError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        Self::from_raw(raw, origin)
    }

    fn from_raw(raw: RawConfig, origin: &str) -> Result<Self, CredentialError> {
        let mut auths = vec![];
        for (key, e) in raw.auths {
            let malformed = |what: &str| CredentialError::Malformed {
                origin: origin.to_string(),
                what: format!("auths `{key}`: {what}"),
            };
            let cred = if let Some(t) = e.identitytoken.filter(|t| !t.is_empty()) {
                Credential::IdentityToken(Secret::new(t))
            } else if let Some(t) = e.registrytoken.filter(|t| !t.is_empty()) {
                Credential::RegistryToken(Secret::new(t))
            } else if let Some(a) = e.auth.filter(|a| !a.is_empty()) {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map_err(|_| malformed("`auth` is not base64"))?;
                let text =
                    String::from_utf8(bytes).map_err(|_| malformed("`auth` is not UTF-8"))?;
                let (u, p) = text
                    .split_once(':')
                    .ok_or_else(|| malformed("`auth` is not base64 of USER:PASSWORD"))?;
                Credential::Basic {
                    username: u.to_string(),
                    password: Secret::new(p),
                }
            } else if let (Some(u), Some(p)) = (e.username, e.password) {
                Credential::Basic {
                    username: u,
                    password: Secret::new(p),
                }
            } else {
                // `{}` entries are what docker writes when a credsStore holds the secret.
                continue;
            };
            auths.push((key, cred));
        }
        Ok(AuthConfig {
            origin: origin.to_string(),
            auths,
            cred_helpers: raw.cred_helpers,
            creds_store: raw.creds_store.filter(|s| !s.is_empty()),
            podman: false,
        })
    }

    /// The credential for `registry` in this document; `helpers` runs the helpers it names.
    pub async fn lookup(
        &self,
        registry: &str,
        repository: &str,
        helpers: &Helpers,
    ) -> Result<Option<Found>, CredentialError> {
        let want = canonical_host(registry);
        if let Some((key, h)) = self
            .cred_helpers
            .iter()
            .find(|(k, _)| normalise_key(k) == want)
        {
            let found = helpers.get(h, &helper_server(registry)).await?;
            return Ok(found.map(|credential| Found {
                credential,
                provider: format!(
                    "{} credHelpers `{key}` (docker-credential-{h})",
                    self.origin
                ),
            }));
        }
        // Most specific key first: `host/org/repo`, `host/org`, `host`.
        let full = format!("{want}/{repository}");
        let best = self
            .auths
            .iter()
            .filter(|(k, _)| {
                let k = normalise_key(k);
                k == want
                    || (self.podman
                        && full.starts_with(&format!("{k}/"))
                        && k.starts_with(&format!("{want}/")))
            })
            .max_by_key(|(k, _)| normalise_key(k).len());
        if let Some((key, credential)) = best {
            return Ok(Some(Found {
                credential: credential.clone(),
                provider: format!("{} auths `{key}`", self.origin),
            }));
        }
        if let Some(store) = &self.creds_store {
            let found = helpers.get(store, &helper_server(registry)).await?;
            return Ok(found.map(|credential| Found {
                credential,
                provider: format!("{} credsStore (docker-credential-{store})", self.origin),
            }));
        }
        Ok(None)
    }
}

/// What docker passes to a helper on stdin.
fn helper_server(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// Docker Hub's aliases all mean `docker.io`.
fn canonical_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        h => h.to_string(),
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://h:5000/` → `h:5000`; podman's
/// `host/org` keys keep their path.
fn normalise_key(key: &str) -> String {
    let k = key
        .trim()
        .strip_prefix("https://")
        .or_else(|| key.trim().strip_prefix("http://"))
        .unwrap_or(key.trim());
    let k = k.trim_end_matches('/');
    let k = k
        .strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k);
    match k.split_once('/') {
        Some((host, path)) => format!("{}/{path}", canonical_host(host)),
        None => canonical_host(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn key_normalisation() {
        for (k, want) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("docker.io", "docker.io"),
            ("http://localhost:5000/", "localhost:5000"),
            ("https://q.io/v2/", "q.io"),
            ("q.io/org/repo", "q.io/org/repo"),
        ] {
            assert_eq!(normalise_key(k), want, "{k}");
        }
    }

    async fn credential(c: &AuthConfig, registry: &str) -> Option<Credential> {
        let found = c.lookup(registry, "x", &Helpers::default()).await.unwrap();
        found.map(|f| f.credential)
    }

    #[tokio::test]
    async fn entry_forms() {
        let text = format!(
            r#"{{"auths":{{
              "a.io":{{"auth":"{}"}},
              "b.io":{{"username":"bu","password":"bp"}},
              "c.io":{{"identitytoken":"idt"}},
              "d.io":{{}}
            }}}}"#,
            b64("au:a:p")
        );
        let c = AuthConfig::parse(&text, "test").unwrap();
        assert_eq!(
            credential(&c, "a.io").await,
            Some(Credential::Basic {
                username: "au".into(),
                password: Secret::new("a:p")
            }),
            "the password may contain a colon"
        );
        assert_eq!(
            credential(&c, "b.io").await,
            Some(Credential::Basic {
                username: "bu".into(),
                password: Secret::new("bp")
            })
        );
        assert_eq!(
            credential(&c, "c.io").await,
            Some(Credential::IdentityToken(Secret::new("idt")))
        );
        assert_eq!(
            credential(&c, "d.io").await,
            None,
            "an empty entry is not a credential"
        );
    }

    #[test]
    fn malformed_auth_names_the_key() {
        let e = AuthConfig::parse(r#"{"auths":{"a.io":{"auth":"%%%"}}}"#, "`f.json`").unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials in `f.json` are malformed: auths `a.io`: `auth` is not base64"
        );
        let e = AuthConfig::parse(
            &format!(r#"{{"auths":{{"a.io":{{"auth":"{}"}}}}}}"#, b64("nocolon")),
            "x",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("`auth` is not base64 of USER:PASSWORD"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn pull_secret_forms() {
        let inner = format!(r#"{{"auths":{{"r.io":{{"auth":"{}"}}}}}}"#, b64("ku:kp"));
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pull\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
            b64(&inner)
        );
        let json = format!(
            r#"{{"apiVersion":"v1","kind":"Secret","data":{{".dockerconfigjson":"{}"}}}}"#,
            b64(&inner)
        );
        for text in [inner.as_str(), yaml.as_str(), json.as_str()] {
            let c = AuthConfig::parse_pull_secret(text, "f").unwrap();
            let f = c
                .lookup("r.io", "x", &Helpers::default())
                .await
                .unwrap()
                .unwrap();
            assert!(
                matches!(f.credential, Credential::Basic { ref username, .. } if username == "ku"),
                "{text}"
            );
        }
        let e = AuthConfig::parse_pull_secret("kind: Secret\ndata: {}\n", "`s.yaml`").unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials in `s.yaml` are malformed: the Secret has no `data.\".dockerconfigjson\"`"
        );
    }
}
