//! Cosign signatures made in Rust, in cosign's format: an ECDSA P-256 key pair (ring, already
//! a dependency), the simple-signing payload as cosign writes it, and the signature manifest
//! (one `application/vnd.dev.cosign.simplesigning.v1+json` layer per signature, the base64 DER
//! signature in `dev.cosignproject.cosign/signature`) pushed as `sha256-<hex>.sig`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::json;

use crate::images::sha256;
use crate::registry::Registry;

/// The DER SubjectPublicKeyInfo prefix of a P-256 key, before its 65-byte uncompressed point.
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A throw-away ECDSA P-256 signing key (what `cosign generate-key-pair` makes).
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Default for SigningKey {
    fn default() -> Self {
        Self::generate()
    }
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("generate P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .expect("load P-256 key");
        SigningKey { pair, rng }
    }

    /// The public key as `cosign.pub` holds it: PEM `PUBLIC KEY` (SPKI).
    pub fn public_pem(&self) -> String {
        let der = [P256_SPKI_PREFIX, self.pair.public_key().as_ref()].concat();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// Write the public key to `dir/name` and return its path.
    pub fn write_public(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.public_pem()).expect("write public key");
        path
    }

    /// The base64 ASN.1 DER ECDSA-SHA256 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        let sig = self.pair.sign(&self.rng, message).expect("sign");
        base64::engine::general_purpose::STANDARD.encode(sig.as_ref())
    }
}

/// The simple-signing payload exactly as cosign writes it (sigstore `payload.Cosign`).
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{docker_reference}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
    .into_bytes()
}

/// One signature layer: the payload blob and the annotation value.
#[derive(Debug, Clone)]
pub struct SigLayer {
    pub payload: Vec<u8>,
    pub signature: String,
}

impl SigLayer {
    /// `key`'s signature over cosign's payload for `docker_reference` and `digest`.
    pub fn signed(key: &SigningKey, docker_reference: &str, digest: &str) -> SigLayer {
        let payload = payload(docker_reference, digest);
        SigLayer {
            signature: key.sign(&payload),
            payload,
        }
    }
}

/// The tag cosign stores signatures of `digest` under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1) + ".sig"
}

/// A signature manifest as cosign writes it: an OCI image manifest with a config listing the
/// layers and one simple-signing layer per signature. The manifest bytes and every blob.
pub fn signature_manifest(layers: &[SigLayer]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.payload)).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}
    }))
    .expect("config json");
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|l| {
            json!({
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "size": l.payload.len(),
                "digest": sha256(&l.payload),
                "annotations": {"dev.cosignproject.cosign/signature": l.signature}
            })
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": config.len(), "digest": sha256(&config)},
        "layers": layer_descs
    }))
    .expect("manifest json");
    let mut blobs: Vec<Vec<u8>> = layers.iter().map(|l| l.payload.clone()).collect();
    blobs.push(config);
    (manifest, blobs)
}

/// Push the signature manifest of `layers` for `digest` to `repo` on `registry`, under cosign's
/// `sha256-<hex>.sig` tag.
pub async fn push_signatures(registry: &Registry, repo: &str, digest: &str, layers: &[SigLayer]) {
    let (manifest, blobs) = signature_manifest(layers);
    registry
        .push_manifest_with_blobs(
            repo,
            &signature_tag(digest),
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
            blobs,
        )
        .await;
}
