//! The re-check of a cached tag: one `HEAD` of its manifest, answered from the cache when the
//! registry names a digest we hold (Docker Hub counts manifest GETs as pulls, not HEADs).

use reqwest::Method;

use super::cache::{Cache, CachedManifest};
use super::client::{Fetched, Shared, MANIFEST_ACCEPT};
use super::RegistryError;
use crate::reference::Reference;
use crate::source::manifest;

impl Shared {
    /// `HEAD` a tag's manifest; the cached manifest when its `Docker-Content-Digest` is one we
    /// hold, `None` (go on with a GET) when the digest is missing, unknown, or the HEAD failed
    /// in a way the GET will report better (HEAD answers carry no error body).
    pub(super) async fn head_manifest(
        &self,
        r: &Reference,
        tag: &str,
        known: &str,
        what: &str,
        cap: u64,
        cache: &Cache,
    ) -> Result<Option<Fetched>, RegistryError> {
        let path = format!("/v2/{}/manifests/{tag}", r.repository);
        let head = match self
            .request(Method::HEAD, r, &path, Some(MANIFEST_ACCEPT), what, cap)
            .await
        {
            Ok(h) => h,
            Err(
                RegistryError::Http { .. }
                | RegistryError::ManifestUnknown { .. }
                | RegistryError::NameUnknown { .. }
                | RegistryError::Unauthorized { .. },
            ) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(digest) = head.digest_header.filter(|d| manifest::is_sha256_digest(d)) else {
            tracing::debug!(reference = %r, "HEAD gave no usable digest, fetching the manifest");
            return Ok(None);
        };
        let Some(m) = cache.manifest(&digest, cap) else {
            tracing::debug!(reference = %r, digest, "tag moved, fetching the manifest");
            return Ok(None);
        };
        tracing::debug!(reference = %r, digest, "tag unchanged, manifest from the cache");
        // The tag came back to a digest held from before: remember that (nothing to write
        // in the usual case, which keeps a read-only cache quiet).
        if !digest.eq_ignore_ascii_case(known) {
            cache.put_tag_digest(r, tag, &digest);
        }
        Ok(Some(cached(m, &digest)))
    }
}

/// A cached manifest as if fetched: the digest header is the digest it was verified against.
pub(super) fn cached(m: CachedManifest, digest: &str) -> Fetched {
    Fetched {
        body: m.body,
        content_type: m.media_type,
        digest_header: Some(digest.to_string()),
    }
}
