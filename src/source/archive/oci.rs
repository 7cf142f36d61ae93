//! OCI image layouts: the directory store, and the walk every layout-shaped source shares
//! (`oci:`, `oci-archive:`, Docker ≥ 25 `docker save`): index.json → entry chosen by tag →
//! (nested index → platform)* → manifest → config.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{doc_error, normalize_reference, record, ArchiveError, Store};
use crate::source::manifest::{
    self, Descriptor, ManifestDoc, CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION,
};
use crate::source::{ImageRecord, ReadOptions, ReadResult};

/// Nested indexes deeper than this are refused (a cycle would otherwise never end).
use crate::limits::MAX_INDEX_DEPTH as MAX_DEPTH;

/// An OCI layout directory. Only names this module computes are opened.
pub(crate) struct DirStore {
    dir: PathBuf,
    max: u64,
}

impl DirStore {
    pub(crate) fn open(dir: &Path, max: u64) -> Result<Self, ArchiveError> {
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ArchiveError::NotFound {
                path: dir.to_path_buf(),
            }),
            Err(source) => Err(ArchiveError::Io {
                path: dir.to_path_buf(),
                source,
            }),
            Ok(m) if !m.is_dir() || !dir.join("index.json").is_file() => {
                Err(ArchiveError::NotALayout {
                    path: dir.to_path_buf(),
                })
            }
            Ok(_) => Ok(DirStore {
                dir: dir.to_path_buf(),
                max,
            }),
        }
    }
}

impl Store for DirStore {
    fn path(&self) -> &Path {
        &self.dir
    }

    fn has(&self, name: &str) -> bool {
        self.dir.join(name).is_file()
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let p = self.dir.join(name);
        let io = |source| ArchiveError::Io {
            path: p.clone(),
            source,
        };
        let file = match crate::limits::open_regular(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArchiveError::MissingEntry {
                    path: self.dir.clone(),
                    entry: name.to_string(),
                })
            }
            other => other.map_err(io)?,
        };
        let size = file.metadata().map_err(io)?.len();
        if size > self.max {
            return Err(ArchiveError::JsonTooLarge {
                path: self.dir.clone(),
                entry: name.to_string(),
                size,
                limit: self.max,
            });
        }
        // `take` guards against a file that grows between the check and the read.
        let mut buf = Vec::with_capacity(size as usize);
        file.take(self.max + 1).read_to_end(&mut buf).map_err(io)?;
        Ok(buf)
    }
}

/// The name shown for an index.json entry: its full name, else its tag, else its digest.
fn entry_label(d: &Descriptor) -> String {
    let name = d
        .annotation(CONTAINERD_NAME_ANNOTATION)
        .or_else(|| d.annotation(REF_NAME_ANNOTATION))
        .map(str::to_string)
        .unwrap_or_else(|| d.digest_text().to_string());
    match &d.platform {
        Some(p) => format!("{name} ({})", p.to_platform()),
        None if d.is_index() => format!("{name} (multi-platform)"),
        None => name,
    }
}

/// The reference recorded with an entry: containerd's full name, or a ref.name that is a
/// full reference (a bare tag such as `v1` cannot contain `/` or `:`, a reference can).
fn recorded_image(d: &Descriptor) -> Option<String> {
    d.annotation(CONTAINERD_NAME_ANNOTATION)
        .or_else(|| {
            d.annotation(REF_NAME_ANNOTATION)
                .filter(|r| r.contains('/') || r.contains(':'))
        })
        .map(str::to_string)
}

fn matches_tag(d: &Descriptor, tag: &str) -> bool {
    d.annotation(REF_NAME_ANNOTATION) == Some(tag)
        || d.annotation(CONTAINERD_NAME_ANNOTATION)
            .is_some_and(|n| normalize_reference(n) == normalize_reference(tag))
}

/// Read a layout through `store`; `transport` names the source kind in messages.
pub(crate) fn read_layout(
    store: &mut dyn Store,
    tag: Option<&str>,
    transport: &'static str,
    opts: &ReadOptions,
) -> Result<ReadResult, ArchiveError> {
    let path = store.path().to_path_buf();
    let bytes = store.read("index.json")?;
    let index = match manifest::parse_manifest(&bytes, Some(manifest::OCI_INDEX), "index.json")
        .map_err(|e| doc_error(&path, "index.json", e))?
    {
        ManifestDoc::Index(i) => i,
        _ => {
            return Err(doc_error(
                &path,
                "index.json",
                manifest::ManifestError::Unrecognised {
                    what: "index.json".into(),
                },
            ))
        }
    };
    let chosen: Vec<&Descriptor> = match tag {
        Some(t) => index
            .manifests
            .iter()
            .filter(|d| matches_tag(d, t))
            .collect(),
        None => index.manifests.iter().collect(),
    };
    let available = || index.manifests.iter().map(entry_label).collect::<Vec<_>>();
    let first = match chosen.first() {
        None if tag.is_none() => return Err(ArchiveError::NoImages { path }),
        None => {
            return Err(ArchiveError::UnknownTag {
                path,
                tag: tag.unwrap_or_default().to_string(),
                available: available(),
            })
        }
        Some(d) => *d,
    };
    // Several entries are fine when they are one image under several names.
    if chosen
        .iter()
        .any(|d| !d.digest_text().eq_ignore_ascii_case(first.digest_text()))
    {
        return Err(ArchiveError::Ambiguous {
            path,
            transport,
            available: chosen.iter().map(|d| entry_label(d)).collect(),
        });
    }
    let image = recorded_image(first).or_else(|| chosen.iter().find_map(|d| recorded_image(d)));
    let mut out = ReadResult::default();
    let mut walk = manifest::IndexWalk::default();
    resolve(store, first, &image, opts, 0, &mut walk, &mut out)?;
    if out.images.is_empty() {
        return Err(ArchiveError::NoImages { path });
    }
    Ok(out)
}

/// Follow a descriptor to image records: one, or one per platform with `all_platforms`.
fn resolve(
    store: &mut dyn Store,
    desc: &Descriptor,
    image: &Option<String>,
    opts: &ReadOptions,
    depth: usize,
    walk: &mut manifest::IndexWalk,
    out: &mut ReadResult,
) -> Result<(), ArchiveError> {
    let path = store.path().to_path_buf();
    if depth > MAX_DEPTH {
        return Err(ArchiveError::TooDeep {
            path,
            limit: MAX_DEPTH,
        });
    }
    let digest = super::blob_digest(&path, desc)?;
    let bytes = store.read_blob(&digest)?;
    let entry = super::blob_name(&digest);
    match manifest::parse_manifest(&bytes, desc.media_type.as_deref(), &entry)
        .map_err(|e| doc_error(&path, &entry, e))?
    {
        ManifestDoc::Index(idx) => {
            if opts.all_platforms {
                let children = walk
                    .children(&idx, &entry)
                    .map_err(|e| doc_error(&path, &entry, e))?;
                for (_, child) in children {
                    // containerd-store exports skip blobs of platforms never pulled.
                    if child_missing(store, child) {
                        out.warnings.push(format!(
                            "skipped {} in `{}`: its manifest is not in the archive",
                            entry_label(child),
                            path.display()
                        ));
                        continue;
                    }
                    resolve(store, child, image, opts, depth + 1, walk, out)?;
                }
                Ok(())
            } else {
                let child = manifest::select_platform(&idx, &opts.platform, &entry)
                    .map_err(|e| doc_error(&path, &entry, e))?;
                resolve(store, child, image, opts, depth + 1, walk, out)
            }
        }
        ManifestDoc::Image(m) => {
            let config_digest = super::blob_digest(&path, &m.config)?;
            let config = store.read_blob(&config_digest)?;
            let config_entry = super::blob_name(&config_digest);
            let rec: ImageRecord = record(
                &path,
                &config_entry,
                &config,
                image.clone(),
                Some(digest.clone()),
            )?;
            out.images.push(rec);
            Ok(())
        }
        ManifestDoc::Schema1(_) => Err(ArchiveError::Document {
            path,
            entry,
            source: Box::new(manifest::ManifestError::UnsupportedMediaType {
                what: "a layout manifest".into(),
                media_type: manifest::DOCKER_SCHEMA1.into(),
            }),
        }),
    }
}

fn child_missing(store: &dyn Store, d: &Descriptor) -> bool {
    super::blob_digest(store.path(), d).is_ok_and(|digest| !store.has(&super::blob_name(&digest)))
}
