//! Content digests (`algorithm:hex`) as one validated type: parsed where a digest enters (a
//! document's descriptor, a `Docker-Content-Digest` header, a cache record), computed from
//! bytes, and checked against bytes. Pure.
//!
//! Only a parsed [`Digest`] names a file (registry cache entries, archive blobs), so no digest
//! text can make a path leave its directory. `sha256` and `sha512` parse (the algorithms image
//! references allow); only `sha256` is verified, as everywhere in practice.
//!
//! One rule on upper case, two entry points: a digest is always held in lower case; a digest
//! that *arrives* (a document's descriptor, a header: [`Digest::parse`]) may be written in
//! either case, since registries differ, and is normalised; a digest a person *writes* in an
//! image reference ([`Digest::parse_canonical`], used by [`crate::reference`]) must already be
//! lower case, as docker/distribution requires there (go-digest's `Validate`:
//! `sha256:[a-f0-9]{64}`), so `x@sha256:ABC…` is rejected as `docker pull` rejects it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A digest algorithm we can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A well-formed digest, hex in lower case (`sha256:` + 64 hex, or `sha512:` + 128 hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    /// `algorithm:hex`, normalised to lower case.
    text: String,
}

/// Text that is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a digest (expected sha256:<64 hex> or sha512:<128 hex>)")]
pub struct InvalidDigest {
    pub text: String,
}

/// Bytes that do not hash to the digest that named them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("digest mismatch for {what}: expected {expected}, found {found}")]
pub struct DigestMismatch {
    /// The document, as messages name it (`manifest of `x``, `` `entry` in `file` ``).
    pub what: String,
    pub expected: Digest,
    pub found: Digest,
}

/// Why [`Digest::verify`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("unsupported digest `{digest}` for {what}: only sha256 is supported")]
    Unsupported { what: String, digest: Digest },
    #[error(transparent)]
    Mismatch(#[from] DigestMismatch),
}

impl Digest {
    /// Parse `algorithm:hex` as it arrives from a server or document: the hex may be in either
    /// case (registries differ) and is kept in lower case.
    pub fn parse(text: &str) -> Result<Digest, InvalidDigest> {
        Digest::parse_with(text, |b| b.is_ascii_hexdigit())
    }

    /// Parse `algorithm:hex` as written in an image reference: the hex must be lower case
    /// (docker/distribution's rule), so the text is exactly what [`Digest::as_str`] gives back.
    pub fn parse_canonical(text: &str) -> Result<Digest, InvalidDigest> {
        Digest::parse_with(text, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    fn parse_with(text: &str, hex_digit: impl Fn(u8) -> bool) -> Result<Digest, InvalidDigest> {
        let invalid = || InvalidDigest {
            text: text.to_string(),
        };
        let (name, hex) = text.split_once(':').ok_or_else(invalid)?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(invalid()),
        };
        if hex.len() != algorithm.hex_len() || !hex.bytes().all(hex_digit) {
            return Err(invalid());
        }
        Ok(Digest {
            text: format!("{name}:{}", hex.to_ascii_lowercase()),
        })
    }

    /// `text` as a sha256 digest, the one algorithm we verify (and so the only one that may
    /// name a cached or archived file); `None` for anything else.
    pub fn parse_sha256(text: &str) -> Option<Digest> {
        Digest::parse(text)
            .ok()
            .filter(|d| d.algorithm() == Algorithm::Sha256)
    }

    /// The `sha256` digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            text: format!("sha256:{}", hex::encode(Sha256::digest(bytes))),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        if self.text.starts_with("sha512:") {
            Algorithm::Sha512
        } else {
            Algorithm::Sha256
        }
    }

    /// The hex part, lower case: safe to use as a file name.
    pub fn hex(&self) -> &str {
        let name = self.algorithm().name();
        &self.text[name.len() + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Check that `bytes` hash to this digest; `what` names them in the error.
    pub fn verify(&self, bytes: &[u8], what: &str) -> Result<(), VerifyError> {
        if self.algorithm() != Algorithm::Sha256 {
            return Err(VerifyError::Unsupported {
                what: what.to_string(),
                digest: self.clone(),
            });
        }
        let found = Digest::sha256_of(bytes);
        if found == *self {
            Ok(())
        } else {
            Err(DigestMismatch {
                what: what.to_string(),
                expected: self.clone(),
                found,
            }
            .into())
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Digest {
    type Err = InvalidDigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

/// A digest reads as its text (`sha256:…`), so `Option<Digest>::as_deref()` is the text.
impl std::ops::Deref for Digest {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn parse_table() {
        let upper = HELLO.to_ascii_uppercase().replacen("SHA256", "sha256", 1);
        let sha512 = format!("sha512:{}", "a".repeat(128));
        let cases: &[(&str, Option<&str>)] = &[
            (HELLO, Some(HELLO)),
            (&upper, Some(HELLO)),
            (&sha512, Some(&sha512)),
            ("sha256:abc", None),
            ("sha256:../../etc/passwd", None),
            ("sha256:", None),
            ("md5:0123", None),
            (
                "SHA256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
                None,
            ),
            (&format!("sha512:{}", "a".repeat(64)), None),
            ("", None),
            ("latest", None),
        ];
        for (text, want) in cases {
            let got = Digest::parse(text).ok();
            assert_eq!(got.as_ref().map(Digest::as_str), *want, "{text}");
        }
        let d = Digest::parse(&sha512).unwrap();
        assert_eq!(
            (d.algorithm(), d.hex()),
            (Algorithm::Sha512, &*"a".repeat(128))
        );
    }

    /// The one rule on upper case: documents may send it (normalised), references may not
    /// (docker rejects `x@sha256:ABC…`); everything else both entry points judge alike.
    #[test]
    fn upper_case_hex_arrives_normalised_but_is_not_canonical() {
        let upper = HELLO.to_ascii_uppercase().replacen("SHA256", "sha256", 1);
        let mixed = format!("sha256:2CF24dba{}", &HELLO[15..]);
        assert_eq!(Digest::parse(&upper).unwrap().as_str(), HELLO);
        assert_eq!(Digest::parse(&mixed).unwrap().as_str(), HELLO);
        for text in [&upper, &mixed] {
            assert_eq!(
                Digest::parse_canonical(text),
                Err(InvalidDigest {
                    text: text.to_string()
                }),
                "{text}"
            );
        }
        let sha512 = format!("sha512:{}", "a".repeat(128));
        for text in [HELLO, &sha512, "sha256:abc", "md5:0123", "", "sha256:../x"] {
            assert_eq!(
                Digest::parse_canonical(text).ok(),
                Digest::parse(text).ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn display_and_parse_round_trip() {
        let sha512 = format!("sha512:{}", "0f".repeat(64));
        for text in [HELLO, &sha512] {
            let d = Digest::parse_canonical(text).unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Digest::parse_canonical(d.as_ref()), Ok(d.clone()));
            assert_eq!(text.parse::<Digest>(), Ok(d));
        }
    }

    #[test]
    fn compute_and_verify() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(d.as_str(), HELLO);
        assert_eq!(d.hex(), &HELLO[7..]);
        assert_eq!(d.verify(b"hello", "blob"), Ok(()));
        assert_eq!(
            d.verify(b"hellO", "blob"),
            Err(VerifyError::Mismatch(DigestMismatch {
                what: "blob".into(),
                expected: d.clone(),
                found: Digest::sha256_of(b"hellO"),
            }))
        );
        let sha512 = Digest::parse(&format!("sha512:{}", "0".repeat(128))).unwrap();
        assert!(matches!(
            sha512.verify(b"x", "blob"),
            Err(VerifyError::Unsupported { .. })
        ));
    }

    #[test]
    fn serialises_as_the_string() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{HELLO}\""));
        let back: Digest = serde_json::from_str(&format!("\"{HELLO}\"")).unwrap();
        assert_eq!(back, d);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }
}
