//! The image documents every source walks: index → manifest → config, in OCI and Docker forms.
//!
//! Hand-written serde types rather than `oci-spec`: oci-spec's builders reject documents real
//! registries and `docker save` produce (missing `mediaType`, Docker media types, schema1), and
//! all we need are a few fields read leniently. Selection of the platform and digest checks
//! live here so that archives, registries and daemons decide the same way.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::digest::{Digest, DigestMismatch, VerifyError};
use crate::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The OCI annotation that names an image in a layout's `index.json`.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker ≥ 25 `docker save`'s) full image name annotation.
pub const CONTAINERD_NAME_ANNOTATION: &str = "io.containerd.image.name";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DescriptorPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl DescriptorPlatform {
    pub fn to_platform(&self) -> Platform {
        Platform::new(&self.os, &self.architecture, self.variant.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    /// As written: a malformed digest is reported by the reader that follows it, in its own
    /// terms (an archive names the file, a registry the reference), not as a parse error of
    /// the whole document that lists it. [`Descriptor::digest`] parses it.
    #[serde(rename = "digest")]
    digest_text: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// The digest, parsed: a sha256 digest (the one algorithm we verify), else
    /// [`ManifestError::UnsupportedDigest`] naming `what` (the document it leads to).
    pub fn digest(&self, what: &str) -> Result<Digest, ManifestError> {
        Digest::parse_sha256(&self.digest_text).ok_or_else(|| ManifestError::UnsupportedDigest {
            what: what.to_string(),
            digest: self.digest_text.clone(),
        })
    }

    /// The digest as the document wrote it (for messages, and when it is not valid).
    pub fn digest_text(&self) -> &str {
        &self.digest_text
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    pub fn is_index(&self) -> bool {
        matches!(
            self.media_type.as_deref(),
            Some(OCI_INDEX) | Some(DOCKER_LIST)
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// Legacy schema1: the config is embedded as a string in `history[0].v1Compatibility`.
#[derive(Debug, Clone, Deserialize)]
pub struct Schema1Manifest {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub history: Vec<Schema1History>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schema1History {
    #[serde(rename = "v1Compatibility")]
    pub v1_compatibility: String,
}

/// A manifest-like document, classified.
#[derive(Debug, Clone)]
pub enum ManifestDoc {
    Index(Index),
    Image(ImageManifest),
    Schema1(Schema1Manifest),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{what} {}: {source}", json_problem(source))]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what} has unsupported media type `{media_type}`")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("{what} is neither an image index nor an image manifest")]
    Unrecognised { what: String },
    #[error(
        "no image for platform {wanted} in {what}; available: {}",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    NoMatchingPlatform {
        what: String,
        wanted: Platform,
        available: Vec<String>,
    },
    #[error(transparent)]
    DigestMismatch(#[from] DigestMismatch),
    /// `--all-platforms` reached more distinct manifests than any image has.
    #[error("{what} leads to more than {limit} manifests (nested indexes included); an image has a few dozen at most, so this is a damaged or crafted index")]
    TooManyManifests { what: String, limit: usize },
    /// Not a sha256 digest (another algorithm, or not a digest at all).
    #[error("unsupported digest `{digest}` for {what}: only sha256 is supported")]
    UnsupportedDigest { what: String, digest: String },
}

/// Broken JSON and well-formed JSON of the wrong shape (`[]` where a manifest belongs) are
/// different mistakes; say which.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "is JSON but not the document expected",
        _ => "is not valid JSON",
    }
}

impl From<VerifyError> for ManifestError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Unsupported { what, digest } => ManifestError::UnsupportedDigest {
                what,
                digest: digest.to_string(),
            },
            VerifyError::Mismatch(m) => m.into(),
        }
    }
}

/// Classify a manifest document. `media_type` is the Content-Type or descriptor media type
/// when known; the document's own `mediaType` and shape decide otherwise.
pub fn parse_manifest(
    bytes: &[u8],
    media_type: Option<&str>,
    what: &str,
) -> Result<ManifestDoc, ManifestError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
            what: what.to_string(),
            source,
        })?;
    if !value.is_object() {
        // serde's words for an array read as a struct ("invalid length 0, expected struct …")
        // say nothing to a user.
        return Err(ManifestError::Unrecognised {
            what: what.to_string(),
        });
    }
    let declared = value
        .get("mediaType")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or_else(|| {
            media_type
                .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
                .filter(|m| !m.is_empty() && m != "application/json" && m != "text/plain")
        });
    let json_err = |source| ManifestError::Json {
        what: what.to_string(),
        source,
    };
    let kind = match declared.as_deref() {
        Some(OCI_INDEX) | Some(DOCKER_LIST) => "index",
        Some(OCI_MANIFEST) | Some(DOCKER_MANIFEST) => "image",
        Some(DOCKER_SCHEMA1) | Some(DOCKER_SCHEMA1_SIGNED) => "schema1",
        Some(other) if other.starts_with("application/vnd.") => {
            return Err(ManifestError::UnsupportedMediaType {
                what: what.to_string(),
                media_type: other.to_string(),
            })
        }
        _ => {
            // No usable media type: decide by shape, as the image spec allows.
            if value.get("manifests").is_some() {
                "index"
            } else if value.get("config").is_some() {
                "image"
            } else if value.get("schemaVersion").and_then(|v| v.as_i64()) == Some(1)
                || value.get("history").is_some()
            {
                "schema1"
            } else {
                return Err(ManifestError::Unrecognised {
                    what: what.to_string(),
                });
            }
        }
    };
    Ok(match kind {
        "index" => ManifestDoc::Index(serde_json::from_value(value).map_err(json_err)?),
        "image" => ManifestDoc::Image(serde_json::from_value(value).map_err(json_err)?),
        _ => ManifestDoc::Schema1(serde_json::from_value(value).map_err(json_err)?),
    })
}

/// The image entries of an index with their platforms, attestations left out.
/// Entries without a platform are kept with `None`.
pub fn image_entries(index: &Index) -> Vec<(Option<Platform>, &Descriptor)> {
    index
        .manifests
        .iter()
        .filter_map(|d| {
            let p = d.platform.as_ref().map(DescriptorPlatform::to_platform);
            match &p {
                Some(p) if p.is_attestation() => None,
                _ if d.annotation("vnd.docker.reference.type") == Some("attestation-manifest") => {
                    None
                }
                _ => Some((p, d)),
            }
        })
        .collect()
}

/// The walk of indexes with `--all-platforms`, one per read, shared by registries and
/// archives: each manifest digest is followed once however often indexes name it, and the
/// walk stops at [`MAX_INDEX_MANIFESTS`](crate::limits::MAX_INDEX_MANIFESTS) distinct ones.
/// Without it an index naming one manifest 20,000 times, or indexes nested 4 deep × 40, cost
/// a read (and a record) per mention.
#[derive(Debug, Default)]
pub struct IndexWalk {
    seen: HashSet<String>,
}

impl IndexWalk {
    /// The image entries of `index` not followed before in this walk (by digest, as written,
    /// case-insensitively), in index order; `what` names the index in the error.
    pub fn children<'a>(
        &mut self,
        index: &'a Index,
        what: &str,
    ) -> Result<Vec<(Option<Platform>, &'a Descriptor)>, ManifestError> {
        let limit = crate::limits::MAX_INDEX_MANIFESTS;
        let mut out = Vec::new();
        for (p, d) in image_entries(index) {
            if !self.seen.insert(d.digest_text().to_ascii_lowercase()) {
                continue;
            }
            if self.seen.len() > limit {
                return Err(ManifestError::TooManyManifests {
                    what: what.to_string(),
                    limit,
                });
            }
            out.push((p, d));
        }
        Ok(out)
    }
}

/// Pick the descriptor for `wanted` in an index. An exact variant match wins over an
/// entry whose variant the request left open.
pub fn select_platform<'a>(
    index: &'a Index,
    wanted: &Platform,
    what: &str,
) -> Result<&'a Descriptor, ManifestError> {
    let entries = image_entries(index);
    let mut best: Option<&Descriptor> = None;
    for (p, d) in &entries {
        if let Some(p) = p {
            if p.satisfies(wanted) {
                if p == wanted {
                    return Ok(d);
                }
                best = best.or(Some(d));
            }
        }
    }
    best.ok_or_else(|| ManifestError::NoMatchingPlatform {
        what: what.to_string(),
        wanted: wanted.clone(),
        available: entries
            .iter()
            .map(|(p, _)| p.as_ref().map_or("unknown".to_string(), |p| p.to_string()))
            .collect(),
    })
}

/// The part of an image config we read. Everything else is ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, alias = "container_config")]
    pub config: Option<ContainerConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
            what: what.to_string(),
            source,
        })
    }

    pub fn platform(&self) -> Option<Platform> {
        match (&self.os, &self.architecture) {
            (Some(os), Some(arch)) => Some(Platform::new(os, arch, self.variant.as_deref())),
            _ => None,
        }
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(json: &str) -> Index {
        match parse_manifest(json.as_bytes(), None, "test").unwrap() {
            ManifestDoc::Index(i) => i,
            other => panic!("not an index: {other:?}"),
        }
    }

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn classify_by_media_type_and_shape() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
                None,
                "index",
            ),
            (r#"{"manifests":[]}"#, None, "index"),
            (r#"{"config":{"digest":"sha256:00"}}"#, None, "image"),
            (
                r#"{"config":{"digest":"sha256:00"}}"#,
                Some("application/vnd.docker.distribution.manifest.v2+json"),
                "image",
            ),
            (
                r#"{"schemaVersion":1,"history":[{"v1Compatibility":"{}"}]}"#,
                None,
                "schema1",
            ),
            (
                r#"{"schemaVersion":1,"history":[]}"#,
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                "schema1",
            ),
        ];
        for (json, mt, want) in cases {
            let got = match parse_manifest(json.as_bytes(), *mt, "t").unwrap() {
                ManifestDoc::Index(_) => "index",
                ManifestDoc::Image(_) => "image",
                ManifestDoc::Schema1(_) => "schema1",
            };
            assert_eq!(got, *want, "{json}");
        }
        assert!(matches!(
            parse_manifest(b"{}", None, "t"),
            Err(ManifestError::Unrecognised { .. })
        ));
        assert!(matches!(
            parse_manifest(br#"{"mediaType":"application/vnd.foo+json"}"#, None, "t"),
            Err(ManifestError::UnsupportedMediaType { .. })
        ));
        assert!(matches!(
            parse_manifest(b"<html>", None, "t"),
            Err(ManifestError::Json { .. })
        ));
    }

    #[test]
    fn select_skips_attestations_and_prefers_exact_variant() {
        let idx = index(&format!(
            r#"{{"manifests":[
              {{"digest":"{D1}","platform":{{"os":"unknown","architecture":"unknown"}}}},
              {{"digest":"sha256:a","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"digest":"sha256:b","platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"digest":"sha256:c","platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}},
              {{"digest":"sha256:d","platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}}
            ]}}"#
        ));
        let pick = |p: &str| {
            select_platform(&idx, &Platform::parse(p).unwrap(), "t")
                .map(|d| d.digest_text().to_string())
        };
        assert_eq!(pick("linux/amd64").unwrap(), "sha256:b");
        assert_eq!(pick("linux/arm64").unwrap(), "sha256:a");
        assert_eq!(pick("linux/arm/v7").unwrap(), "sha256:d");
        let err = pick("windows/amd64").unwrap_err().to_string();
        assert_eq!(
            err,
            "no image for platform windows/amd64 in t; available: linux/arm64/v8, linux/amd64, linux/arm/v6, linux/arm/v7"
        );
    }

    #[test]
    fn index_walk_follows_each_digest_once_and_stops_at_the_bound() {
        let entry = |d: &str| {
            format!(r#"{{"digest":"{d}","platform":{{"os":"linux","architecture":"amd64"}}}}"#)
        };
        let upper = D1.to_ascii_uppercase().replace("SHA256", "sha256");
        let many: Vec<String> = std::iter::repeat_n(entry(D1), 20_000)
            .chain([entry(&upper), entry("sha256:b")])
            .collect();
        let idx = index(&format!(r#"{{"manifests":[{}]}}"#, many.join(",")));
        let mut walk = IndexWalk::default();
        let got: Vec<_> = walk
            .children(&idx, "t")
            .unwrap()
            .iter()
            .map(|(_, d)| d.digest_text().to_string())
            .collect();
        assert_eq!(got, vec![D1.to_string(), "sha256:b".to_string()]);
        assert!(
            walk.children(&idx, "t").unwrap().is_empty(),
            "already followed"
        );

        let limit = crate::limits::MAX_INDEX_MANIFESTS;
        let distinct: Vec<String> = (0..=limit)
            .map(|i| entry(&format!("sha256:{i:064x}")))
            .collect();
        let idx = index(&format!(r#"{{"manifests":[{}]}}"#, distinct.join(",")));
        let e = IndexWalk::default()
            .children(&idx, "index.json")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("index.json leads to more than {limit} manifests (nested indexes included); an image has a few dozen at most, so this is a damaged or crafted index")
        );
    }

    #[test]
    fn descriptor_digests_are_sha256_only() {
        let d = Digest::sha256_of(b"hello");
        let desc = |digest: &str| -> Descriptor {
            serde_json::from_value(serde_json::json!({ "digest": digest })).unwrap()
        };
        assert_eq!(desc(d.as_str()).digest("blob").unwrap(), d);
        let sha512 = format!("sha512:{}", "0".repeat(128));
        for text in ["sha256:../../etc/passwd", "sha256:abc", &sha512] {
            assert_eq!(
                desc(text).digest("blob").unwrap_err().to_string(),
                format!("unsupported digest `{text}` for blob: only sha256 is supported")
            );
        }
    }

    #[test]
    fn config_labels_and_platform() {
        let c = ImageConfig::parse(
            br#"{"architecture":"arm64","os":"linux","variant":"v8","config":{"Labels":{"a":"b"}}}"#,
            "c",
        )
        .unwrap();
        assert_eq!(c.labels().get("a").map(String::as_str), Some("b"));
        assert_eq!(c.platform().unwrap().to_string(), "linux/arm64/v8");
        let none = ImageConfig::parse(br#"{"config":{"Labels":null}}"#, "c").unwrap();
        assert!(none.labels().is_empty());
    }
}
