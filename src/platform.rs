//! Image platforms (`os/arch[/variant]`): parsing, normalisation and matching.
//!
//! The default is linux/amd64 — what XNAT runs — and deliberately not the host's platform
//! (skopeo's host default is the most reported confusion of its users). Attestation entries
//! of BuildKit indexes (`unknown/unknown`) are never images.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid platform `{value}`: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
)]
pub struct PlatformError {
    pub value: String,
}

impl Default for Platform {
    fn default() -> Self {
        Platform::linux_amd64()
    }
}

impl Platform {
    pub fn linux_amd64() -> Self {
        Platform::new("linux", "amd64", None)
    }

    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let (architecture, variant) = normalize_arch(architecture, variant);
        Platform {
            os: os.to_ascii_lowercase(),
            architecture,
            variant,
        }
    }

    pub fn parse(value: &str) -> Result<Self, PlatformError> {
        let err = || PlatformError {
            value: value.to_string(),
        };
        let parts: Vec<&str> = value.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || p.contains(char::is_whitespace))
        {
            return Err(err());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(err()),
        }
    }

    /// BuildKit attestation manifests carry `unknown/unknown`.
    pub fn is_attestation(&self) -> bool {
        self.os == "unknown" || self.architecture == "unknown"
    }

    /// Does an image of platform `self` satisfy a request for `wanted`?
    /// A request without a variant accepts any variant of that architecture.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }
}

/// Normalise architecture aliases the way containerd's `platforms` package does.
fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.map(|v| v.to_ascii_lowercase());
    match arch.as_str() {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), variant.filter(|v| v != "v1")),
        "aarch64" | "arm64" => (
            "arm64".into(),
            match variant.as_deref() {
                None | Some("v8") | Some("8") => Some("v8".into()),
                Some(_) => variant,
            },
        ),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "i386" | "386" => ("386".into(), variant),
        _ => (arch, variant),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("linux/amd64", Some("linux/amd64")),
            ("linux/x86_64", Some("linux/amd64")),
            ("linux/arm64", Some("linux/arm64/v8")),
            ("linux/aarch64/v8", Some("linux/arm64/v8")),
            ("linux/arm/v7", Some("linux/arm/v7")),
            ("Linux/AMD64", Some("linux/amd64")),
            ("linux", None),
            ("linux/", None),
            ("linux/amd64/v1/x", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = Platform::parse(input).ok().map(|p| p.to_string());
            assert_eq!(got.as_deref(), *want, "input {input:?}");
        }
    }

    #[test]
    fn satisfies_ignores_missing_variant_in_request() {
        let img = Platform::new("linux", "arm64", Some("v8"));
        assert!(img.satisfies(&Platform::parse("linux/arm64").unwrap()));
        assert!(!img.satisfies(&Platform::linux_amd64()));
        let arm7 = Platform::new("linux", "arm", Some("v7"));
        assert!(!arm7.satisfies(&Platform::parse("linux/arm/v6").unwrap()));
    }

    #[test]
    fn attestation_is_recognised() {
        assert!(Platform::new("unknown", "unknown", None).is_attestation());
        assert!(!Platform::linux_amd64().is_attestation());
    }
}
