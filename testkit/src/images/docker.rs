//! `docker save` archives (legacy and Docker ≥ 25) and skopeo as a second, independent writer.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::*;
/// One image in a `docker save` archive and the names it was saved under.
pub struct Saved<'a> {
    pub target: Target<'a>,
    pub repo_tags: Vec<String>,
}

impl<'a> Saved<'a> {
    pub fn new(target: impl Into<Target<'a>>, repo_tags: &[&str]) -> Self {
        Saved {
            target: target.into(),
            repo_tags: repo_tags.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Legacy `docker save` (before Docker 25): `<id>/layer.tar`, `<config hex>.json`,
/// `manifest.json`, `repositories`. Multi-platform targets contribute their default image.
pub fn docker_archive_files(saved: &[Saved<'_>]) -> FileSet {
    let mut fs = FileSet::default();
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in saved {
        let img = s.target.default_image();
        let mut parent = String::new();
        let mut layer_paths = Vec::new();
        for l in &img.layers {
            // v1 layer ids chain the parent, as docker's legacy exporter does.
            let id = hex_of(&sha256(format!("{parent} {}", l.diff_id).as_bytes())).to_string();
            fs.add(&format!("{id}/VERSION"), Content::Bytes(b"1.0".to_vec()));
            let mut v1 = json!({"id": id, "created": "2024-01-01T00:00:00Z"});
            if !parent.is_empty() {
                v1["parent"] = json!(parent);
            }
            fs.add(
                &format!("{id}/json"),
                Content::Bytes(serde_json::to_vec(&v1).unwrap()),
            );
            fs.add(&format!("{id}/layer.tar"), l.tar.clone());
            layer_paths.push(format!("{id}/layer.tar"));
            parent = id;
        }
        let config_name = format!("{}.json", hex_of(&img.config_digest));
        fs.add(&config_name, Content::Bytes(img.config_bytes.clone()));
        manifest
            .push(json!({"Config": config_name, "RepoTags": s.repo_tags, "Layers": layer_paths}));
        for t in &s.repo_tags {
            if let Some((repo, tag)) = split_repo_tag(t) {
                repositories
                    .entry(repo.to_string())
                    .or_default()
                    .insert(tag.to_string(), parent.clone());
            }
        }
    }
    fs.add(
        "manifest.json",
        Content::Bytes(serde_json::to_vec(&manifest).unwrap()),
    );
    fs.add(
        "repositories",
        Content::Bytes(serde_json::to_vec(&repositories).unwrap()),
    );
    fs
}

/// Docker ≥ 25 `docker save`: an OCI layout (index annotated with the full name and the tag)
/// plus `manifest.json` whose paths are `blobs/sha256/<hex>`.
pub fn docker25_archive_files(saved: &[Saved<'_>]) -> FileSet {
    let mut entries = Vec::new();
    let mut manifest = Vec::new();
    for s in saved {
        for t in &s.repo_tags {
            let tag = split_repo_tag(t).map_or("latest", |(_, tag)| tag);
            let annotations = BTreeMap::from([
                (CONTAINERD_NAME.to_string(), docker_full_name(t)),
                (REF_NAME.to_string(), tag.to_string()),
            ]);
            entries.push((annotations, s.target));
        }
        if s.repo_tags.is_empty() {
            entries.push((BTreeMap::new(), s.target));
        }
        let img = s.target.default_image();
        manifest.push(json!({
            "Config": format!("blobs/sha256/{}", hex_of(&img.config_digest)),
            "RepoTags": s.repo_tags,
            "Layers": img.layers.iter().map(|l| format!("blobs/sha256/{}", hex_of(&l.digest))).collect::<Vec<_>>(),
        }));
    }
    let mut fs = oci_layout_files(&entries);
    fs.add(
        "manifest.json",
        Content::Bytes(serde_json::to_vec(&manifest).unwrap()),
    );
    fs.add("repositories", Content::Bytes(b"{}".to_vec()));
    fs
}

pub fn write_docker_archive(out: &Path, saved: &[Saved<'_>], compress: Compress) -> io::Result<()> {
    docker_archive_files(saved).write_tar(out, compress)
}

pub fn write_docker25_archive(
    out: &Path,
    saved: &[Saved<'_>],
    compress: Compress,
) -> io::Result<()> {
    docker25_archive_files(saved).write_tar(out, compress)
}

/// `repo:tag` → (`repo`, `tag`); the colon must come after the last `/` (ports are not tags).
fn split_repo_tag(r: &str) -> Option<(&str, &str)> {
    let (repo, tag) = r.rsplit_once(':')?;
    (!tag.contains('/')).then_some((repo, tag))
}

/// `xnat/small:v1` → `docker.io/xnat/small:v1`, `busybox:1` → `docker.io/library/busybox:1`.
pub fn docker_full_name(r: &str) -> String {
    let first = r.split('/').next().unwrap_or("");
    let has_host =
        r.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    match (has_host, r.contains('/')) {
        (true, _) => r.to_string(),
        (false, true) => format!("docker.io/{r}"),
        (false, false) => format!("docker.io/library/{r}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SkopeoError {
    #[error("skopeo is not installed ({source}); install it with `apt-get install skopeo` (Debian/Ubuntu) or `dnf install skopeo`")]
    Missing {
        #[source]
        source: io::Error,
    },
    #[error("`skopeo {args}` failed ({status}): {stderr}")]
    Failed {
        args: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// Run skopeo (with `--insecure-policy`: the fixtures are unsigned local files).
pub fn skopeo(args: &[&str]) -> Result<Vec<u8>, SkopeoError> {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .map_err(|source| SkopeoError::Missing { source })?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(SkopeoError::Failed {
            args: args.join(" "),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `skopeo copy oci:DIR:TAG docker-archive:OUT:REF` — an independent `docker save` writer.
pub fn skopeo_docker_archive(
    layout: &Path,
    tag: &str,
    out: &Path,
    reference: &str,
) -> Result<(), SkopeoError> {
    let _ = fs::remove_file(out); // skopeo refuses to append to an existing archive
    skopeo(&[
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &format!("docker-archive:{}:{reference}", out.display()),
    ])
    .map(drop)
}

/// `skopeo copy oci:DIR:TAG oci-archive:OUT:OUT_TAG`.
pub fn skopeo_oci_archive(
    layout: &Path,
    tag: &str,
    out: &Path,
    out_tag: &str,
) -> Result<(), SkopeoError> {
    let _ = fs::remove_file(out);
    skopeo(&[
        "copy",
        &format!("oci:{}:{tag}", layout.display()),
        &format!("oci-archive:{}:{out_tag}", out.display()),
    ])
    .map(drop)
}
