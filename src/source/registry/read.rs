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
use crate::digest::Digest;
use crate::reference::Reference;
use crate::source::manifest::{self, ImageConfig, ManifestDoc, ManifestError};
use crate::source::{ImageRecord, ReadOptions, ReadResult};

/// Every manifest type we read; without the OCI ones the reference registry answers 404.
pub(super) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5, \
application/vnd.docker.distribution.manifest.v1+json;q=0.5";

/// What a manifest request names: a tag, or a digest the answer is verified against.
pub(super) enum Target {
    Tag(String),
    Digest(Digest),
}

impl Target {
    /// The reference's digest when it is pinned, else its tag (or `latest`).
    fn of(r: &Reference) -> Target {
        match &r.digest {
            Some(digest) => Target::Digest(digest.clone()),
            None => Target::Tag(r.manifest_target().to_string()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tag(t) => f.write_str(t),
            Target::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// What every read of a run shares: the transport, the authentication state and the cache.
pub(super) struct Run {
    pub(super) transport: Transport,
    pub(super) auth: Auth,
    cache: Option<Cache>,
    image_deadline: Duration,
}

impl Run {
    pub(super) fn new(opts: &RegistryOptions, chain: Chain) -> Result<Self, RegistryError> {
        let cache = opts.cache_dir.clone().map(Cache::new);
        Ok(Run {
            transport: Transport::new(opts)?,
            auth: Auth::new(chain, cache.clone()),
            cache,
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
        let what = format!("manifest of `{r}`");
        let target = Target::of(r);
        let top = self
            .manifest(r, &target, opts, &what, &mut result.warnings)
            .await?;
        let top_digest = Digest::sha256_of(&top.body);
        let top_url = format!(
            "{}/v2/{}/manifests/{target}",
            self.transport.origin_of(r),
            r.repository
        );
        let doc = manifest::parse_manifest(&top.body, top.content_type.as_deref(), &what)
            .map_err(|e| body_error(&top.body, &what, &top_url, e))?;
        // Before anything else is read: an unsigned image is refused whole. The digest checked
        // is the one just read, which is what gets installed, so a tag moved since cannot
        // slip in another image.
        let verified = if opts.verify_keys.is_empty() {
            None
        } else {
            self.verify_signature(r, &top_digest, opts).await?;
            Some(top_digest.clone())
        };
        let image = Some(r.typed_with_tag());
        match doc {
            ManifestDoc::Index(index) => {
                let picks: Vec<_> = if opts.all_platforms {
                    manifest::IndexWalk::default()
                        .children(&index, &what)?
                        .into_iter()
                        .map(|(_, d)| d)
                        .collect()
                } else {
                    vec![manifest::select_platform(&index, &opts.platform, &what)?]
                };
                for d in picks {
                    let child_what = format!("platform manifest {} of `{r}`", d.digest_text());
                    let digest = d.digest(&child_what)?;
                    let child = self
                        .manifest(
                            r,
                            &Target::Digest(digest.clone()),
                            opts,
                            &child_what,
                            &mut result.warnings,
                        )
                        .await?;
                    let doc = manifest::parse_manifest(
                        &child.body,
                        d.media_type.as_deref(),
                        &child_what,
                    )?;
                    let ManifestDoc::Image(m) = doc else {
                        return Err(ManifestError::Unrecognised { what: child_what }.into());
                    };
                    let mut rec = self.config(r, &m.config, opts).await?;
                    rec.image = image.clone();
                    rec.manifest_digest = Some(digest);
                    if rec.platform.is_none() {
                        rec.platform = d.platform.as_ref().map(|p| p.to_platform());
                    }
                    rec.verified_digest = verified.clone();
                    result.images.push(rec);
                }
            }
            ManifestDoc::Image(m) => {
                let mut rec = self.config(r, &m.config, opts).await?;
                rec.image = image;
                rec.manifest_digest = Some(top_digest);
                rec.verified_digest = verified;
                result.images.push(rec);
            }
            ManifestDoc::Schema1(m) => {
                // Legacy: the newest layer's v1Compatibility is the image config.
                let cfg_what = format!("schema1 history of `{r}`");
                let first = m
                    .history
                    .first()
                    .ok_or_else(|| ManifestError::Unrecognised {
                        what: cfg_what.clone(),
                    })?;
                let cfg = ImageConfig::parse(first.v1_compatibility.as_bytes(), &cfg_what)?;
                result.images.push(ImageRecord {
                    image,
                    manifest_digest: Some(top_digest),
                    config_digest: None,
                    platform: cfg.platform(),
                    labels: cfg.labels(),
                    verified_digest: verified,
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
        target: &Target,
        opts: &ReadOptions,
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Fetched, RegistryError> {
        let cap = opts.max_json_bytes;
        if let Some(cache) = &self.cache {
            match target {
                Target::Digest(d) => {
                    if let Some(m) = cache.manifest(d, cap) {
                        tracing::debug!(reference = %r, digest = %d, "manifest from the cache");
                        return Ok(cached(m, d));
                    }
                }
                Target::Tag(tag) => {
                    if let Some(d) = cache.tag_digest(r, tag) {
                        if cache.manifest(&d, cap).is_some() {
                            if let Some(m) =
                                self.head_manifest(r, tag, &d, what, cap, cache).await?
                            {
                                return Ok(m);
                            }
                        }
                    }
                }
            }
        }
        let path = format!("/v2/{}/manifests/{target}", r.repository);
        let f = self.get(r, &path, Some(MANIFEST_ACCEPT), what, cap).await?;
        let found = Digest::sha256_of(&f.body);
        match target {
            Target::Digest(d) => d.verify(&f.body, what).map_err(ManifestError::from)?,
            Target::Tag(_) => {
                if let Some(h) = &f.digest_header {
                    if h.starts_with("sha256:") && Digest::parse(h).ok().as_ref() != Some(&found) {
                        // A warning, not an error: broken registries send wrong headers
                        // (ggcr's experience).
                        warnings.push(format!(
                            "{what}: Docker-Content-Digest header says {h} but the body hashes to {found}"
                        ));
                    }
                }
            }
        }
        if let Some(cache) = &self.cache {
            // Keyed by what the body hashes to, so a wrong header cannot poison the cache.
            cache.put_manifest(&found, &f.body, f.content_type.as_deref());
            if let Target::Tag(tag) = target {
                cache.put_tag_digest(r, tag, &found);
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
        let what = format!("config {} of `{r}`", desc.digest_text());
        let digest = desc.digest(&what)?;
        let path = format!("/v2/{}/blobs/{digest}", r.repository);
        let cached = (self.cache.as_ref()).and_then(|c| c.blob(&digest, opts.max_json_bytes));
        let body = match cached {
            Some(body) => body,
            None => {
                let f = self.get(r, &path, None, &what, opts.max_json_bytes).await?;
                digest.verify(&f.body, &what).map_err(ManifestError::from)?;
                if let Some(c) = &self.cache {
                    c.put_blob(&digest, &f.body);
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
            config_digest: Some(digest.clone()),
            platform: cfg.platform(),
            labels: cfg.labels(),
            verified_digest: None,
        })
    }

    /// GET `path` on the registry of `r`.
    pub(super) async fn get(
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
        known: &Digest,
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
                | RegistryError::Unauthorized { .. }
                | RegistryError::NoCredentials { .. },
            ) => return Ok(None),
            Err(e) => return Err(e),
        };
        let digest = (head.digest_header.as_deref()).and_then(Digest::parse_sha256);
        let Some(digest) = digest else {
            tracing::debug!(reference = %r, "HEAD gave no usable digest, fetching the manifest");
            return Ok(None);
        };
        let Some(m) = cache.manifest(&digest, cap) else {
            tracing::debug!(reference = %r, digest = %digest, "tag moved, fetching the manifest");
            return Ok(None);
        };
        tracing::debug!(reference = %r, digest = %digest, "tag unchanged, manifest from the cache");
        // The tag came back to a digest held from before: remember that (nothing to write
        // in the usual case, which keeps a read-only cache quiet).
        if digest != *known {
            cache.put_tag_digest(r, tag, &digest);
        }
        Ok(Some(cached(m, &digest)))
    }
}

/// A cached manifest as if fetched: the digest header is the digest it was verified against.
fn cached(m: CachedManifest, digest: &Digest) -> Fetched {
    Fetched {
        body: m.body,
        content_type: m.media_type,
        digest_header: Some(digest.to_string()),
    }
}

/// A document that failed to parse: say "HTML page" plainly instead of a serde position.
fn body_error(body: &[u8], what: &str, url: &str, e: ManifestError) -> RegistryError {
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
