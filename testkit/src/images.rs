//! Test images built in code: labels → config → layer → manifest → OCI layouts and archives.
//!
//! Everything is deterministic (fixed timestamps, gzip without mtime or name), so digests are
//! stable across runs and machines. The raw bytes, digests and media types of every blob and
//! manifest stay public: the registry helper pushes them over HTTP, the archive tests write
//! them as OCI layouts, `oci-archive` tars and both `docker save` layouts, and skopeo gives a
//! second, independent writer.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

mod docker;
pub use docker::*;

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a `sha256:` digest.
pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Which media types a manifest (and its index) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oci,
    /// Docker schema 2 (`v2s2`) and Docker manifest lists.
    Docker,
}

/// Where a file's bytes are: in memory, or in a file too large to hold (the 1 GB layer).
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Content {
    fn len(&self) -> io::Result<u64> {
        match self {
            Content::Bytes(b) => Ok(b.len() as u64),
            Content::File(p) => Ok(fs::metadata(p)?.len()),
        }
    }

    /// Write to `dest`; a file is hard-linked when possible (the 1 GB layer), else copied.
    fn write_to(&self, dest: &Path) -> io::Result<()> {
        if dest.exists() {
            return Ok(()); // content-addressed: same name, same bytes
        }
        match self {
            Content::Bytes(b) => fs::write(dest, b),
            Content::File(p) => fs::hard_link(p, dest).or_else(|_| fs::copy(p, dest).map(|_| ())),
        }
    }
}

/// One layer: the blob as stored in a manifest, and its uncompressed tar for legacy archives.
#[derive(Debug, Clone)]
pub struct Layer {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// sha256 of the uncompressed tar (`rootfs.diff_ids` in the config).
    pub diff_id: String,
    pub blob: Content,
    pub tar: Content,
}

impl Layer {
    /// A small gzip layer with one file whose content is `text`.
    pub fn small(text: &str, format: Format) -> Layer {
        let mut b = tar::Builder::new(Vec::new());
        append_bytes(&mut b, "etc/xnat-cmd-fixture.txt", text.as_bytes()).expect("tar in memory");
        let tar_bytes = b.into_inner().expect("tar in memory");
        let gz = gzip(&tar_bytes);
        Layer {
            media_type: match format {
                Format::Oci => OCI_LAYER_GZIP,
                Format::Docker => DOCKER_LAYER_GZIP,
            }
            .to_string(),
            digest: sha256(&gz),
            size: gz.len() as u64,
            diff_id: sha256(&tar_bytes),
            blob: Content::Bytes(gz),
            tar: Content::Bytes(tar_bytes),
        }
    }

    /// An uncompressed tar layer with one file of `size` pseudo-random bytes, streamed to
    /// `path` and hashed on the way: never held in memory (1 GB benchmark, large-entry tests).
    pub fn large(path: &Path, size: u64) -> io::Result<Layer> {
        let out = HashingWriter::new(BufWriter::with_capacity(1 << 20, File::create(path)?));
        let mut b = tar::Builder::new(out);
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "big.bin", Pattern::new(size))?;
        let mut out = b.into_inner()?;
        out.inner.flush()?;
        let digest = format!("sha256:{}", hex::encode(out.hasher.finalize()));
        Ok(Layer {
            media_type: OCI_LAYER_TAR.to_string(),
            digest: digest.clone(),
            size: out.written,
            diff_id: digest,
            blob: Content::File(path.to_path_buf()),
            tar: Content::File(path.to_path_buf()),
        })
    }
}

/// Builds one single-platform image.
#[derive(Debug, Clone)]
pub struct ImageBuilder {
    labels: BTreeMap<String, String>,
    platform: String,
    format: Format,
    layers: Vec<Layer>,
    raw_config: Option<Vec<u8>>,
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ImageBuilder {
    pub fn new() -> Self {
        ImageBuilder {
            labels: BTreeMap::new(),
            platform: "linux/amd64".to_string(),
            format: Format::Oci,
            layers: Vec::new(),
            raw_config: None,
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_string(), value.to_string());
        self
    }

    pub fn labels(mut self, labels: &BTreeMap<String, String>) -> Self {
        self.labels
            .extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// `os/arch[/variant]`.
    pub fn platform(mut self, platform: &str) -> Self {
        self.platform = platform.to_string();
        self
    }

    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Use this layer (instead of the default small one; call again to add more).
    pub fn layer(mut self, layer: Layer) -> Self {
        self.layers.push(layer);
        self
    }

    /// Use these exact config bytes (e.g. not JSON), ignoring labels and platform.
    pub fn raw_config(mut self, bytes: &[u8]) -> Self {
        self.raw_config = Some(bytes.to_vec());
        self
    }

    pub fn build(self) -> BuiltImage {
        let mut parts = self.platform.split('/');
        let os = parts.next().unwrap_or("linux").to_string();
        let arch = parts.next().unwrap_or("amd64").to_string();
        let variant = parts.next().map(str::to_string);
        let layers = if self.layers.is_empty() {
            // The layer text depends on platform and labels so each image has its own layer.
            let text = format!(
                "{}\n{}\n",
                self.platform,
                serde_json::to_string(&self.labels).unwrap()
            );
            vec![Layer::small(&text, self.format)]
        } else {
            self.layers
        };
        let config_bytes = self.raw_config.unwrap_or_else(|| {
            let mut c = serde_json::Map::new();
            c.insert("created".into(), json!("2024-01-01T00:00:00Z"));
            c.insert("architecture".into(), json!(arch));
            c.insert("os".into(), json!(os));
            if let Some(v) = &variant {
                c.insert("variant".into(), json!(v));
            }
            let mut cfg = serde_json::Map::new();
            cfg.insert("Env".into(), json!(["PATH=/usr/bin:/bin"]));
            if !self.labels.is_empty() {
                cfg.insert("Labels".into(), json!(self.labels));
            }
            c.insert("config".into(), Value::Object(cfg));
            c.insert(
                "rootfs".into(),
                json!({"type": "layers", "diff_ids": layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>()}),
            );
            c.insert("history".into(), json!([{"created": "2024-01-01T00:00:00Z", "created_by": "xnat-cmd fixture"}]));
            serde_json::to_vec(&Value::Object(c)).unwrap()
        });
        let (manifest_mt, config_mt) = match self.format {
            Format::Oci => (OCI_MANIFEST, OCI_CONFIG),
            Format::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG),
        };
        let config_digest = sha256(&config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_mt,
            "config": {"mediaType": config_mt, "digest": config_digest, "size": config_bytes.len()},
            "layers": layers.iter().map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
        });
        let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
        BuiltImage {
            labels: self.labels,
            platform: self.platform,
            format: self.format,
            config_digest,
            config_media_type: config_mt.to_string(),
            config_bytes,
            manifest_digest: sha256(&manifest_bytes),
            manifest_media_type: manifest_mt.to_string(),
            manifest_bytes,
            layers,
        }
    }
}

/// A built single-platform image: every byte, digest and media type.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub labels: BTreeMap<String, String>,
    /// `os/arch[/variant]` as given to the builder.
    pub platform: String,
    pub format: Format,
    pub config_bytes: Vec<u8>,
    pub config_digest: String,
    pub config_media_type: String,
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: String,
    pub manifest_media_type: String,
    pub layers: Vec<Layer>,
}

impl BuiltImage {
    /// The descriptor of the manifest (no platform, no annotations).
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.manifest_media_type, "digest": self.manifest_digest, "size": self.manifest_bytes.len()})
    }

    /// The descriptor's `platform` object.
    pub fn platform_json(&self) -> Value {
        let mut parts = self.platform.split('/');
        let mut p = serde_json::Map::new();
        p.insert(
            "architecture".into(),
            json!(parts.clone().nth(1).unwrap_or("")),
        );
        p.insert("os".into(), json!(parts.next().unwrap_or("")));
        if let Some(v) = parts.nth(1) {
            p.insert("variant".into(), json!(v));
        }
        Value::Object(p)
    }

    /// Every content-addressed blob: layers, config, manifest (push order).
    pub fn blobs(&self) -> Vec<(String, Content)> {
        let mut v: Vec<(String, Content)> = self
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.blob.clone()))
            .collect();
        v.push((
            self.config_digest.clone(),
            Content::Bytes(self.config_bytes.clone()),
        ));
        v.push((
            self.manifest_digest.clone(),
            Content::Bytes(self.manifest_bytes.clone()),
        ));
        v
    }
}

/// A multi-platform image index over built images (+ optional BuildKit-style attestations).
#[derive(Debug, Clone)]
pub struct BuiltIndex {
    pub images: Vec<BuiltImage>,
    pub attestations: Vec<BuiltImage>,
    pub bytes: Vec<u8>,
    pub digest: String,
    pub media_type: String,
}

impl BuiltIndex {
    pub fn new(images: Vec<BuiltImage>) -> Self {
        Self::build(images, false)
    }

    /// With an `unknown/unknown` attestation manifest for the first image, as BuildKit writes.
    pub fn with_attestation(images: Vec<BuiltImage>) -> Self {
        Self::build(images, true)
    }

    fn build(images: Vec<BuiltImage>, attest: bool) -> Self {
        let format = images.first().map_or(Format::Oci, |i| i.format);
        let mut entries: Vec<Value> = images
            .iter()
            .map(|i| {
                let mut d = i.descriptor();
                d["platform"] = i.platform_json();
                d
            })
            .collect();
        let mut attestations = Vec::new();
        if attest {
            if let Some(first) = images.first() {
                let a = ImageBuilder::new()
                    .platform("unknown/unknown")
                    .format(format)
                    .build();
                let mut d = a.descriptor();
                d["platform"] = json!({"architecture": "unknown", "os": "unknown"});
                d["annotations"] = json!({
                    "vnd.docker.reference.digest": first.manifest_digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                });
                entries.push(d);
                attestations.push(a);
            }
        }
        let media_type = match format {
            Format::Oci => OCI_INDEX,
            Format::Docker => DOCKER_LIST,
        };
        let bytes = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": media_type, "manifests": entries}),
        )
        .unwrap();
        BuiltIndex {
            images,
            attestations,
            digest: sha256(&bytes),
            bytes,
            media_type: media_type.to_string(),
        }
    }

    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }

    /// Every blob of every image, then the index itself (push order).
    pub fn blobs(&self) -> Vec<(String, Content)> {
        let mut v: Vec<(String, Content)> = self
            .images
            .iter()
            .chain(&self.attestations)
            .flat_map(BuiltImage::blobs)
            .collect();
        v.push((self.digest.clone(), Content::Bytes(self.bytes.clone())));
        v
    }
}

/// What an `index.json` entry or a `docker save` entry points at.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Image(&'a BuiltImage),
    Index(&'a BuiltIndex),
}

impl<'a> From<&'a BuiltImage> for Target<'a> {
    fn from(i: &'a BuiltImage) -> Self {
        Target::Image(i)
    }
}

impl<'a> From<&'a BuiltIndex> for Target<'a> {
    fn from(i: &'a BuiltIndex) -> Self {
        Target::Index(i)
    }
}

impl Target<'_> {
    pub fn descriptor(&self) -> Value {
        match self {
            Target::Image(i) => i.descriptor(),
            Target::Index(i) => i.descriptor(),
        }
    }

    pub fn blobs(&self) -> Vec<(String, Content)> {
        match self {
            Target::Image(i) => i.blobs(),
            Target::Index(i) => i.blobs(),
        }
    }

    /// The image `docker save`'s `manifest.json` points at: linux/amd64 if present, else the first.
    pub fn default_image(&self) -> &BuiltImage {
        match self {
            Target::Image(i) => i,
            Target::Index(x) => x
                .images
                .iter()
                .find(|i| i.platform == "linux/amd64")
                .unwrap_or(&x.images[0]),
        }
    }
}

/// Named files in order, written as a directory or a (gzip) tar. Tests edit the list to make
/// broken archives (replace an entry, drop one, add path tricks).
#[derive(Debug, Clone, Default)]
pub struct FileSet {
    pub entries: Vec<(String, Content)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compress {
    None,
    Gzip,
}

impl FileSet {
    /// Add unless a file of that name is already there (blobs are shared between images).
    pub fn add(&mut self, name: &str, content: Content) {
        if !self.entries.iter().any(|(n, _)| n == name) {
            self.entries.push((name.to_string(), content));
        }
    }

    pub fn replace(&mut self, name: &str, content: Content) {
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 = content,
            None => panic!("no entry `{name}` in {:?}", self.names()),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| n != name);
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub fn write_dir(&self, dir: &Path) -> io::Result<()> {
        for (name, content) in &self.entries {
            let dest = dir.join(name);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent)?;
            }
            content.write_to(&dest)?;
        }
        Ok(())
    }

    /// A tar with directory entries for parents, every name written raw (so tests can put
    /// `../x` or `/abs` in it, which the `tar` crate's path setters refuse).
    pub fn write_tar(&self, path: &Path, compress: Compress) -> io::Result<()> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        match compress {
            Compress::None => self.tar_into(file)?.flush(),
            Compress::Gzip => self
                .tar_into(GzBuilder::new().write(file, Compression::fast()))?
                .finish()?
                .flush(),
        }
    }

    fn tar_into<W: Write>(&self, w: W) -> io::Result<W> {
        let mut b = tar::Builder::new(w);
        let mut dirs: Vec<String> = Vec::new();
        for (name, content) in &self.entries {
            let mut parent = String::new();
            for comp in name
                .split('/')
                .collect::<Vec<_>>()
                .split_last()
                .map_or(&[][..], |(_, p)| p)
            {
                parent = if parent.is_empty() {
                    comp.to_string()
                } else {
                    format!("{parent}/{comp}")
                };
                if !comp.is_empty() && *comp != ".." && !dirs.contains(&parent) {
                    dirs.push(parent.clone());
                    let mut h = header(0, tar::EntryType::Directory, 0o755);
                    set_raw_name(&mut h, &format!("{parent}/"))?;
                    b.append(&h, io::empty())?;
                }
            }
            let mut h = header(content.len()?, tar::EntryType::Regular, 0o644);
            set_raw_name(&mut h, name)?;
            match content {
                Content::Bytes(bytes) => b.append(&h, bytes.as_slice())?,
                Content::File(p) => b.append(&h, File::open(p)?)?,
            }
        }
        b.into_inner()
    }
}

fn header(size: u64, kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Put `name` into the header as bytes, bypassing the `tar` crate's `..` check.
fn set_raw_name(h: &mut tar::Header, name: &str) -> io::Result<()> {
    let bytes = name.as_bytes();
    let ustar = h
        .as_ustar_mut()
        .ok_or_else(|| io::Error::other("not a ustar header"))?;
    if bytes.len() <= 100 {
        ustar.name = [0; 100];
        ustar.name[..bytes.len()].copy_from_slice(bytes);
    } else {
        // Split at a `/` into prefix (≤155) and name (≤100), as ustar requires.
        let split = (0..bytes.len())
            .rev()
            .find(|&i| bytes[i] == b'/' && i <= 155 && bytes.len() - i - 1 <= 100);
        let i =
            split.ok_or_else(|| io::Error::other(format!("name too long for ustar: {name}")))?;
        ustar.prefix = [0; 155];
        ustar.prefix[..i].copy_from_slice(&bytes[..i]);
        ustar.name = [0; 100];
        ustar.name[..bytes.len() - i - 1].copy_from_slice(&bytes[i + 1..]);
    }
    h.set_cksum();
    Ok(())
}

fn append_bytes<W: Write>(b: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut h = header(bytes.len() as u64, tar::EntryType::Regular, 0o644);
    set_raw_name(&mut h, name)?;
    b.append(&h, bytes)
}

/// Deterministic gzip: no mtime, no file name.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The files of an OCI image layout holding `entries` (annotations, target), blobs first.
pub fn oci_layout_files(entries: &[(BTreeMap<String, String>, Target<'_>)]) -> FileSet {
    let mut fs = FileSet::default();
    let mut manifests = Vec::new();
    for (annotations, target) in entries {
        for (digest, content) in target.blobs() {
            fs.add(&format!("blobs/sha256/{}", hex_of(&digest)), content);
        }
        let mut d = target.descriptor();
        if !annotations.is_empty() {
            d["annotations"] = json!(annotations);
        }
        manifests.push(d);
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    fs.add(
        "index.json",
        Content::Bytes(serde_json::to_vec(&index).unwrap()),
    );
    fs.add(
        "oci-layout",
        Content::Bytes(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
    );
    fs
}

/// `{ref.name: tag}`, the usual index.json annotation.
pub fn ref_name(tag: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(REF_NAME.to_string(), tag.to_string())])
}

/// An OCI image layout directory, rewritten after each `add`.
#[derive(Debug)]
pub struct OciLayout {
    pub dir: PathBuf,
    entries: Vec<(BTreeMap<String, String>, Value)>,
}

impl OciLayout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        fs::create_dir_all(dir.join("blobs/sha256")).expect("create layout dir");
        let l = OciLayout {
            dir,
            entries: Vec::new(),
        };
        l.write_index();
        l
    }

    /// Tag a single-platform image (`tag` may be `v1` or a full reference `xnat/small:v1`).
    pub fn add(&mut self, tag: &str, image: &BuiltImage) -> &mut Self {
        self.add_annotated(ref_name(tag), Target::Image(image))
    }

    /// Tag a multi-platform index (the entry points at the nested index).
    pub fn add_index(&mut self, tag: &str, index: &BuiltIndex) -> &mut Self {
        self.add_annotated(ref_name(tag), Target::Index(index))
    }

    /// An entry with any annotations (none: untagged).
    pub fn add_annotated(
        &mut self,
        annotations: BTreeMap<String, String>,
        target: Target<'_>,
    ) -> &mut Self {
        let mut fs = FileSet::default();
        for (digest, content) in target.blobs() {
            fs.add(&format!("blobs/sha256/{}", hex_of(&digest)), content);
        }
        fs.write_dir(&self.dir).expect("write layout blobs");
        self.entries.push((annotations, target.descriptor()));
        self.write_index();
        self
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(hex_of(digest))
    }

    fn write_index(&self) {
        let manifests: Vec<Value> = self
            .entries
            .iter()
            .map(|(a, d)| {
                let mut d = d.clone();
                if !a.is_empty() {
                    d["annotations"] = json!(a);
                }
                d
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .expect("write index.json");
        fs::write(
            self.dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .expect("write oci-layout");
    }

    /// The layout's files, sorted by name (`blobs/…` before `index.json`, as tar writers do).
    pub fn files(&self) -> FileSet {
        let mut names = Vec::new();
        walk(&self.dir, &self.dir, &mut names).expect("walk layout");
        names.sort();
        FileSet {
            entries: names
                .into_iter()
                .map(|n| (n.clone(), Content::File(self.dir.join(&n))))
                .collect(),
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// A tar (`oci-archive`) of a layout directory, streamed from the files.
pub fn write_oci_archive(layout: &OciLayout, out: &Path, compress: Compress) -> io::Result<()> {
    layout.files().write_tar(out, compress)
}

/// Counts and hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `len` deterministic pseudo-random bytes (a repeated 64 KiB xorshift block: incompressible
/// enough that no filesystem or tool can shortcut it, cheap to produce).
struct Pattern {
    block: Vec<u8>,
    pos: usize,
    remaining: u64,
}

impl Pattern {
    fn new(len: u64) -> Self {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let block = (0..65536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        Pattern {
            block,
            pos: 0,
            remaining: len,
        }
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(self.block.len() - self.pos)
            .min(self.remaining.min(usize::MAX as u64) as usize);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.block.len();
        self.remaining -= n as u64;
        Ok(n)
    }
}
