//! `docker save` archives: `manifest.json` (an array of `{Config, RepoTags, Layers}`) in both
//! the legacy layout (`<hex>.json`, `<id>/layer.tar`) and Docker ≥ 25's, which adds an OCI
//! layout. `manifest.json`'s `Config` path is followed first, as docker itself and
//! containers/image do; the OCI side supplies the manifest digest, and the other platforms
//! of a containerd-store export when a platform other than the saved one is asked for.

use serde::Deserialize;

use super::{check_digest, normalize_reference, oci, record, safe_entry_name, ArchiveError, Store};
use crate::digest::Digest;
use crate::source::{ReadOptions, ReadResult};

#[derive(Debug, Deserialize)]
struct SaveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
}

impl SaveEntry {
    fn tags(&self) -> &[String] {
        self.repo_tags.as_deref().unwrap_or_default()
    }

    fn label(&self) -> String {
        match self.tags() {
            [] => format!("(untagged, config {})", self.config),
            tags => tags.join(", "),
        }
    }
}

pub(crate) fn read_docker(
    store: &mut dyn Store,
    reference: Option<&str>,
    opts: &ReadOptions,
) -> Result<ReadResult, ArchiveError> {
    let path = store.path().to_path_buf();
    if !store.has("manifest.json") {
        if store.has("index.json") {
            // An OCI layout under the docker-archive name: read it as one.
            return oci::read_layout(store, reference, "docker-archive", opts);
        }
        return Err(ArchiveError::NotAnImageArchive { path });
    }
    let bytes = store.read("manifest.json")?;
    let entries: Vec<SaveEntry> =
        serde_json::from_slice(&bytes).map_err(|source| ArchiveError::NotJson {
            path: path.clone(),
            entry: "manifest.json".into(),
            source,
        })?;
    let (entry, image) = match reference {
        Some(r) => {
            let want = normalize_reference(r);
            entries
                .iter()
                .find_map(|e| {
                    e.tags()
                        .iter()
                        .find(|t| normalize_reference(t) == want)
                        .map(|t| (e, Some(t.clone())))
                })
                .ok_or_else(|| ArchiveError::UnknownTag {
                    path: path.clone(),
                    tag: r.to_string(),
                    available: entries.iter().map(SaveEntry::label).collect(),
                })?
        }
        None => match entries.as_slice() {
            [] => return Err(ArchiveError::NoImages { path }),
            [one] => (one, one.tags().first().cloned()),
            _ => {
                return Err(ArchiveError::Ambiguous {
                    path,
                    transport: "docker-archive",
                    available: entries.iter().map(SaveEntry::label).collect(),
                })
            }
        },
    };
    let config_name = safe_entry_name(&path, &entry.config)?;
    let config = store.read(&config_name)?;
    // The config is named by its digest in both layouts (`<hex>.json`, `blobs/sha256/<hex>`).
    if let Some(digest) = digest_in_name(&config_name) {
        check_digest(&path, &config_name, &config, &digest)?;
    }
    let mut rec = record(&path, &config_name, &config, image.clone(), None)?;
    let mut warnings = Vec::new();
    let saved_fits = rec
        .platform
        .as_ref()
        .is_some_and(|p| p.satisfies(&opts.platform));
    if store.has("index.json") {
        let wants_layout = opts.all_platforms || !saved_fits;
        match oci::read_layout(store, image.as_deref(), "docker-archive", opts) {
            Ok(mut r) if wants_layout => {
                for i in &mut r.images {
                    i.image = image.clone().or(i.image.take());
                }
                return Ok(r);
            }
            Ok(r) => {
                if let Some(m) = r
                    .images
                    .iter()
                    .find(|i| i.config_digest == rec.config_digest)
                {
                    rec.manifest_digest = m.manifest_digest.clone();
                }
            }
            Err(e @ ArchiveError::NoPlatform { .. }) => return Err(e),
            // manifest.json was enough; the OCI side is a bonus.
            Err(_) => {}
        }
    } else if !saved_fits && !opts.all_platforms {
        warnings.push(format!(
            "`{}` holds only {}, not the requested {}",
            path.display(),
            rec.platform
                .as_ref()
                .map_or("an image without a platform".to_string(), |p| p.to_string()),
            opts.platform
        ));
    }
    Ok(ReadResult {
        images: vec![rec],
        warnings,
    })
}

/// The sha256 digest a config entry is named after, if it is.
fn digest_in_name(name: &str) -> Option<Digest> {
    let hex = name
        .strip_prefix("blobs/sha256/")
        .or_else(|| name.strip_suffix(".json"))?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names() {
        let h = "ab".repeat(32);
        let d = Digest::parse(&format!("sha256:{h}")).ok();
        assert_eq!(digest_in_name(&format!("{h}.json")), d);
        assert_eq!(digest_in_name(&format!("blobs/sha256/{h}")), d);
        assert_eq!(digest_in_name("config.json"), None);
        assert_eq!(digest_in_name(&format!("x/{h}")), None);
    }
}
