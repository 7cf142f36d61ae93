//! Archive sources (`oci:`, `oci-archive:`, `docker-archive:`) read through the library API,
//! with fixtures from `support::images` and skopeo as an independent writer and reader.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use xnat_cmd::source::archive::ArchiveError;
use xnat_cmd::source::{
    ImageRecord, ReadOptions, ReadResult, Reader, SourceError, SourceOptions, SourceSpec,
};
use xnat_cmd::{Digest, Platform};

use crate::support::images::*;

fn read_with(spec: &str, opts: ReadOptions) -> Result<ReadResult, SourceError> {
    let spec = SourceSpec::parse(spec).expect("spec parses");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(Reader::new(SourceOptions::default()).read(&spec, &opts))
}

fn read(spec: &str) -> ReadResult {
    read_with(spec, ReadOptions::default()).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn fail_with(spec: &str, opts: ReadOptions) -> ArchiveError {
    match read_with(spec, opts) {
        Err(SourceError::Archive(e)) => e,
        Err(other) => panic!("{spec}: not an archive error: {other}"),
        Ok(r) => panic!("{spec}: unexpected success {:?}", r.images),
    }
}

fn fail(spec: &str) -> ArchiveError {
    fail_with(spec, ReadOptions::default())
}

fn platform(p: &str) -> ReadOptions {
    ReadOptions {
        platform: Platform::parse(p).unwrap(),
        ..ReadOptions::default()
    }
}

fn all_platforms() -> ReadOptions {
    ReadOptions {
        all_platforms: true,
        ..ReadOptions::default()
    }
}

/// The record `img` must give.
fn expect(img: &BuiltImage, image: Option<&str>, manifest: bool) -> ImageRecord {
    ImageRecord {
        image: image.map(str::to_string),
        manifest_digest: manifest.then(|| Digest::parse(&img.manifest_digest).unwrap()),
        config_digest: Some(Digest::parse(&img.config_digest).unwrap()),
        platform: Some(Platform::parse(&img.platform).unwrap()),
        labels: img.labels.clone(),
        verified_digest: None,
    }
}

const COMMANDS: &str = r#"[{"name":"small","type":"docker","image":"xnat/small:v1","command-line":"echo é ö — ✓ < > & \""}]"#;

struct Fx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    amd: BuiltImage,
    arm: BuiltImage,
    other: BuiltImage,
    idx: BuiltIndex,
    layout: OciLayout,
}

/// A layout with tags `v1` (amd64), `multi` (amd64 + arm64 + attestation), `xnat/small:v1`
/// (a full reference, same image as `v1`) and `other`.
fn fixtures() -> Fx {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let amd = ImageBuilder::new()
        .label("org.nrg.commands", COMMANDS)
        .label("arch", "amd")
        .build();
    let arm = ImageBuilder::new()
        .label("arch", "arm")
        .platform("linux/arm64/v8")
        .build();
    let other = ImageBuilder::new().label("arch", "other").build();
    let idx = BuiltIndex::with_attestation(vec![amd.clone(), arm.clone()]);
    let mut layout = OciLayout::new(root.join("layout"));
    layout
        .add("v1", &amd)
        .add_index("multi", &idx)
        .add("xnat/small:v1", &amd)
        .add("other", &other);
    Fx {
        _tmp: tmp,
        root,
        amd,
        arm,
        other,
        idx,
        layout,
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn oci_layout_selects_by_tag_platform_and_all_platforms() {
    let fx = fixtures();
    let l = p(&fx.layout.dir);
    assert_eq!(
        read(&format!("oci:{l}:v1")).images,
        vec![expect(&fx.amd, None, true)]
    );
    assert_eq!(
        read(&format!("oci:{l}:xnat/small:v1")).images,
        vec![expect(&fx.amd, Some("xnat/small:v1"), true)]
    );
    assert_eq!(
        read(&format!("oci:{l}:multi")).images,
        vec![expect(&fx.amd, None, true)]
    );
    let arm = read_with(&format!("oci:{l}:multi"), platform("linux/arm64")).unwrap();
    assert_eq!(arm.images, vec![expect(&fx.arm, None, true)]);
    let all = read_with(&format!("oci:{l}:multi"), all_platforms()).unwrap();
    assert_eq!(
        all.images,
        vec![expect(&fx.amd, None, true), expect(&fx.arm, None, true)]
    );
    // all_platforms of a single-platform image is that image.
    let one = read_with(&format!("oci:{l}:other"), all_platforms()).unwrap();
    assert_eq!(one.images, vec![expect(&fx.other, None, true)]);

    let e = fail_with(&format!("oci:{l}:multi"), platform("linux/s390x"));
    assert!(
        matches!(e, ArchiveError::NoPlatform { ref available, .. } if available == &["linux/amd64", "linux/arm64/v8"])
    );
    assert_eq!(
        e.to_string(),
        format!(
            "no image for platform linux/s390x in `{l}`; available: linux/amd64, linux/arm64/v8"
        )
    );
    let _ = &fx.idx;
}

#[test]
fn oci_layout_without_tag_needs_exactly_one_image() {
    let fx = fixtures();
    let l = p(&fx.layout.dir);
    let e = fail(&format!("oci:{l}"));
    let listed = vec![
        "v1".to_string(),
        "multi (multi-platform)".into(),
        "xnat/small:v1".into(),
        "other".into(),
    ];
    assert!(
        matches!(e, ArchiveError::Ambiguous { ref available, transport: "oci", .. } if *available == listed),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("`{l}` holds several images; name one as `oci:{l}:TAG`; available: v1, multi (multi-platform), xnat/small:v1, other")
    );
    let e = fail(&format!("oci:{l}:v9"));
    assert!(
        matches!(e, ArchiveError::UnknownTag { ref tag, ref available, .. } if tag == "v9" && *available == listed)
    );
    assert_eq!(
        e.to_string(),
        format!("no image tagged `v9` in `{l}`; available: v1, multi (multi-platform), xnat/small:v1, other")
    );
    let mut single = OciLayout::new(fx.root.join("single"));
    single.add("v1", &fx.other);
    assert_eq!(
        read(&format!("oci:{}", p(&single.dir))).images,
        vec![expect(&fx.other, None, true)]
    );
}

#[test]
fn oci_archive_plain_and_gzip() {
    let fx = fixtures();
    for c in [Compress::None, Compress::Gzip] {
        let a = fx.root.join(format!("o-{c:?}.tar"));
        write_oci_archive(&fx.layout, &a, c).unwrap();
        let a = p(&a);
        assert_eq!(
            read(&format!("oci-archive:{a}:v1")).images,
            vec![expect(&fx.amd, None, true)],
            "{c:?}"
        );
        let arm = read_with(
            &format!("oci-archive:{a}:multi"),
            platform("linux/arm64/v8"),
        )
        .unwrap();
        assert_eq!(arm.images, vec![expect(&fx.arm, None, true)], "{c:?}");
        let all = read_with(&format!("oci-archive:{a}:multi"), all_platforms()).unwrap();
        assert_eq!(all.images.len(), 2, "{c:?}");
        assert!(matches!(
            fail(&format!("oci-archive:{a}:nope")),
            ArchiveError::UnknownTag { .. }
        ));
        assert!(matches!(
            fail(&format!("oci-archive:{a}")),
            ArchiveError::Ambiguous {
                transport: "oci-archive",
                ..
            }
        ));
    }
}

#[test]
fn docker_archive_legacy_and_docker25_plain_and_gzip() {
    let fx = fixtures();
    type Writer = fn(&Path, &[Saved<'_>], Compress) -> std::io::Result<()>;
    let writers: [(&str, Writer, bool); 2] = [
        ("legacy", write_docker_archive, false),
        ("d25", write_docker25_archive, true),
    ];
    for (kind, write, has_manifest) in writers {
        for c in [Compress::None, Compress::Gzip] {
            let one = fx.root.join(format!("{kind}-{c:?}-one.tar"));
            write(
                &one,
                &[Saved::new(&fx.amd, &["xnat/small:v1", "xnat/small:latest"])],
                c,
            )
            .unwrap();
            let one = p(&one);
            let want = expect(&fx.amd, Some("xnat/small:v1"), has_manifest);
            assert_eq!(
                read(&format!("docker-archive:{one}")).images,
                vec![want.clone()],
                "{kind} {c:?}"
            );
            assert_eq!(
                read(&format!("docker-archive:{one}:docker.io/xnat/small:latest")).images,
                vec![expect(&fx.amd, Some("xnat/small:latest"), has_manifest)],
                "{kind} {c:?}"
            );

            let many = fx.root.join(format!("{kind}-{c:?}-many.tar"));
            write(
                &many,
                &[
                    Saved::new(&fx.amd, &["xnat/small:v1"]),
                    Saved::new(&fx.other, &["xnat/other:2"]),
                ],
                c,
            )
            .unwrap();
            let many = p(&many);
            let e = fail(&format!("docker-archive:{many}"));
            assert!(
                matches!(e, ArchiveError::Ambiguous { ref available, transport: "docker-archive", .. } if available == &["xnat/small:v1", "xnat/other:2"]),
                "{kind} {c:?}: {e}"
            );
            assert_eq!(
                read(&format!("docker-archive:{many}:xnat/other:2")).images,
                vec![expect(&fx.other, Some("xnat/other:2"), has_manifest)]
            );
            let e = fail(&format!("docker-archive:{many}:xnat/other:3"));
            assert_eq!(
                e.to_string(),
                format!("no image tagged `xnat/other:3` in `{many}`; available: xnat/small:v1, xnat/other:2")
            );
        }
    }
}

#[test]
fn docker25_multi_platform_reads_the_other_platforms_through_the_layout() {
    let fx = fixtures();
    for c in [Compress::None, Compress::Gzip] {
        let a = fx.root.join(format!("d25-multi-{c:?}.tar"));
        write_docker25_archive(&a, &[Saved::new(&fx.idx, &["xnat/multi:1"])], c).unwrap();
        let a = p(&a);
        let name = Some("xnat/multi:1");
        assert_eq!(
            read(&format!("docker-archive:{a}")).images,
            vec![expect(&fx.amd, name, true)]
        );
        let arm = read_with(&format!("docker-archive:{a}"), platform("linux/arm64")).unwrap();
        assert_eq!(arm.images, vec![expect(&fx.arm, name, true)]);
        let all = read_with(&format!("docker-archive:{a}"), all_platforms()).unwrap();
        assert_eq!(
            all.images,
            vec![expect(&fx.amd, name, true), expect(&fx.arm, name, true)]
        );
        let e = fail_with(&format!("docker-archive:{a}"), platform("linux/ppc64le"));
        assert!(matches!(e, ArchiveError::NoPlatform { .. }), "{e}");
    }
}

#[test]
fn legacy_docker_archive_warns_when_it_holds_another_platform() {
    let fx = fixtures();
    let a = fx.root.join("arm.tar");
    write_docker_archive(&a, &[Saved::new(&fx.arm, &["xnat/arm:1"])], Compress::None).unwrap();
    let r = read(&format!("docker-archive:{}", p(&a)));
    assert_eq!(r.images, vec![expect(&fx.arm, Some("xnat/arm:1"), false)]);
    assert_eq!(
        r.warnings,
        vec![format!(
            "`{}` holds only linux/arm64/v8, not the requested linux/amd64",
            p(&a)
        )]
    );
}

#[test]
fn skopeo_written_archives_read_back_equal() {
    let fx = fixtures();
    let d = fx.root.join("skopeo-docker.tar");
    skopeo_docker_archive(&fx.layout.dir, "v1", &d, "xnat/small:v1").unwrap();
    let r = read(&format!("docker-archive:{}", p(&d))).images;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].labels, fx.amd.labels);
    assert_eq!(
        r[0].config_digest.as_deref(),
        Some(fx.amd.config_digest.as_str())
    );
    // skopeo records the fully qualified name in RepoTags (docker writes the short one).
    assert_eq!(r[0].image.as_deref(), Some("docker.io/xnat/small:v1"));

    let o = fx.root.join("skopeo-oci.tar");
    skopeo_oci_archive(&fx.layout.dir, "multi", &o, "m").unwrap();
    let r = read(&format!("oci-archive:{}:m", p(&o))).images;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].labels, fx.amd.labels);
    assert_eq!(
        r[0].config_digest.as_deref(),
        Some(fx.amd.config_digest.as_str())
    );
}

/// The fixtures are real images: skopeo reads every layout and archive kind we write.
#[test]
fn fixtures_are_readable_by_skopeo() {
    let fx = fixtures();
    let cfg = |src: String, extra: &[&str]| -> serde_json::Value {
        let mut args = extra.to_vec();
        args.extend(["inspect", "--config", &src]);
        serde_json::from_slice(&skopeo(&args).unwrap()).unwrap()
    };
    let l = p(&fx.layout.dir);
    assert_eq!(
        cfg(format!("oci:{l}:v1"), &[])["config"]["Labels"]["arch"],
        "amd"
    );
    assert_eq!(
        cfg(format!("oci:{l}:multi"), &["--override-arch", "arm64"])["config"]["Labels"]["arch"],
        "arm"
    );
    let oa = fx.root.join("o.tar.gz");
    write_oci_archive(&fx.layout, &oa, Compress::Gzip).unwrap();
    assert_eq!(
        cfg(format!("oci-archive:{}:other", p(&oa)), &[])["config"]["Labels"]["arch"],
        "other"
    );
    type Writer = fn(&Path, &[Saved<'_>], Compress) -> std::io::Result<()>;
    for (name, write) in [
        ("legacy.tar", write_docker_archive as Writer),
        ("d25.tar", write_docker25_archive),
    ] {
        let a = fx.root.join(name);
        write(
            &a,
            &[Saved::new(&fx.arm, &["xnat/small:v1"])],
            Compress::None,
        )
        .unwrap();
        assert_eq!(
            cfg(format!("docker-archive:{}", p(&a)), &[])["config"]["Labels"]["arch"],
            "arm",
            "{name}"
        );
    }
}

#[test]
fn config_without_labels_is_not_an_archive_error() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = ImageBuilder::new().build();
    let mut l = OciLayout::new(tmp.path().join("l"));
    l.add("v1", &bare);
    let r = read(&format!("oci:{}", p(&l.dir)));
    assert_eq!(r.images, vec![expect(&bare, None, true)]);
    assert!(r.images[0].labels.is_empty());
}

#[test]
fn missing_inputs_and_wrong_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("gone");
    for spec in ["oci", "oci-archive", "docker-archive"] {
        let e = fail(&format!("{spec}:{}", p(&gone)));
        assert!(
            matches!(e, ArchiveError::NotFound { ref path } if *path == gone),
            "{spec}: {e}"
        );
        assert_eq!(e.to_string(), format!("`{}` does not exist", p(&gone)));
    }
    let e = fail(&format!("oci:{}", p(tmp.path())));
    assert_eq!(
        e.to_string(),
        format!(
            "`{}` is not an OCI image layout: it has no index.json",
            p(tmp.path())
        )
    );
    let e = fail(&format!("docker-archive:{}", p(tmp.path())));
    assert!(matches!(e, ArchiveError::IsDirectory { .. }), "{e}");

    let json = tmp.path().join("x.json");
    std::fs::write(&json, br#"{"not":"a tar"}"#).unwrap();
    let e = fail(&format!("docker-archive:{}", p(&json)));
    assert!(matches!(e, ArchiveError::BadTar { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("`{}` is not a valid tar archive", p(&json))
    );

    // A 5 GB sparse file of zeros: rejected at once, never read into memory.
    let sparse = tmp.path().join("sparse.tar");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let e = fail(&format!("oci-archive:{}", p(&sparse)));
    assert!(matches!(e, ArchiveError::EmptyTar { .. }), "{e}");

    // A tar of something else.
    let mut fs = FileSet::default();
    fs.add("hello.txt", Content::Bytes(b"hi".to_vec()));
    let t = tmp.path().join("t.tar");
    fs.write_tar(&t, Compress::None).unwrap();
    assert!(matches!(
        fail(&format!("docker-archive:{}", p(&t))),
        ArchiveError::NotAnImageArchive { .. }
    ));
    assert!(matches!(
        fail(&format!("oci-archive:{}", p(&t))),
        ArchiveError::NotALayout { .. }
    ));
}

#[test]
fn truncated_archives() {
    let fx = fixtures();
    for c in [Compress::None, Compress::Gzip] {
        let a = fx.root.join(format!("t-{c:?}.tar"));
        write_oci_archive(&fx.layout, &a, c).unwrap();
        let len = std::fs::metadata(&a).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&a).unwrap();
        f.set_len(len * 2 / 3).unwrap();
        let e = fail(&format!("oci-archive:{}:v1", p(&a)));
        assert!(matches!(e, ArchiveError::Truncated { .. }), "{c:?}: {e}");
    }
}

#[test]
fn path_tricks_are_never_followed() {
    let fx = fixtures();
    // Entries named `../x` and `/abs` are inert: the image still reads.
    let mut fs = docker_archive_files(&[Saved::new(&fx.amd, &["xnat/small:v1"])]);
    fs.entries.insert(
        0,
        (
            "../escape.json".into(),
            Content::Bytes(fx.other.config_bytes.clone()),
        ),
    );
    fs.entries.insert(
        0,
        (
            "/etc/evil.json".into(),
            Content::Bytes(fx.other.config_bytes.clone()),
        ),
    );
    let a = fx.root.join("tricks.tar");
    fs.write_tar(&a, Compress::None).unwrap();
    assert_eq!(
        read(&format!("docker-archive:{}", p(&a))).images,
        vec![expect(&fx.amd, Some("xnat/small:v1"), false)]
    );
    // A manifest.json pointing outside the archive is refused.
    for target in ["../escape.json", "/etc/evil.json"] {
        let manifest = json!([{"Config": target, "RepoTags": ["x:1"], "Layers": []}]);
        fs.replace(
            "manifest.json",
            Content::Bytes(serde_json::to_vec(&manifest).unwrap()),
        );
        fs.write_tar(&a, Compress::None).unwrap();
        let e = fail(&format!("docker-archive:{}", p(&a)));
        assert!(
            matches!(e, ArchiveError::UnsafeEntry { ref entry, .. } if entry == target),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "`{}` refers to `{target}`, outside the archive; refusing to follow it",
                p(&a)
            )
        );
    }
    // A digest that is not a digest never becomes a path.
    let bad = json!({"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST, "digest": "sha256:../../../etc/passwd", "size": 1}]});
    let dir = fx.root.join("badlayout");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let e = fail(&format!("oci:{}", p(&dir)));
    assert!(
        matches!(e, ArchiveError::BadDigest { ref digest, .. } if digest == "sha256:../../../etc/passwd"),
        "{e}"
    );
}

#[test]
fn huge_sparse_layer_is_skipped_not_read() {
    // An oci-archive whose layer entry is 5 GB (a sparse hole): the reader seeks past it.
    let tmp = tempfile::tempdir().unwrap();
    let huge: u64 = 5 << 30;
    let fake_layer = Layer {
        media_type: OCI_LAYER_TAR.into(),
        digest: format!("sha256:{}", "ab".repeat(32)),
        size: huge,
        diff_id: format!("sha256:{}", "ab".repeat(32)),
        blob: Content::Bytes(Vec::new()),
        tar: Content::Bytes(Vec::new()),
    };
    let img = ImageBuilder::new()
        .label("k", "v")
        .layer(fake_layer)
        .build();
    let mut fs = oci_layout_files(&[(ref_name("v1"), Target::Image(&img))]);
    fs.remove(&format!("blobs/sha256/{}", "ab".repeat(32)));
    let path = tmp.path().join("huge.tar");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut h = ::tar::Header::new_ustar();
    h.set_path(format!("blobs/sha256/{}", "ab".repeat(32)))
        .unwrap();
    h.set_size(huge);
    h.set_mode(0o644);
    h.set_cksum();
    f.write_all(h.as_bytes()).unwrap();
    f.seek(SeekFrom::Current(huge as i64)).unwrap();
    let rest = tmp.path().join("rest.tar");
    fs.write_tar(&rest, Compress::None).unwrap();
    std::io::copy(&mut std::fs::File::open(&rest).unwrap(), &mut f).unwrap();
    drop(f);
    assert!(std::fs::metadata(&path).unwrap().len() > huge);
    assert_eq!(
        read(&format!("oci-archive:{}", p(&path))).images,
        vec![expect(&img, None, true)]
    );
}

#[test]
fn json_over_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let big = ImageBuilder::new()
        .label("org.nrg.commands", &"x".repeat(2000))
        .build();
    let mut layout = OciLayout::new(tmp.path().join("l"));
    layout.add("v1", &big);
    let cap = ReadOptions {
        max_json_bytes: 1500,
        ..ReadOptions::default()
    };
    let size = big.config_bytes.len() as u64;
    let entry = format!("blobs/sha256/{}", hex_of(&big.config_digest));
    let e = fail_with(&format!("oci:{}:v1", p(&layout.dir)), cap.clone());
    assert!(
        matches!(e, ArchiveError::JsonTooLarge { entry: ref en, size: s, limit: 1500, .. } if *en == entry && s == size),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "`{entry}` in `{}` is {size} bytes, over the 1500-byte limit for a JSON document",
            p(&layout.dir)
        )
    );
    // The flag that raises the limit is the advice, under the error.
    assert_eq!(
        xnat_cmd::problem::Hint::hint(&e).as_deref(),
        Some("raise it with --max-json-bytes")
    );
    for c in [Compress::None, Compress::Gzip] {
        let a = tmp.path().join(format!("cap-{c:?}.tar"));
        write_oci_archive(&layout, &a, c).unwrap();
        let e = fail_with(&format!("oci-archive:{}:v1", p(&a)), cap.clone());
        assert!(
            matches!(e, ArchiveError::JsonTooLarge { entry: ref en, size: s, .. } if *en == entry && s == size),
            "{c:?}: {e}"
        );
        let mut fs = docker_archive_files(&[Saved::new(&big, &["x:1"])]);
        fs.remove("repositories");
        let d = tmp.path().join(format!("cap-d-{c:?}.tar"));
        fs.write_tar(&d, c).unwrap();
        let e = fail_with(&format!("docker-archive:{}", p(&d)), cap.clone());
        assert!(
            matches!(e, ArchiveError::JsonTooLarge { size: s, .. } if s == size),
            "{c:?}: {e}"
        );
    }
}

#[test]
fn broken_documents_and_blobs() {
    let fx = fixtures();
    let tmp = &fx.root;
    // Config that is not JSON (its digest is right).
    let notjson = ImageBuilder::new().raw_config(b"<html>oops</html>").build();
    let mut l = OciLayout::new(tmp.join("nj"));
    l.add("v1", &notjson);
    let e = fail(&format!("oci:{}", p(&l.dir)));
    let entry = format!("blobs/sha256/{}", hex_of(&notjson.config_digest));
    assert!(
        matches!(e, ArchiveError::NotJson { entry: ref en, .. } if *en == entry),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("`{entry}` in `{}` is not valid JSON", p(&l.dir))
    );

    // Manifest that is not JSON.
    let garbage = b"not a manifest".to_vec();
    let gd = sha256(&garbage);
    let dir = tmp.join("nm");
    let mut fs = FileSet::default();
    fs.add(
        &format!("blobs/sha256/{}", hex_of(&gd)),
        Content::Bytes(garbage.clone()),
    );
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST, "digest": gd, "size": garbage.len()}]});
    fs.add(
        "index.json",
        Content::Bytes(serde_json::to_vec(&index).unwrap()),
    );
    fs.write_dir(&dir).unwrap();
    let e = fail(&format!("oci:{}", p(&dir)));
    assert!(
        matches!(e, ArchiveError::NotJson { ref entry, .. } if *entry == format!("blobs/sha256/{}", hex_of(&gd))),
        "{e}"
    );

    // Missing config blob, then a config blob with other bytes.
    let mut l = OciLayout::new(tmp.join("mb"));
    l.add("v1", &fx.other);
    let blob = l.blob_path(&fx.other.config_digest);
    std::fs::remove_file(&blob).unwrap();
    let e = fail(&format!("oci:{}", p(&l.dir)));
    let entry = format!("blobs/sha256/{}", hex_of(&fx.other.config_digest));
    assert!(
        matches!(e, ArchiveError::MissingEntry { entry: ref en, .. } if *en == entry),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!("`{}` has no entry `{entry}`", p(&l.dir))
    );
    std::fs::write(&blob, &fx.amd.config_bytes).unwrap();
    let e = fail(&format!("oci:{}", p(&l.dir)));
    match &e {
        ArchiveError::DigestMismatch(m) => {
            assert_eq!(
                (m.expected.as_str(), m.found.as_str()),
                (
                    fx.other.config_digest.as_str(),
                    fx.amd.config_digest.as_str()
                )
            )
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        e.to_string(),
        format!(
            "digest mismatch for `{entry}` in `{}`: expected {}, found {}",
            p(&l.dir),
            fx.other.config_digest,
            fx.amd.config_digest
        )
    );
    // The same in a docker-archive: the legacy config file is named by its digest.
    let mut fs = docker_archive_files(&[Saved::new(&fx.other, &["x:1"])]);
    fs.replace(
        &format!("{}.json", hex_of(&fx.other.config_digest)),
        Content::Bytes(fx.amd.config_bytes.clone()),
    );
    let a = tmp.join("dm.tar.gz");
    fs.write_tar(&a, Compress::Gzip).unwrap();
    assert!(matches!(
        fail(&format!("docker-archive:{}", p(&a))),
        ArchiveError::DigestMismatch { .. }
    ));
    let _ = BTreeMap::<String, String>::new();
}
