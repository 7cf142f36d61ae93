//! What a read is made of: the manifest by tag or digest (index → platform manifest → config),
//! every document digest-checked and size-capped, the `HEAD` re-check of a cached tag, and the
//! digest-keyed cache (see `cache`). Requests go through the transport, authenticated by `auth`.

use std::time::Duration;

use reqwest::Method;

use super::auth::Auth;
use super::cache::{Cache, CachedManifest};
use super::transport::{describe_bad_body, looks_like_html, Ask, Fetched, Transport};
use super::{RegistryError, RegistryOptions};
use crate::credentials::Chain;
use crate::reference::Reference;
use crate::source::manifest::{self, ImageConfig, ManifestDoc};
use crate::source::{ImageRecord, ReadOptions, ReadResult};

/// Every manifest type we read; without the OCI ones the reference registry answers 404.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5, \
application/vnd.docker.distribution.manifest.v1+json;q=0.5";

/// What every read of a run shares: the transport, the authentication state and the cache.
pub(super) struct Run {
    pub(super) transport: Transport,
    pub(super) auth: Auth,
    cache: Option<Cache>,
    image_deadline: Duration,
}

impl Run {
    pub(super) fn new(opts: &RegistryOptions, chain: Chain) -> Result<Self, RegistryError> {
        Ok(Run {
            transport: Transport::new(opts)?,
            auth: Auth::new(chain),
            cache: opts.cache_dir.clone().map(Cache::new),
            image_deadline: opts.image_deadline,
        })
    }

    pub(super) async fn read(
        &self,
        text: &str,
        opts: &ReadOptions,
    ) -> Result<ReadResult, RegistryError> {
        let reference = Reference::parse(text)?;
        let before = self.transport.requests();
        let deadline = self.image_deadline;
        let result = tokio::time::timeout(deadline, self.read_inner(&reference, opts))
            .await
            .map_err(|_| RegistryError::Deadline {
                reference: reference.to_string(),
                seconds: deadline.as_secs(),
            })?;
        tracing::debug!(reference = %reference, requests = self.transport.requests() - before, "registry read done");
        result
    }

    async fn read_inner(
        &self,
        r: &Reference,
        opts: &ReadOptions,
    ) -> Result<ReadResult, RegistryError> {
        let mut result = ReadResult::default();
        let target = r.manifest_target().to_string();
        let what = format!("manifest of `{r}`");
        let top = self
            .manifest(r, &target, opts, &what, &mut result.warnings)
            .await?;
        let top_digest = manifest::sha256_digest(&top.body);
        let top_url = format!(
            "{}/v2/{}/manifests/{target}",
            self.transport.origin_of(r),
            r.repository
        );
        let doc = manifest::parse_manifest(&top.body, top.content_type.as_deref(), &what)
            .map_err(|e| body_error(&top.body, &what, &top_url, e))?;
        let image = Some(r.typed_with_tag());
        match doc {
            ManifestDoc::Index(index) => {
                let picks: Vec<_> = if opts.all_platforms {
                    manifest::image_entries(&index)
                        .into_iter()
                        .map(|(_, d)| d)
                        .collect()
                } else {
                    vec![manifest::select_platform(&index, &opts.platform, &what)?]
                };
                for d in picks {
                    let child_what = format!("platform manifest {} of `{r}`", d.digest);
                    let child = self
                        .manifest(r, &d.digest, opts, &child_what, &mut result.warnings)
                        .await?;
                    let doc = manifest::parse_manifest(
                        &child.body,
                        d.media_type.as_deref(),
                        &child_what,
                    )?;
                    let ManifestDoc::Image(m) = doc else {
                        return Err(
                            manifest::ManifestError::Unrecognised { what: child_what }.into()
                        );
                    };
                    let mut rec = self.config(r, &m.config, opts).await?;
                    rec.image = image.clone();
                    rec.manifest_digest = Some(d.digest.clone());
                    if rec.platform.is_none() {
                        rec.platform = d.platform.as_ref().map(|p| p.to_platform());
                    }
                    result.images.push(rec);
                }
            }
            ManifestDoc::Image(m) => {
                let mut rec = self.config(r, &m.config, opts).await?;
                rec.image = image;
                rec.manifest_digest = Some(top_digest);
                result.images.push(rec);
            }
            ManifestDoc::Schema1(m) => {
                // Legacy: the newest layer's v1Compatibility is the image config.
                let cfg_what = format!("schema1 history of `{r}`");
                let first =
                    m.history
                        .first()
                        .ok_or_else(|| manifest::ManifestError::Unrecognised {
                            what: cfg_what.clone(),
                        })?;
                let cfg = ImageConfig::parse(first.v1_compatibility.as_bytes(), &cfg_what)?;
                result.images.push(ImageRecord {
                    image,
                    manifest_digest: Some(top_digest),
                    config_digest: None,
                    platform: cfg.platform(),
                    labels: cfg.labels(),
                });
            }
        }
        Ok(result)
    }

    /// A manifest by tag or digest; digests verified, tag digest headers compared.
    ///
    /// With the cache: a digest is served from it when held; a tag whose last digest is held
    /// is asked with one `HEAD` (Docker Hub counts manifest GETs against the pull limit, not
    /// HEADs) and served from the cache when the registry names a digest we hold. A tag with
    /// no cached digest gets no HEAD, so a cold read costs no extra request.
    async fn manifest(
        &self,
        r: &Reference,
        target: &str,
        opts: &ReadOptions,
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Fetched, RegistryError> {
        let cap = opts.max_json_bytes;
        let by_digest = target.contains(':');
        if let Some(cache) = &self.cache {
            if by_digest {
                if let Some(m) = cache.manifest(target, cap) {
                    tracing::debug!(reference = %r, digest = target, "manifest from the cache");
                    return Ok(cached(m, target));
                }
            } else if let Some(d) = cache.tag_digest(r, target) {
                if cache.manifest(&d, cap).is_some() {
                    if let Some(m) = self.head_manifest(r, target, &d, what, cap, cache).await? {
                        return Ok(m);
                    }
                }
            }
        }
        let path = format!("/v2/{}/manifests/{target}", r.repository);
        let f = self.get(r, &path, Some(MANIFEST_ACCEPT), what, cap).await?;
        let found = manifest::sha256_digest(&f.body);
        if by_digest {
            manifest::verify_digest(&f.body, target, what)?;
        } else if let Some(h) = &f.digest_header {
            if h.starts_with("sha256:") && !h.eq_ignore_ascii_case(&found) {
                // A warning, not an error: broken registries send wrong headers (ggcr's experience).
                warnings.push(format!(
                    "{what}: Docker-Content-Digest header says {h} but the body hashes to {found}"
                ));
            }
        }
        if let Some(cache) = &self.cache {
            // Keyed by what the body hashes to, so a wrong header cannot poison the cache.
            cache.put_manifest(&found, &f.body, f.content_type.as_deref());
            if !by_digest {
                cache.put_tag_digest(r, target, &found);
            }
        }
        Ok(f)
    }

    async fn config(
        &self,
        r: &Reference,
        desc: &manifest::Descriptor,
        opts: &ReadOptions,
    ) -> Result<ImageRecord, RegistryError> {
        let what = format!("config {} of `{r}`", desc.digest);
        if !manifest::is_sha256_digest(&desc.digest) {
            return Err(manifest::ManifestError::UnsupportedDigest {
                what,
                digest: desc.digest.clone(),
            }
            .into());
        }
        let path = format!("/v2/{}/blobs/{}", r.repository, desc.digest);
        let cached = (self.cache.as_ref()).and_then(|c| c.blob(&desc.digest, opts.max_json_bytes));
        let body = match cached {
            Some(body) => body,
            None => {
                let f = self.get(r, &path, None, &what, opts.max_json_bytes).await?;
                manifest::verify_digest(&f.body, &desc.digest, &what)?;
                if let Some(c) = &self.cache {
                    c.put_blob(&desc.digest, &f.body);
                }
                f.body
            }
        };
        let url = format!("{}{path}", self.transport.origin_of(r));
        let cfg =
            ImageConfig::parse(&body, &what).map_err(|e| body_error(&body, &what, &url, e))?;
        Ok(ImageRecord {
            image: None,
            manifest_digest: None,
            config_digest: Some(desc.digest.clone()),
            platform: cfg.platform(),
            labels: cfg.labels(),
        })
    }

    /// GET `path` on the registry of `r`.
    async fn get(
        &self,
        r: &Reference,
        path: &str,
        accept: Option<&str>,
        what: &str,
        cap: u64,
    ) -> Result<Fetched, RegistryError> {
        self.request(Method::GET, r, path, accept, what, cap).await
    }

    async fn request(
        &self,
        method: Method,
        r: &Reference,
        path: &str,
        accept: Option<&str>,
        what: &str,
        cap: u64,
    ) -> Result<Fetched, RegistryError> {
        let ask = Ask {
            method,
            path,
            accept,
            what,
            cap,
        };
        let auth = self.auth.for_read(&self.transport, r);
        self.transport.request(r, ask, &auth).await
    }

    /// `HEAD` a tag's manifest; the cached manifest when its `Docker-Content-Digest` is one we
    /// hold, `None` (go on with a GET) when the digest is missing, unknown, or the HEAD failed
    /// in a way the GET will report better (HEAD answers carry no error body).
    async fn head_manifest(
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
fn cached(m: CachedManifest, digest: &str) -> Fetched {
    Fetched {
        body: m.body,
        content_type: m.media_type,
        digest_header: Some(digest.to_string()),
    }
}

/// A document that failed to parse: say "HTML page" plainly instead of a serde position.
fn body_error(body: &[u8], what: &str, url: &str, e: manifest::ManifestError) -> RegistryError {
    if body.is_empty() || looks_like_html(&String::from_utf8_lossy(body)) {
        RegistryError::BadBody {
            what: what.to_string(),
            url: url.to_string(),
            problem: describe_bad_body(body),
        }
    } else {
        e.into()
    }
}
