//! Archive sources (`oci:`, `oci-archive:`, `docker-archive:`) read through the library API,
//! with fixtures from `support::images` and skopeo as an independent writer and reader.

use std::collections::BTreeMap;

use crate::support::images::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The fixtures are real images: skopeo reads every layout and archive kind we write.
#[test]
fn fixtures_are_readable_by_skopeo() {
    let tmp = tempfile::tempdir().unwrap();
    let amd = ImageBuilder::new().label("a", "amd").build();
    let arm = ImageBuilder::new()
        .label("a", "arm")
        .platform("linux/arm64/v8")
        .build();
    let idx = BuiltIndex::with_attestation(vec![amd.clone(), arm.clone()]);
    let mut layout = OciLayout::new(tmp.path().join("l"));
    layout
        .add("v1", &amd)
        .add_index("multi", &idx)
        .add("xnat/small:v1", &amd);
    let cfg = |src: String, extra: &[&str]| -> serde_json::Value {
        let mut args = extra.to_vec();
        args.extend(["inspect", "--config", &src]);
        serde_json::from_slice(&skopeo(&args).unwrap()).unwrap()
    };
    let l = layout.dir.display().to_string();
    assert_eq!(
        cfg(format!("oci:{l}:v1"), &[])["config"]["Labels"],
        serde_json::json!({"a": "amd"})
    );
    assert_eq!(
        cfg(format!("oci:{l}:multi"), &["--override-arch", "arm64"])["config"]["Labels"]["a"],
        "arm"
    );
    let oa = tmp.path().join("o.tar");
    write_oci_archive(&layout, &oa, Compress::None).unwrap();
    assert_eq!(
        cfg(format!("oci-archive:{}:v1", oa.display()), &[])["config"]["Labels"]["a"],
        "amd"
    );
    for (name, write) in [
        (
            "legacy.tar",
            write_docker_archive
                as fn(&std::path::Path, &[Saved<'_>], Compress) -> std::io::Result<()>,
        ),
        ("d25.tar", write_docker25_archive),
    ] {
        let p = tmp.path().join(name);
        write(&p, &[Saved::new(&arm, &["xnat/small:v1"])], Compress::None).unwrap();
        let c = cfg(format!("docker-archive:{}", p.display()), &[]);
        assert_eq!(c["config"]["Labels"]["a"], "arm", "{name}");
        assert_eq!(sha256(&serde_json::to_vec(&c).unwrap()).len(), 71);
    }
    let _ = labels(&[]);
}
