//! The simple-signing payload cosign signs (sigstore's `payload.SimpleContainerImage`):
//! `{"critical": {"identity": {"docker-reference": …}, "image": {"docker-manifest-digest": …},
//! "type": "cosign container image signature"}, "optional": …}`. Pure.

use serde::Deserialize;

use crate::digest::Digest;

/// `critical.type` of a cosign container image signature.
pub const COSIGN_TYPE: &str = "cosign container image signature";

/// A simple-signing payload; only the `critical` part is checked (`optional` holds annotations
/// the signer chose, which key-based verification does not constrain).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SimpleSigning {
    pub critical: Critical,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Critical {
    pub identity: Identity,
    pub image: Image,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Identity {
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Image {
    /// As the payload holds it: a rejection names it as written, digest or not.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl Image {
    /// The digest that was signed; `None` when the payload's text is not a digest.
    pub fn digest(&self) -> Option<Digest> {
        Digest::parse(&self.docker_manifest_digest).ok()
    }
}

impl SimpleSigning {
    /// Parse the payload bytes (the exact bytes the signature covers).
    pub fn parse(bytes: &[u8]) -> Result<SimpleSigning, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        // cosign's own output (sigstore payload package, `optional: null`), one with annotations,
        // and shapes that are not a simple-signing payload.
        /// The docker-reference and digest read, `None` when it does not parse.
        type Claims<'a> = Option<(&'a str, &'a str)>;
        let cases: Vec<(&str, &str, Claims)> = vec![
            (
                "cosign payload",
                r#"{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}"#,
                Some((
                    "index.docker.io/namespace/image",
                    "sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec",
                )),
            ),
            (
                "with annotations",
                r#"{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"sha256:aa"},"type":"t"},"optional":{"a":"b"}}"#,
                Some(("r/x", "sha256:aa")),
            ),
            ("not JSON", "hello", None),
            ("no critical", r#"{"optional":{}}"#, None),
            (
                "no identity",
                r#"{"critical":{"image":{"docker-manifest-digest":"sha256:aa"},"type":"t"}}"#,
                None,
            ),
        ];
        for (name, input, want) in cases {
            let got = SimpleSigning::parse(input.as_bytes()).ok().map(|p| {
                (
                    p.critical.identity.docker_reference,
                    p.critical.image.docker_manifest_digest,
                )
            });
            let want = want.map(|(a, b)| (a.to_string(), b.to_string()));
            assert_eq!(got, want, "{name}");
        }
    }

    /// The signed digest is read as a [`Digest`] (either case, normalised); text that is not a
    /// digest is kept as written, for the rejection, and reads as none.
    #[test]
    fn signed_digest_is_typed() {
        let hex = "4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec";
        let image = |text: &str| Image {
            docker_manifest_digest: text.to_string(),
        };
        let want = Digest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(image(&format!("sha256:{hex}")).digest(), Some(want.clone()));
        let upper = format!("sha256:{}", hex.to_ascii_uppercase());
        assert_eq!(image(&upper).digest(), Some(want));
        assert_eq!(image("sha256:aa").digest(), None);
    }
}
