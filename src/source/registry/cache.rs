//! The registry's on-disk, digest-keyed cache: manifests (raw bytes with their media type) and
//! config blobs by digest, plus the last manifest digest seen per (registry, repository, tag).
//!
//! It exists so that a re-check of a tag can be one `HEAD` (which Docker Hub does not count
//! as a pull) instead of manifest and config GETs. Every entry is verified against its digest
//! when read, so a corrupt or tampered file is ignored (and rewritten by the next GET), never
//! trusted. The cache is an optimisation only: a directory that cannot be created or written
//! is a debug line, never an error, and reads keep working on a read-only file system.
//!
//! Layout under the directory: `manifests/sha256/<hex>` (first line the media type, then the
//! raw manifest), `blobs/sha256/<hex>` (the raw blob), `tags/<hex>` (a JSON record naming the
//! tag and its digest; the name is the SHA-256 of `registry/repository:tag`).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::challenge::Challenge;
use crate::digest::{Algorithm, Digest};
use crate::reference::Reference;

/// Environment variable naming the cache directory (below `--registry-cache`).
pub const CACHE_ENV: &str = "XNAT_CMD_CACHE";

/// The default cache directory: `XNAT_CMD_CACHE`, else `$XDG_CACHE_HOME/xnat-cmd`, else
/// `$HOME/.cache/xnat-cmd`; `None` when none is set. `var` looks a variable up (the process
/// environment in the CLI); empty values count as unset, as the XDG spec says.
pub fn default_dir(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = set(CACHE_ENV) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = set("XDG_CACHE_HOME") {
        return Some(Path::new(&xdg).join("xnat-cmd"));
    }
    set("HOME").map(|home| Path::new(&home).join(".cache").join("xnat-cmd"))
}

/// A cached manifest.
pub(super) struct CachedManifest {
    pub(super) body: Bytes,
    pub(super) media_type: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct TagRecord {
    reference: String,
    digest: Digest,
}

#[derive(Debug, Clone)]
pub(super) struct Cache {
    dir: PathBuf,
}

/// A registry's last Bearer challenge, so the next run fetches its token before its first
/// request instead of after a 401.
#[derive(Serialize, Deserialize)]
struct ChallengeRecord {
    registry: String,
    challenge: Challenge,
}

impl Cache {
    pub(super) fn new(dir: PathBuf) -> Self {
        Cache { dir }
    }

    /// The manifest with `digest`, if cached, within `cap` bytes and matching its digest.
    pub(super) fn manifest(&self, digest: &Digest, cap: u64) -> Option<CachedManifest> {
        let path = self.digest_path("manifests", digest)?;
        // The media type line is short; allow it on top of the document's own cap.
        let raw = read_capped(&path, cap.saturating_add(256))?;
        let nl = raw.iter().position(|&b| b == b'\n')?;
        let media_type = std::str::from_utf8(&raw[..nl]).ok()?.to_string();
        let body = raw.slice(nl + 1..);
        if body.len() as u64 > cap || !matches(&body, digest, &path) {
            return None;
        }
        Some(CachedManifest {
            body,
            media_type: (!media_type.is_empty()).then_some(media_type),
        })
    }

    pub(super) fn put_manifest(&self, digest: &Digest, body: &[u8], media_type: Option<&str>) {
        let Some(path) = self.digest_path("manifests", digest) else {
            return;
        };
        // A media type with a line break would corrupt the format; store none instead.
        let mt = media_type
            .filter(|m| !m.contains(['\n', '\r']))
            .unwrap_or("");
        let mut raw = Vec::with_capacity(mt.len() + 1 + body.len());
        raw.extend_from_slice(mt.as_bytes());
        raw.push(b'\n');
        raw.extend_from_slice(body);
        write_atomic(&path, &raw);
    }

    /// The blob with `digest`, if cached, within `cap` bytes and matching its digest.
    pub(super) fn blob(&self, digest: &Digest, cap: u64) -> Option<Bytes> {
        let path = self.digest_path("blobs", digest)?;
        let body = read_capped(&path, cap)?;
        matches(&body, digest, &path).then_some(body)
    }

    pub(super) fn put_blob(&self, digest: &Digest, body: &[u8]) {
        if let Some(path) = self.digest_path("blobs", digest) {
            write_atomic(&path, body);
        }
    }

    /// The manifest digest last seen for the tag of `r`.
    pub(super) fn tag_digest(&self, r: &Reference, tag: &str) -> Option<Digest> {
        let (key, path) = self.tag_path(r, tag);
        let raw = read_capped(&path, 4096)?;
        let rec: TagRecord = serde_json::from_slice(&raw).ok()?;
        (rec.reference == key && rec.digest.algorithm() == Algorithm::Sha256).then_some(rec.digest)
    }

    pub(super) fn put_tag_digest(&self, r: &Reference, tag: &str, digest: &Digest) {
        let (reference, path) = self.tag_path(r, tag);
        let rec = TagRecord {
            reference,
            digest: digest.clone(),
        };
        if let Ok(raw) = serde_json::to_vec(&rec) {
            write_atomic(&path, &raw);
        }
    }

    /// The Bearer challenge `registry` sent last time.
    pub(super) fn challenge(&self, registry: &str) -> Option<Challenge> {
        let raw = read_capped(&self.challenge_path(registry), 4096)?;
        let rec: ChallengeRecord = serde_json::from_slice(&raw).ok()?;
        (rec.registry == registry && rec.challenge.scheme == "bearer").then_some(rec.challenge)
    }

    pub(super) fn put_challenge(&self, registry: &str, challenge: &Challenge) {
        let rec = ChallengeRecord {
            registry: registry.to_string(),
            challenge: challenge.clone(),
        };
        if let Ok(raw) = serde_json::to_vec(&rec) {
            write_atomic(&self.challenge_path(registry), &raw);
        }
    }

    fn challenge_path(&self, registry: &str) -> PathBuf {
        let name = Digest::sha256_of(registry.as_bytes());
        self.dir.join("challenges").join(name.hex())
    }

    fn tag_path(&self, r: &Reference, tag: &str) -> (String, PathBuf) {
        let key = format!("{}/{}:{tag}", r.registry, r.repository);
        let name = Digest::sha256_of(key.as_bytes());
        let path = self.dir.join("tags").join(name.hex());
        (key, path)
    }

    /// Only parsed SHA-256 digests name files, so no digest text can escape the dir (and
    /// entries of other algorithms, which cannot be verified, are never stored).
    fn digest_path(&self, kind: &str, digest: &Digest) -> Option<PathBuf> {
        (digest.algorithm() == Algorithm::Sha256)
            .then(|| self.dir.join(kind).join("sha256").join(digest.hex()))
    }
}

fn matches(body: &[u8], digest: &Digest, path: &Path) -> bool {
    let ok = Digest::sha256_of(body) == *digest;
    if !ok {
        tracing::debug!(path = %path.display(), "cache entry does not match its digest, ignored");
    }
    ok
}

/// The whole file, or `None` when it is missing, unreadable or larger than `cap`.
fn read_capped(path: &Path, cap: u64) -> Option<Bytes> {
    let file = match crate::limits::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!(path = %path.display(), error = %e, "cache read failed");
            }
            return None;
        }
    };
    let mut buf = Vec::new();
    if let Err(e) = file.take(cap.saturating_add(1)).read_to_end(&mut buf) {
        tracing::debug!(path = %path.display(), error = %e, "cache read failed");
        return None;
    }
    if buf.len() as u64 > cap {
        tracing::debug!(path = %path.display(), cap, "cache entry too large, ignored");
        return None;
    }
    Some(Bytes::from(buf))
}

/// Write through a temp file in the same directory and rename it into place, so readers (and
/// other runs) see the old file or the new one, never a half-written one. By hand because
/// `tempfile` is only a dev-dependency and this needs five lines of it.
/// The cache is an optimisation: a write that fails (full disk, read-only volume) is logged
/// and the run goes on without it.
///
/// Private: directories it creates are 0700 and files 0600, since tags, manifests and
/// challenges say which private images a user reads. A directory that already exists keeps
/// its mode (a cache shared on purpose, `XNAT_CMD_CACHE` on a group volume, stays shared).
fn write_atomic(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::DirBuilderExt as _;
    let result = match path.parent() {
        Some(dir) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir),
        None => Ok(()),
    }
    .and_then(|()| crate::atomic::write_atomic_mode(path, bytes, 0o600));
    if let Err(e) = result {
        tracing::debug!(path = %path.display(), error = %e, "cache write failed, going on without it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_dir_order() {
        fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        }
        let all = [(CACHE_ENV, "/c"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
        assert_eq!(default_dir(env(&all)), Some(PathBuf::from("/c")));
        assert_eq!(
            default_dir(env(&[
                (CACHE_ENV, ""),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ])),
            Some(PathBuf::from("/x/xnat-cmd"))
        );
        assert_eq!(
            default_dir(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/xnat-cmd"))
        );
        assert_eq!(default_dir(env(&[])), None);
    }

    #[test]
    fn entries_are_verified_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path().to_path_buf());
        let body = br#"{"schemaVersion":2}"#;
        let d = Digest::sha256_of(body);
        c.put_manifest(&d, body, Some("application/x"));
        let m = c.manifest(&d, 1024).unwrap();
        assert_eq!(
            (&m.body[..], m.media_type.as_deref()),
            (&body[..], Some("application/x"))
        );
        assert!(c.manifest(&d, 5).is_none(), "over the cap");
        c.put_blob(&d, b"not the content");
        assert!(c.blob(&d, 1024).is_none(), "a wrong body is not trusted");
        c.put_blob(&d, body);
        assert_eq!(&c.blob(&d, 1024).unwrap()[..], &body[..]);
        // Private: 0700 directories, 0600 files (whatever the umask adds).
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let blob = c.digest_path("blobs", &d).unwrap();
        assert_eq!(mode(&blob), 0o600);
        for sub in ["blobs", "blobs/sha256", "manifests", "manifests/sha256"] {
            assert_eq!(mode(&dir.path().join(sub)), 0o700, "{sub}");
        }
        let sha512 = Digest::parse(&format!("sha512:{}", "0".repeat(128))).unwrap();
        c.put_blob(&sha512, body);
        assert!(
            c.blob(&sha512, 1024).is_none(),
            "only sha256 entries are kept"
        );
    }
}
