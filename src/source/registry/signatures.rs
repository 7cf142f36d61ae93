//! Cosign signatures of a manifest, read where cosign stores them: attached through the OCI 1.1
//! referrers API (`GET /v2/<name>/referrers/<digest>`) where the registry offers it, and the
//! `sha256-<hex>.sig` tag in the image's repository (where cosign writes by default). Every
//! signature manifest's layers are fetched with their blobs, each distinct blob once and all of
//! them within [`MAX_SIGNATURE_PAYLOADS_BYTES`]; [`crate::cosign`] decides.

use std::collections::HashMap;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::read::{Run, Target, MANIFEST_ACCEPT};
use super::RegistryError;
use crate::cosign::{self, Accepted, Candidate, SIGNATURE_ANNOTATION, SIGNATURE_ARTIFACT_TYPE};
use crate::digest::{Algorithm, Digest};
use crate::reference::Reference;
use crate::source::manifest::{self, ManifestDoc, ManifestError};
use crate::source::ReadOptions;

use crate::limits::{
    MAX_SIGNATURE_LAYERS, MAX_SIGNATURE_MANIFESTS, MAX_SIGNATURE_PAYLOADS_BYTES,
    MAX_SIGNATURE_PAYLOAD_BYTES,
};

/// The signature blobs of one verification, by digest: each fetched once, all of them within
/// [`MAX_SIGNATURE_PAYLOADS_BYTES`].
#[derive(Default)]
struct Payloads {
    held: HashMap<Digest, Bytes>,
    bytes: u64,
}

impl Run {
    /// Verify that `digest` (the manifest read for `r`) carries a cosign signature made with
    /// one of `opts.verify_keys`.
    pub(super) async fn verify_signature(
        &self,
        r: &Reference,
        digest: &Digest,
        opts: &ReadOptions,
    ) -> Result<Accepted, RegistryError> {
        let mut candidates = Vec::new();
        let mut payloads = Payloads::default();
        let referrers = self.referrers(r, digest, opts).await?;
        let has_api = referrers.is_some();
        for d in referrers.unwrap_or_default() {
            let origin = format!("referrer {d}");
            candidates.extend(
                self.signature_layers(r, &Target::Digest(d), &origin, opts, &mut payloads)
                    .await?,
            );
        }
        let tag = cosign::signature_tag(digest);
        candidates.extend(
            self.signature_layers(r, &Target::Tag(tag.clone()), &tag, opts, &mut payloads)
                .await?,
        );
        let looked = if has_api {
            format!("the referrers of {digest} and the tag {tag}")
        } else {
            format!("the tag {tag}; the registry has no referrers API")
        };
        let repository = format!("{}/{}", r.registry, r.repository);
        Ok(cosign::verify(
            &repository,
            digest,
            &candidates,
            &opts.verify_keys,
            &looked,
        )?)
    }

    /// The digests of the cosign signature manifests that refer to `digest`; `None` when the
    /// registry has no referrers API (it answers 404, as the distribution spec says).
    async fn referrers(
        &self,
        r: &Reference,
        digest: &Digest,
        opts: &ReadOptions,
    ) -> Result<Option<Vec<Digest>>, RegistryError> {
        let artifact = utf8_percent_encode(SIGNATURE_ARTIFACT_TYPE, NON_ALPHANUMERIC);
        let path = format!(
            "/v2/{}/referrers/{digest}?artifactType={artifact}",
            r.repository
        );
        let what = format!("referrers of `{r}`");
        let f = match self
            .get(
                r,
                &path,
                Some("application/vnd.oci.image.index.v1+json"),
                &what,
                opts.max_json_bytes,
            )
            .await
        {
            Ok(f) => f,
            // The API is optional: a registry without it (404 by the spec; some answer 400 or
            // 405, or a web page) still has the tag, so any of these falls back to the tag.
            Err(e) if is_not_found(&e) || no_such_endpoint(&e) => {
                tracing::debug!(reference = %r, "no referrers API ({e}), using the signature tag");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let index = match manifest::parse_manifest(
            &f.body,
            Some("application/vnd.oci.image.index.v1+json"),
            &what,
        ) {
            Ok(ManifestDoc::Index(index)) => index,
            _ => {
                tracing::debug!(reference = %r, "the referrers answer is not an index, using the signature tag");
                return Ok(None);
            }
        };
        let mut out = Vec::new();
        for d in index.manifests.iter().take(MAX_SIGNATURE_MANIFESTS) {
            // A registry that ignores the `artifactType` filter lists every referrer; the
            // layers' media type sorts them out, so each is kept.
            out.push(d.digest(&what)?);
        }
        Ok(Some(out))
    }

    /// The layers of the signature manifest `target` (a tag or digest) with their blobs;
    /// none when it does not exist.
    async fn signature_layers(
        &self,
        r: &Reference,
        target: &Target,
        origin: &str,
        opts: &ReadOptions,
        payloads: &mut Payloads,
    ) -> Result<Vec<Candidate>, RegistryError> {
        let path = format!("/v2/{}/manifests/{target}", r.repository);
        let what = format!("signature manifest {target} of `{r}`");
        let f = match self
            .get(r, &path, Some(MANIFEST_ACCEPT), &what, opts.max_json_bytes)
            .await
        {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => {
                tracing::debug!(reference = %r, %target, "no signature manifest");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        // Only sha256 is verified (see `crate::digest`); a tag is not a digest.
        match target {
            Target::Digest(d) if d.algorithm() == Algorithm::Sha256 => {
                d.verify(&f.body, &what).map_err(ManifestError::from)?;
            }
            _ => {}
        }
        let ManifestDoc::Image(m) =
            manifest::parse_manifest(&f.body, f.content_type.as_deref(), &what)?
        else {
            return Err(ManifestError::Unrecognised { what }.into());
        };
        let mut out = Vec::new();
        if m.layers.len() > MAX_SIGNATURE_LAYERS {
            tracing::info!(reference = %r, %target, layers = m.layers.len(), "only the first {MAX_SIGNATURE_LAYERS} signature layers are checked");
        }
        for (i, layer) in m.layers.iter().take(MAX_SIGNATURE_LAYERS).enumerate() {
            let layer_what = format!("signature layer {i} of {target} of `{r}`");
            let digest = layer.digest(&layer_what)?;
            let payload = match payloads.held.get(&digest) {
                Some(held) => held.clone(),
                None => {
                    let blob_path = format!("/v2/{}/blobs/{digest}", r.repository);
                    let cap = MAX_SIGNATURE_PAYLOAD_BYTES.min(opts.max_json_bytes);
                    // Not verified here: a payload that does not match its digest is a
                    // rejected signature (reported as such), not a failed read.
                    let blob = self.get(r, &blob_path, None, &layer_what, cap).await?;
                    payloads.bytes += blob.body.len() as u64;
                    if payloads.bytes > MAX_SIGNATURE_PAYLOADS_BYTES {
                        return Err(RegistryError::SignaturesTooLarge {
                            reference: r.to_string(),
                            limit: MAX_SIGNATURE_PAYLOADS_BYTES,
                        });
                    }
                    payloads.held.insert(digest.clone(), blob.body.clone());
                    blob.body
                }
            };
            out.push(Candidate {
                origin: format!("{origin} layer {i}"),
                media_type: layer.media_type.clone(),
                digest,
                signature: layer
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(SIGNATURE_ANNOTATION).cloned()),
                payload,
            });
        }
        Ok(out)
    }
}

/// Is this how a registry without the referrers endpoint answers it (other than 404)?
fn no_such_endpoint(e: &RegistryError) -> bool {
    match e {
        RegistryError::Http { status, .. } => matches!(status, 400 | 405 | 406 | 501),
        RegistryError::BadBody { .. } => true,
        _ => false,
    }
}

/// Does the registry say the document does not exist (or the endpoint is unknown)?
fn is_not_found(e: &RegistryError) -> bool {
    match e {
        RegistryError::ManifestUnknown { .. } | RegistryError::NameUnknown { .. } => true,
        RegistryError::Http { status, .. } => *status == 404,
        _ => false,
    }
}
