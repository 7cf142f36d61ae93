//! Label import, `POST /xapi/docker/images/save?image=X` (§1.4, §4, §7.6), and its GET twin.
//!
//! With the Kubernetes backend (default) XNAT cannot inspect images: 424
//! `Set up Docker server before using this REST endpoint.` With the Docker backend the
//! "Docker server" is the emulator's image table (`--image REF=FILE`): the image is looked up
//! as Docker would (an untagged name finds `:latest`; unknown → 404), its `org.nrg.commands`
//! label is parsed by the library's label parser, and each command is created as
//! `CommandServiceImpl.save` does — creation form, `image` set to X *verbatim* (no `:latest`,
//! so an untagged X fails validation), `hash` = the image id — skipping commands that fail
//! validation or duplicate a stored one. 200 with the JSON array of the created commands.
//! A label XNAT's reader rejects (malformed, a lone object instead of a list) saves nothing:
//! 200 `[]`. An output or handler without a name crashes inside `validate()` (500), after the
//! commands before it were saved; an unknown `type` is only a validation failure (skipped).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::Value;
use xnat_cmd::command::normalize::normalize;
use xnat_cmd::{Digest, Form};

use crate::auth::{self, Identity};
use crate::commands::{insert_new, is_duplicate, pre_validation_crash, render, validation_failure};
use crate::config::{Backend, LabelledImage};
use crate::reply;
use crate::state::Inner;

const NO_DOCKER: &str = "Set up Docker server before using this REST endpoint.";

/// Docker's name resolution, as far as the image table needs it: exact, or `:latest` added.
fn find<'a>(images: &'a [LabelledImage], name: &str) -> Option<&'a LabelledImage> {
    images.iter().find(|i| i.reference == name).or_else(|| {
        let tagged = format!("{name}:latest");
        images.iter().find(|i| i.reference == tagged)
    })
}

/// The commands XNAT's label reader gets out of a label: a JSON list of objects, or nothing.
fn label_commands(label: &str) -> Vec<Value> {
    // XNAT deserialises the label as a list of commands with its Jackson mapper (the dialect
    // of `lenient_json`); a single object or a list holding anything else fails to parse.
    match xnat_cmd::lenient_json::parse(label).map(|p| p.value) {
        Ok(Value::Array(items)) if items.iter().all(Value::is_object) => items,
        _ => Vec::new(),
    }
}

/// `POST /xapi/docker/images/save?image=X`.
pub async fn save(
    State(app): State<Arc<Inner>>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(name) = q.get("image") else {
        // The mapping requires `image`; no other POST mapping takes the path (unverified status).
        return reply::text(
            400,
            "Parameter conditions \"image\" not met for actual request parameters: ",
        );
    };
    if let Err(r) = auth::manager_or_403(&app, &who) {
        return r;
    }
    if app.config.backend == Backend::Kubernetes {
        return reply::text(424, NO_DOCKER);
    }
    let Some(image) = find(&app.config.images, name) else {
        return reply::text(404, format!("Could not find image \"{name}\""));
    };
    let label = image.label.clone().unwrap_or_default();
    let hash = Digest::sha256_of(label.as_bytes()).as_str().to_string();
    let mut created = Vec::new();
    for raw in label_commands(&label) {
        let Ok(mut normalized) = normalize(&raw, Form::Create) else {
            continue;
        };
        // The creation form tags the image; the importer sets it verbatim afterwards.
        normalized["image"] = Value::String(name.clone());
        normalized["hash"] = Value::String(hash.clone());
        // `create` validates first: an unknown `type` is a validation failure (skipped) here,
        // while a nameless output or handler is an NPE inside validate() that ends the request.
        let known_type = matches!(
            normalized.get("type").and_then(Value::as_str),
            None | Some("docker" | "docker-setup" | "docker-wrapup")
        );
        if !known_type {
            continue;
        }
        if let Some(r) = pre_validation_crash(&normalized) {
            return r;
        }
        // Validated in the full form, so the verbatim (maybe untagged) image is checked.
        if validation_failure(&normalized, Form::Update).is_some() {
            continue;
        }
        let mut st = app.state();
        if is_duplicate(&app, &st, &normalized) {
            continue;
        }
        let id = insert_new(&mut st, &normalized);
        if let Some(stored) = st.commands.get(&id) {
            created.push(render(&app.config, stored));
        }
    }
    reply::json(200, &Value::Array(created))
}

/// `GET /xapi/docker/images/save`: served by `GET /images/{id}` with id `save`.
pub async fn save_get(State(app): State<Arc<Inner>>) -> Response {
    match app.config.backend {
        Backend::Kubernetes => reply::text_as_json(424, NO_DOCKER),
        Backend::Docker => reply::text_as_json(
            400,
            "To save commands from image labels POST to /images/save.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_lookup_adds_latest_like_docker() {
        let images = vec![
            LabelledImage {
                reference: "a/b:latest".into(),
                label: None,
            },
            LabelledImage {
                reference: "a/c:1.0".into(),
                label: None,
            },
        ];
        let cases = [
            ("a/b", Some("a/b:latest")),
            ("a/b:latest", Some("a/b:latest")),
            ("a/c", None),
            ("a/c:1.0", Some("a/c:1.0")),
            ("a/d", None),
        ];
        for (name, want) in cases {
            assert_eq!(
                find(&images, name).map(|i| i.reference.as_str()),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn only_a_list_of_objects_yields_commands() {
        let cases = [
            (r#"[{"name": "a"}, {"name": "b"}]"#, 2),
            (r#"[]"#, 0),
            (r#"{"name": "a"}"#, 0),
            (r#"[{"name": "a"}"#, 0),
            (r#"[1]"#, 0),
            ("", 0),
        ];
        for (label, want) in cases {
            assert_eq!(label_commands(label).len(), want, "{label}");
        }
    }
}
