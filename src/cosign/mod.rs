//! Cosign key-based signature verification: is the manifest that was read signed with one of
//! the site's keys? Pure: the registry reader ([`crate::source::registry`]) finds the signature
//! manifests and fetches their layers; this module decides.
//!
//! Cosign's format (checked against sigstore/cosign `pkg/oci`, `pkg/cosign/verify.go`
//! and sigstore's `payload` package): a signature manifest, tagged `sha256-<hex>.sig` in the
//! image's repository or attached as an OCI 1.1 referrer (`artifactType`
//! [`SIGNATURE_ARTIFACT_TYPE`]), has one layer per signature, of media type
//! [`SIMPLE_SIGNING_MEDIA_TYPE`]; the layer's blob is the simple-signing payload
//! ([`payload::SimpleSigning`]) and its annotation [`SIGNATURE_ANNOTATION`] the base64 of the
//! ASN.1 DER ECDSA P-256 SHA-256 signature over the blob's bytes.
//!
//! A layer is accepted when its blob matches its digest, the signature verifies with one of
//! the keys, the payload's `critical.type` is cosign's, `critical.image.docker-manifest-digest`
//! is the manifest digest that was read, and `critical.identity.docker-reference` names the
//! same repository (docker normalisation). One accepted layer suffices.

pub mod key;
pub mod payload;

use base64::Engine as _;

use crate::digest::Digest;
use crate::reference::same_repository;

pub use key::{KeyError, PublicKey};
use payload::{SimpleSigning, COSIGN_TYPE};

/// The annotation holding a layer's base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The media type of a simple-signing payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The `artifactType` of a cosign signature attached as an OCI 1.1 referrer.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";

/// The tag cosign stores an image's signatures under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm().name(), digest.hex())
}

/// One layer of a signature manifest, with its blob as the registry served it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Where it was found, for logs: `sha256-….sig layer 0`, `referrer sha256:… layer 1`.
    pub origin: String,
    pub media_type: Option<String>,
    /// The layer's digest as its manifest names it.
    pub digest: Digest,
    /// The [`SIGNATURE_ANNOTATION`] value.
    pub signature: Option<String>,
    /// The blob: the payload the signature covers.
    /// Shared (`Bytes`): a blob named by several layers is fetched and held once.
    pub payload: bytes::Bytes,
}

/// Why one signature layer was not accepted. The variants are ordered from least to most
/// telling: the refusal reports the most telling one found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a signature layer (media type {})", .media_type.as_deref().unwrap_or("none"))]
    NotSimpleSigning { media_type: Option<String> },
    #[error("bad signature: the layer has no `{SIGNATURE_ANNOTATION}` annotation")]
    NoAnnotation,
    #[error("bad signature: the `{SIGNATURE_ANNOTATION}` annotation is not base64")]
    BadEncoding,
    #[error("bad signature: the payload does not match its layer digest (expected {expected}, found {found})")]
    PayloadDigest { expected: Digest, found: Digest },
    /// Cryptography cannot tell the two apart: a signature made with another key and a
    /// payload changed after signing both fail to verify.
    #[error("wrong key or tampered payload: the signature does not verify with {}", keys_text(*.keys))]
    NotVerified { keys: usize },
    #[error("bad signature: the signed payload is not a simple-signing payload ({problem})")]
    BadPayload { problem: String },
    #[error("bad signature: the signed payload's type is `{found}`, not `{COSIGN_TYPE}`")]
    WrongType { found: String },
    #[error("signed for another repository: the signature names `{found}`")]
    OtherRepository { found: String },
    #[error("signed for another digest: the signature covers {found}")]
    OtherDigest { found: String },
}

fn keys_text(n: usize) -> String {
    if n == 1 {
        "the given key".to_string()
    } else {
        format!("any of the {n} given keys")
    }
}

impl Rejection {
    /// How telling the rejection is: a valid signature with a wrong claim says more than a
    /// signature that does not verify, which says more than a malformed layer.
    fn weight(&self) -> u8 {
        match self {
            Rejection::NotSimpleSigning { .. } => 0,
            Rejection::NoAnnotation | Rejection::BadEncoding => 1,
            Rejection::PayloadDigest { .. } => 2,
            Rejection::NotVerified { .. } => 3,
            Rejection::BadPayload { .. } | Rejection::WrongType { .. } => 4,
            Rejection::OtherRepository { .. } | Rejection::OtherDigest { .. } => 5,
        }
    }
}

/// The image was refused: no signature, or none that verifies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature: `{reference}` ({digest}) has no cosign signature (looked in {looked})")]
    NoSignature {
        reference: String,
        digest: Digest,
        looked: String,
    },
    #[error("signature check failed for `{reference}` ({digest}): {reason}{}", if *.tried > 1 { format!(" ({} signatures tried, none accepted)", .tried) } else { String::new() })]
    Refused {
        reference: String,
        digest: Digest,
        reason: Rejection,
        tried: usize,
    },
}

impl crate::problem::Hint for SignatureError {
    fn hint(&self) -> Option<String> {
        Some("only images signed with one of the given keys are accepted (`cosign sign --key cosign.key IMAGE@DIGEST`); -v lists each signature tried and why it was rejected".into())
    }
}

/// An accepted signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The candidate's origin.
    pub signature: String,
    /// The key file that verified it.
    pub key: String,
}

/// Check one signature layer against the keys, the manifest digest that was read and the
/// repository it was read from; the key that verified it when accepted.
pub fn check<'k>(
    c: &Candidate,
    keys: &'k [PublicKey],
    digest: &Digest,
    repository: &str,
) -> Result<&'k PublicKey, Rejection> {
    if c.media_type.as_deref() != Some(SIMPLE_SIGNING_MEDIA_TYPE) {
        return Err(Rejection::NotSimpleSigning {
            media_type: c.media_type.clone(),
        });
    }
    let found = Digest::sha256_of(&c.payload);
    if found != c.digest {
        return Err(Rejection::PayloadDigest {
            expected: c.digest.clone(),
            found,
        });
    }
    let text = c.signature.as_deref().ok_or(Rejection::NoAnnotation)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| Rejection::BadEncoding)?;
    let key = keys
        .iter()
        .find(|k| k.verifies(&c.payload, &signature))
        .ok_or(Rejection::NotVerified { keys: keys.len() })?;
    // Only now is the payload trusted enough to read its claims.
    let p = SimpleSigning::parse(&c.payload).map_err(|e| Rejection::BadPayload {
        problem: e.to_string(),
    })?;
    if p.critical.kind != COSIGN_TYPE {
        return Err(Rejection::WrongType {
            found: p.critical.kind,
        });
    }
    if p.critical.image.digest().as_ref() != Some(digest) {
        return Err(Rejection::OtherDigest {
            found: p.critical.image.docker_manifest_digest,
        });
    }
    let named = &p.critical.identity.docker_reference;
    if !same_repository(named, repository) {
        return Err(Rejection::OtherRepository {
            found: named.clone(),
        });
    }
    Ok(key)
}

/// Accept the image when one candidate passes [`check`]; each rejection is logged at info
/// level (`-v`), and the most telling one is the error.
pub fn verify(
    reference: &str,
    digest: &Digest,
    candidates: &[Candidate],
    keys: &[PublicKey],
    looked: &str,
) -> Result<Accepted, SignatureError> {
    let mut worst: Option<Rejection> = None;
    for c in candidates {
        match check(c, keys, digest, reference) {
            Ok(key) => {
                tracing::info!(reference, %digest, signature = %c.origin, key = key.origin(), "signature accepted");
                return Ok(Accepted {
                    signature: c.origin.clone(),
                    key: key.origin().to_string(),
                });
            }
            Err(why) => {
                tracing::info!(reference, %digest, signature = %c.origin, "signature rejected: {why}");
                if worst.as_ref().is_none_or(|w| why.weight() > w.weight()) {
                    worst = Some(why);
                }
            }
        }
    }
    match worst {
        None => Err(SignatureError::NoSignature {
            reference: reference.to_string(),
            digest: digest.clone(),
            looked: looked.to_string(),
        }),
        Some(reason) => Err(SignatureError::Refused {
            reference: reference.to_string(),
            digest: digest.clone(),
            reason,
            tried: candidates.len(),
        }),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
