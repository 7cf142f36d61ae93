//! Seed inputs for the fuzz targets in `fuzz/` that take images: the testkit's images built in
//! code, written as the bytes each target reads (labels, manifests, indexes, configs,
//! `docker save` and `oci-archive` tars, plain and gzip). The text targets' seeds are small
//! files in `fuzz/seeds/`; `scripts/fuzz.sh` runs this and copies both into the corpora.
//!
//! Usage: `cargo run --example fuzz_seeds -- OUT_DIR` (writes `OUT_DIR/<target>/<name>`).

// A development tool: it reads its own files and settings directly (clippy.toml bans that in
// the product only).
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::path::Path;

use xnat_cmd_testkit::images::{
    write_docker25_archive, write_docker_archive, write_oci_archive, BuiltImage, BuiltIndex,
    Compress, Format, ImageBuilder, Layer, OciLayout, Saved,
};

/// Index of each media type in the `manifest` target's table (its first input byte).
const BY_SHAPE: u8 = 0;
const OCI_INDEX: u8 = 1;
const OCI_MANIFEST: u8 = 2;
const DOCKER_LIST: u8 = 3;
const DOCKER_MANIFEST: u8 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: fuzz_seeds OUT_DIR")?;
    let out = Path::new(&out);
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = out.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes)
    };

    // The project's example commands as labels: a list of command objects.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut label = String::from("[]");
    for name in ["setup-command.json", "command.json"] {
        let text = fs::read_to_string(root.join("examples/hello-xnat").join(name))?;
        let cmd: serde_json::Value = serde_json::from_str(&text)?;
        let one = serde_json::to_string(&vec![cmd])?;
        write("label_command", name, text.as_bytes())?;
        write("label_command", &format!("label-{name}"), one.as_bytes())?;
        label = one;
    }

    let image = |format: Format, platform: &str| -> BuiltImage {
        ImageBuilder::new()
            .label("org.nrg.commands", &label)
            .label("org.opencontainers.image.title", "fuzz seed")
            .platform(platform)
            .format(format)
            .layer(Layer::small("seed", format))
            .build()
    };
    let oci = image(Format::Oci, "linux/amd64");
    let docker = image(Format::Docker, "linux/amd64");
    let arm = image(Format::Oci, "linux/arm64/v8");
    let index = BuiltIndex::with_attestation(vec![oci.clone(), arm.clone()]);
    let docker_arm = image(Format::Docker, "linux/arm64/v8");
    let list = BuiltIndex::new(vec![docker.clone(), docker_arm]);

    // Manifests, indexes and configs, each by shape and with its Content-Type.
    let manifest = |name: &str, kind: u8, bytes: &[u8]| -> std::io::Result<()> {
        for k in [BY_SHAPE, kind] {
            let mut input = vec![k];
            input.extend_from_slice(bytes);
            write("manifest", &format!("{name}-{k}"), &input)?;
        }
        Ok(())
    };
    manifest("oci-manifest", OCI_MANIFEST, &oci.manifest_bytes)?;
    manifest("docker-manifest", DOCKER_MANIFEST, &docker.manifest_bytes)?;
    manifest("oci-index", OCI_INDEX, &index.bytes)?;
    manifest("docker-list", DOCKER_LIST, &list.bytes)?;
    manifest("oci-config", BY_SHAPE, &oci.config_bytes)?;
    manifest("docker-config", BY_SHAPE, &docker.config_bytes)?;

    let tmp = std::env::temp_dir().join(format!("xnat-cmd-fuzz-seeds-{}", std::process::id()));
    fs::create_dir_all(&tmp)?;
    let copy = |target: &str, name: &str, path: &Path| -> std::io::Result<()> {
        write(target, name, &fs::read(path)?)
    };

    // `docker save`: legacy and Docker ≥ 25 layouts, one and several images, plain and gzip.
    let one = [Saved::new(&docker, &["example.org/tool:1"])];
    let several = [
        Saved::new(&docker, &["example.org/tool:1", "example.org/tool:latest"]),
        Saved::new(&arm, &["example.org/other:2"]),
    ];
    let archive = tmp.join("archive.tar");
    for (name, saved, compress) in [
        ("legacy.tar", &one[..], Compress::None),
        ("legacy.tar.gz", &one[..], Compress::Gzip),
        ("legacy-several.tar", &several[..], Compress::None),
    ] {
        write_docker_archive(&archive, saved, compress)?;
        copy("docker_archive", name, &archive)?;
    }
    for (name, saved, compress) in [
        ("docker25.tar", &one[..], Compress::None),
        ("docker25-several.tar.gz", &several[..], Compress::Gzip),
    ] {
        write_docker25_archive(&archive, saved, compress)?;
        copy("docker_archive", name, &archive)?;
    }

    // `oci-archive`: one tagged image, then an index with an attestation beside it.
    let mut layout = OciLayout::new(tmp.join("layout"));
    layout.add("latest", &oci);
    write_oci_archive(&layout, &archive, Compress::None)?;
    copy("oci_archive", "one.tar", &archive)?;
    layout.add_index("example.org/tool:2", &index);
    for (name, compress) in [
        ("index.tar", Compress::None),
        ("index.tar.gz", Compress::Gzip),
    ] {
        write_oci_archive(&layout, &archive, compress)?;
        copy("oci_archive", name, &archive)?;
    }

    fs::remove_dir_all(&tmp)?;
    Ok(())
}
