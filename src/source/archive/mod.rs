//! Image files on disk: OCI layouts, tars of them, and `docker save` archives (legacy and
//! Docker ≥ 25), plain or gzip-compressed. Read in place: no extraction, no layer decompression.
//!
//! Every format is reduced to a `Store` — "give me the bytes of the file named N" — over a
//! directory (`oci::DirStore`), an indexed plain tar (`tar::TarIndex`, which seeks) or a
//! gzip tar read in one streaming pass (`tar::GzipTar`). The walks themselves (`oci.rs`:
//! index.json → index → manifest → config; `docker.rs`: manifest.json → config) only ask a
//! store for names they computed from validated digests or checked relative paths, so a tar
//! entry called `../x` or `/etc/passwd` is never followed anywhere.

mod docker;
mod oci;
mod tar;
mod tar_guard;

use std::io;
use std::path::{Path, PathBuf};

use super::manifest::{self, Descriptor, ManifestError};
use super::{ImageRecord, ReadOptions, ReadResult, SourceSpec};
use crate::digest::{Digest, DigestMismatch, VerifyError};
use crate::platform::Platform;
use crate::problem::Hint;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("`{path}` does not exist")]
    NotFound { path: PathBuf },
    #[error("failed to read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{path}` is a directory, not an archive file; for an OCI layout directory use `oci:{path}`")]
    IsDirectory { path: PathBuf },
    #[error("`{path}` is not an OCI image layout: it has no index.json")]
    NotALayout { path: PathBuf },
    #[error("`{path}` is not a valid tar archive")]
    BadTar {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A GNU long name or pax header larger than any real one: refused before it is read.
    #[error("`{path}` holds a tar extension header (long name or pax) of {size} bytes, over the {limit}-byte limit: the archive is damaged or crafted")]
    TarExtensionTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{path}` is not a tar archive: no entries found")]
    EmptyTar { path: PathBuf },
    #[error("`{path}` is truncated: entry `{entry}` ends past the end of the file")]
    Truncated { path: PathBuf, entry: String },
    #[error("`{path}` is not an image archive: it has neither manifest.json nor index.json")]
    NotAnImageArchive { path: PathBuf },
    #[error("`{path}` has no entry `{entry}`")]
    MissingEntry { path: PathBuf, entry: String },
    #[error(
        "`{entry}` in `{path}` is {size} bytes, over the {limit}-byte limit for a JSON document"
    )]
    JsonTooLarge {
        path: PathBuf,
        entry: String,
        size: u64,
        limit: u64,
    },
    #[error("the JSON documents of `{path}` exceed {limit} bytes in total")]
    JsonBudget { path: PathBuf, limit: u64 },
    #[error("`{entry}` in `{path}` is binary data, not a JSON document")]
    Binary { path: PathBuf, entry: String },
    #[error("`{entry}` in `{path}` is not valid JSON")]
    NotJson {
        path: PathBuf,
        entry: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{entry}` in `{path}` is not a usable image document")]
    Document {
        path: PathBuf,
        entry: String,
        #[source]
        source: Box<ManifestError>,
    },
    #[error("`{path}` refers to blob `{digest}`, which is not a `sha256:<64 hex>` digest")]
    BadDigest { path: PathBuf, digest: String },
    /// `what` is `` `entry` in `path` ``.
    #[error(transparent)]
    DigestMismatch(#[from] DigestMismatch),
    #[error("`{path}` refers to `{entry}`, outside the archive; refusing to follow it")]
    UnsafeEntry { path: PathBuf, entry: String },
    #[error(
        "no image for platform {wanted} in `{path}`; available: {}",
        list(available)
    )]
    NoPlatform {
        path: PathBuf,
        wanted: Platform,
        available: Vec<String>,
    },
    #[error("no image tagged `{tag}` in `{path}`; available: {}", list(available))]
    UnknownTag {
        path: PathBuf,
        tag: String,
        available: Vec<String>,
    },
    #[error(
        "`{path}` holds several images; name one as `{transport}:{path}:TAG`; available: {}",
        list(available)
    )]
    Ambiguous {
        path: PathBuf,
        transport: &'static str,
        available: Vec<String>,
    },
    #[error("`{path}` holds no images")]
    NoImages { path: PathBuf },
    #[error("image indexes in `{path}` are nested more than {limit} deep")]
    TooDeep { path: PathBuf, limit: usize },
}

impl Hint for ArchiveError {
    fn hint(&self) -> Option<String> {
        match self {
            ArchiveError::JsonTooLarge { .. } => Some("raise it with --max-json-bytes".into()),
            ArchiveError::JsonBudget { .. } => {
                Some("decompress the archive or raise --max-json-bytes".into())
            }
            _ => None,
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Read an archive-like source. Blocking: call from a blocking context.
pub fn read(spec: &SourceSpec, opts: &ReadOptions) -> Result<ReadResult, ArchiveError> {
    match spec {
        SourceSpec::Oci { dir, tag } => {
            let mut store = oci::DirStore::open(dir, opts.max_json_bytes)?;
            oci::read_layout(&mut store, tag.as_deref(), "oci", opts)
        }
        SourceSpec::OciArchive { path, tag } => {
            let mut store = tar::open(path, opts.max_json_bytes)?;
            if !store.has("index.json") {
                return Err(ArchiveError::NotALayout { path: path.clone() });
            }
            oci::read_layout(store.as_mut(), tag.as_deref(), "oci-archive", opts)
        }
        SourceSpec::DockerArchive { path, reference } => {
            let mut store = tar::open(path, opts.max_json_bytes)?;
            docker::read_docker(store.as_mut(), reference.as_deref(), opts)
        }
        // Reader::read sends only the archive transports here.
        SourceSpec::Registry { .. } | SourceSpec::DockerDaemon { .. } => Ok(ReadResult::default()),
    }
}

/// Named files of a layout or archive, read whole (JSON documents only, capped).
pub(crate) trait Store {
    /// The layout directory or archive file, for messages.
    fn path(&self) -> &Path;
    fn has(&self, name: &str) -> bool;
    /// The bytes of `name`, at most the store's JSON cap.
    fn read(&mut self, name: &str) -> Result<Vec<u8>, ArchiveError>;

    /// A content-addressed blob, verified against its digest.
    fn read_blob(&mut self, digest: &Digest) -> Result<Vec<u8>, ArchiveError> {
        let name = blob_name(digest);
        let bytes = self.read(&name)?;
        check_digest(self.path(), &name, &bytes, digest)?;
        Ok(bytes)
    }
}

/// The digest of the blob a descriptor names: a sha256 digest (the only one we verify), else
/// [`ArchiveError::BadDigest`] — a digest that is not one never becomes a path.
fn blob_digest(path: &Path, d: &Descriptor) -> Result<Digest, ArchiveError> {
    Digest::parse_sha256(d.digest_text()).ok_or_else(|| ArchiveError::BadDigest {
        path: path.to_path_buf(),
        digest: d.digest_text().to_string(),
    })
}

/// `blobs/<algorithm>/<hex>`: made of a parsed digest only, so it never leaves `blobs/`.
fn blob_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

fn check_digest(
    path: &Path,
    entry: &str,
    bytes: &[u8],
    expected: &Digest,
) -> Result<(), ArchiveError> {
    let what = format!("`{entry}` in `{}`", path.display());
    expected.verify(bytes, &what).map_err(|e| match e {
        VerifyError::Mismatch(m) => ArchiveError::DigestMismatch(m),
        VerifyError::Unsupported { digest, .. } => ArchiveError::BadDigest {
            path: path.to_path_buf(),
            digest: digest.to_string(),
        },
    })
}

/// Lift a [`ManifestError`] into the archive's vocabulary (path and entry as fields).
fn doc_error(path: &Path, entry: &str, e: ManifestError) -> ArchiveError {
    let path = path.to_path_buf();
    let entry = entry.to_string();
    match e {
        ManifestError::Json { source, .. } => ArchiveError::NotJson {
            path,
            entry,
            source,
        },
        ManifestError::NoMatchingPlatform {
            wanted, available, ..
        } => ArchiveError::NoPlatform {
            path,
            wanted,
            available,
        },
        ManifestError::DigestMismatch(m) => ArchiveError::DigestMismatch(DigestMismatch {
            what: format!("`{entry}` in `{}`", path.display()),
            ..m
        }),
        source => ArchiveError::Document {
            path,
            entry,
            source: Box::new(source),
        },
    }
}

/// The record for one config.
fn record(
    path: &Path,
    entry: &str,
    config: &[u8],
    image: Option<String>,
    manifest_digest: Option<Digest>,
) -> Result<ImageRecord, ArchiveError> {
    let parsed =
        manifest::ImageConfig::parse(config, entry).map_err(|e| doc_error(path, entry, e))?;
    Ok(ImageRecord {
        image,
        manifest_digest,
        config_digest: Some(Digest::sha256_of(config)),
        platform: parsed.platform(),
        labels: parsed.labels(),
        verified_digest: None,
    })
}

/// A reference in docker's fully qualified form (`xnat/small:v1` → `docker.io/xnat/small:v1`),
/// so that the short names `docker save` writes match the long ones skopeo writes. Text that is
/// not a reference (a bare OCI tag such as `v1`) compares as it is.
fn normalize_reference(r: &str) -> String {
    match crate::reference::Reference::parse(r.trim()) {
        Ok(parsed) => parsed.with_default_tag().to_string(),
        Err(_) => r.trim().to_string(),
    }
}

/// A relative entry name from a document (docker's `Config`/`Layers` paths), checked so it
/// cannot leave the archive: no absolute paths, no `..`, `./` prefixes dropped.
fn safe_entry_name(path: &Path, name: &str) -> Result<String, ArchiveError> {
    let clean = tar::clean_name(name);
    if name.starts_with('/')
        || clean.is_empty()
        || clean.split('/').any(|c| c == "..")
        || clean.contains('\\')
    {
        return Err(ArchiveError::UnsafeEntry {
            path: path.to_path_buf(),
            entry: name.to_string(),
        });
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_reference_table() {
        for (a, b) in [
            ("xnat/small:v1", "docker.io/xnat/small:v1"),
            ("docker.io/xnat/small:v1", "docker.io/xnat/small:v1"),
            ("index.docker.io/xnat/small:v1", "docker.io/xnat/small:v1"),
            ("busybox", "docker.io/library/busybox:latest"),
            ("library/busybox:1", "docker.io/library/busybox:1"),
            ("localhost:5000/x/y", "localhost:5000/x/y:latest"),
            ("quay.io/a/b:2", "quay.io/a/b:2"),
        ] {
            assert_eq!(normalize_reference(a), b, "{a}");
        }
    }

    #[test]
    fn safe_entry_names() {
        let p = Path::new("a.tar");
        assert_eq!(
            safe_entry_name(p, "./blobs/sha256/ab").unwrap(),
            "blobs/sha256/ab"
        );
        assert_eq!(safe_entry_name(p, "abc.json").unwrap(), "abc.json");
        for bad in ["../x.json", "/etc/passwd", "a/../../x", ""] {
            assert!(
                matches!(safe_entry_name(p, bad), Err(ArchiveError::UnsafeEntry { ref entry, .. }) if entry == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn blob_names_only_from_valid_sha256_digests() {
        let p = Path::new("/a.tar");
        let desc = |digest: &str| -> Descriptor {
            serde_json::from_value(serde_json::json!({ "digest": digest })).unwrap()
        };
        let upper = format!("sha256:{}", "A".repeat(64));
        let d = blob_digest(p, &desc(&upper)).unwrap();
        assert_eq!(blob_name(&d), format!("blobs/sha256/{}", "a".repeat(64)));
        let sha512 = format!("sha512:{}", "a".repeat(128));
        for bad in ["sha256:../../etc/passwd", "sha512:abcd", &sha512] {
            assert!(
                matches!(blob_digest(p, &desc(bad)), Err(ArchiveError::BadDigest { ref digest, .. }) if digest == bad),
                "{bad}"
            );
        }
    }
}
