//! A cosign public key (`cosign.pub`): PEM `PUBLIC KEY` → SubjectPublicKeyInfo → the ECDSA
//! P-256 point ring verifies with. Pure apart from [`PublicKey::load`], which reads the file.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("failed to read key file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("key file `{path}` holds no PEM `PUBLIC KEY` block (expected cosign's `cosign.pub`)")]
    NotPem { path: PathBuf },
    #[error("key file `{path}` holds a `{label}` PEM block, not a `PUBLIC KEY` (pass the public key, `cosign.pub`, never the private one)")]
    WrongLabel { path: PathBuf, label: String },
    #[error("key file `{path}`: {problem}")]
    Unsupported { path: PathBuf, problem: SpkiError },
}

impl crate::problem::Hint for KeyError {
    fn hint(&self) -> Option<String> {
        Some("pass the public key cosign wrote next to the private one (`cosign generate-key-pair` makes cosign.key and cosign.pub), or export it with `cosign public-key --key …`".into())
    }
}

/// What is wrong with the SubjectPublicKeyInfo of a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpkiError {
    #[error("the public key is not valid DER (SubjectPublicKeyInfo)")]
    Malformed,
    #[error("the key is not an elliptic-curve key (RSA and Ed25519 cosign keys are not supported; cosign generate-key-pair makes ECDSA P-256 keys)")]
    NotEc,
    #[error("the elliptic-curve key is not on P-256 (the curve cosign generate-key-pair uses)")]
    NotP256,
    #[error("the P-256 point is not in uncompressed form")]
    Compressed,
}

/// An ECDSA P-256 public key, as cosign's `cosign.pub` holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The uncompressed SEC1 point (`04 || X || Y`, 65 bytes): what ring verifies with.
    point: Vec<u8>,
    /// Where it came from (a file path), for logs and messages.
    origin: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Read a PEM public key file (`cosign.pub`).
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let text = crate::limits::read_file(path, crate::limits::MAX_KEY_FILE_BYTES).map_err(
            |source| KeyError::Read {
                path: path.to_path_buf(),
                source,
            },
        )?;
        PublicKey::from_pem(&text, path)
    }

    /// A PEM `PUBLIC KEY` block (the first one in `text`); `path` names it in messages.
    pub fn from_pem(text: &[u8], path: &Path) -> Result<PublicKey, KeyError> {
        let block = pem::parse(text).map_err(|_| KeyError::NotPem {
            path: path.to_path_buf(),
        })?;
        if block.tag() != "PUBLIC KEY" {
            return Err(KeyError::WrongLabel {
                path: path.to_path_buf(),
                label: block.tag().to_string(),
            });
        }
        let point = p256_point(block.contents()).map_err(|problem| KeyError::Unsupported {
            path: path.to_path_buf(),
            problem,
        })?;
        Ok(PublicKey {
            point: point.to_vec(),
            origin: path.display().to_string(),
        })
    }

    /// Where the key came from (its file), for logs and messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Does `signature` (ASN.1 DER ECDSA) verify over `message` with SHA-256 and this key?
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &self.point,
        );
        key.verify(message, signature).is_ok()
    }
}

/// `id-ecPublicKey` (1.2.840.10045.2.1), DER-encoded content of the OID.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `prime256v1` / `secp256r1` (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The uncompressed point of a P-256 SubjectPublicKeyInfo:
/// `SEQUENCE { SEQUENCE { OID ecPublicKey, OID prime256v1 }, BIT STRING (0 unused) point }`.
///
/// Written by hand: ring verifies with the raw point but does not parse SPKI, and this one
/// fixed structure is a few dozen lines, where the `spki`/`der` crates would add a second
/// ASN.1 stack to the tree for it.
pub fn p256_point(spki: &[u8]) -> Result<&[u8], SpkiError> {
    let (outer, rest) = der(spki, 0x30)?;
    if !rest.is_empty() {
        return Err(SpkiError::Malformed);
    }
    let (algorithm, rest) = der(outer, 0x30)?;
    let (bits, rest) = der(rest, 0x03)?;
    if !rest.is_empty() {
        return Err(SpkiError::Malformed);
    }
    let (oid, params) = der(algorithm, 0x06)?;
    if oid != OID_EC_PUBLIC_KEY {
        return Err(SpkiError::NotEc);
    }
    let curve = match der(params, 0x06) {
        Ok((curve, [])) => curve,
        _ => return Err(SpkiError::NotP256),
    };
    if curve != OID_P256 {
        return Err(SpkiError::NotP256);
    }
    match bits {
        [0, 0x04, point @ ..] if point.len() == 64 => Ok(&bits[1..]),
        [0, 0x02 | 0x03, ..] => Err(SpkiError::Compressed),
        _ => Err(SpkiError::Malformed),
    }
}

/// One DER element of `tag` at the start of `input`: its content and what follows it.
/// Definite lengths up to two length bytes (a P-256 SPKI is 91 bytes).
fn der(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), SpkiError> {
    let (&found, rest) = input.split_first().ok_or(SpkiError::Malformed)?;
    if found != tag {
        return Err(SpkiError::Malformed);
    }
    let (&first, rest) = rest.split_first().ok_or(SpkiError::Malformed)?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let (&n, rest) = rest.split_first().ok_or(SpkiError::Malformed)?;
            (usize::from(n), rest)
        }
        0x82 => match rest {
            [a, b, rest @ ..] => (usize::from(*a) << 8 | usize::from(*b), rest),
            _ => return Err(SpkiError::Malformed),
        },
        _ => return Err(SpkiError::Malformed),
    };
    if rest.len() < len {
        return Err(SpkiError::Malformed);
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 public key in cosign's `cosign.pub` form (from sigstore's public test data).
    pub(crate) const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAELKhD7F5OKy77Z582Y6h0u1J3GNA+
kvUsh4eKpd1lwkDAzfFDs7yXEExsEkPPuiQJBelDT68n7PDIWB/QEY7mrA==
-----END PUBLIC KEY-----
";

    /// A SubjectPublicKeyInfo with the rsaEncryption algorithm (and a one-byte key).
    const RSA_SPKI: &[u8] = &[
        0x30, 0x13, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00, 0x03, 0x02, 0x00, 0x01,
    ];

    fn spki_of(pem_text: &str) -> Vec<u8> {
        pem::parse(pem_text).map(|p| p.into_contents()).unwrap()
    }

    #[test]
    fn spki_table() {
        let good = spki_of(P256_PEM);
        let mut p384_curve = good.clone();
        // Last byte of the curve OID: 1.2.840.10045.3.1.7 → …3.1.8 (not P-256).
        p384_curve[22] = 0x08;
        let mut compressed = good.clone();
        compressed[26] = 0x02;
        let cases: Vec<(&str, Vec<u8>, Result<usize, SpkiError>)> = vec![
            ("P-256 key", good.clone(), Ok(65)),
            ("another curve", p384_curve, Err(SpkiError::NotP256)),
            ("compressed point", compressed, Err(SpkiError::Compressed)),
            ("truncated", good[..40].to_vec(), Err(SpkiError::Malformed)),
            (
                "trailing bytes",
                [good.clone(), vec![0]].concat(),
                Err(SpkiError::Malformed),
            ),
            ("empty", vec![], Err(SpkiError::Malformed)),
            ("RSA key", RSA_SPKI.to_vec(), Err(SpkiError::NotEc)),
        ];
        for (name, input, want) in cases {
            let got = p256_point(&input).map(<[u8]>::len);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn pem_table() {
        let p = Path::new("k.pub");
        assert!(PublicKey::from_pem(P256_PEM.as_bytes(), p).is_ok());
        let private = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        let cases: Vec<(&str, &[u8], &str)> = vec![
            ("not PEM", b"hello", "holds no PEM"),
            ("private key", private.as_bytes(), "never the private one"),
        ];
        for (name, input, want) in cases {
            let e = PublicKey::from_pem(input, p).unwrap_err().to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
    }
}
