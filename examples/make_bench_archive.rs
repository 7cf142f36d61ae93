//! Write the benchmark's oci-archive: one image with a label and a layer of SIZE bytes, built
//! by the test kit's image builder (`xnat_cmd_testkit::images`) and streamed to disk, never
//! held in memory.
//!
//! Usage: `cargo run --release --example make_bench_archive -- OUT_DIR SIZE_BYTES`
//! Writes `OUT_DIR/bench.tar` (tag `bench`) and prints its path.

use std::path::PathBuf;

use xnat_cmd_testkit::images::{write_oci_archive, Compress, ImageBuilder, Layer, OciLayout};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make_bench_archive OUT_DIR SIZE_BYTES";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let size: u64 = args.next().ok_or(usage)?.parse()?;
    std::fs::create_dir_all(&out)?;
    let layer = Layer::large(&out.join("layer.tar"), size)?;
    let image = ImageBuilder::new()
        .label(
            "org.nrg.commands",
            r#"[{"name":"bench","type":"docker","command-line":"true"}]"#,
        )
        .label("bench-marker", "xnat-cmd-bench")
        .layer(layer)
        .build();
    let layout_dir = out.join("layout");
    let _ = std::fs::remove_dir_all(&layout_dir);
    let mut layout = OciLayout::new(&layout_dir);
    layout.add("bench", &image);
    let archive = out.join("bench.tar");
    write_oci_archive(&layout, &archive, Compress::None)?;
    // The layout and the loose layer were only steps: keep just the archive.
    std::fs::remove_dir_all(&layout_dir)?;
    std::fs::remove_file(out.join("layer.tar"))?;
    println!("{}", archive.display());
    Ok(())
}
