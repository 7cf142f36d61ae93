//! Manifests and indexes (OCI and Docker, any media type) and image configs as a registry,
//! a daemon or an archive hands them over, and the platform choice in an index.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::source::manifest::{self, ImageConfig, ManifestDoc};
use xnat_cmd::Platform;

mod alloc_cap;

/// The media types a registry may send in Content-Type, picked by the first byte.
const MEDIA_TYPES: &[Option<&str>] = &[
    None,
    Some("application/vnd.oci.image.index.v1+json"),
    Some("application/vnd.oci.image.manifest.v1+json"),
    Some("application/vnd.docker.distribution.manifest.list.v2+json"),
    Some("application/vnd.docker.distribution.manifest.v2+json"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
    Some("application/json; charset=utf-8"),
    Some("text/html"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let media_type = MEDIA_TYPES[usize::from(first) % MEDIA_TYPES.len()];
    match manifest::parse_manifest(bytes, media_type, "fuzz") {
        Ok(ManifestDoc::Index(index)) => {
            for (platform, d) in manifest::image_entries(&index) {
                let _ = platform.map(|p| p.is_attestation());
                let _ = (
                    d.digest("fuzz"),
                    d.annotation("org.opencontainers.image.ref.name"),
                    d.is_index(),
                );
            }
            let _ = manifest::select_platform(&index, &Platform::linux_amd64(), "fuzz");
            if let Ok(arm) = Platform::parse("linux/arm64/v8") {
                let _ = manifest::select_platform(&index, &arm, "fuzz");
            }
        }
        Ok(ManifestDoc::Image(_)) | Ok(ManifestDoc::Schema1(_)) => {}
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Ok(config) = ImageConfig::parse(bytes, "fuzz") {
        let _ = (config.platform(), config.labels());
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = Platform::parse(text);
    }
});
