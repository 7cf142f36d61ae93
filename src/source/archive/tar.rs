//! Tar archives read in place: an index of entries (name → offset, size) built by walking the
//! headers and seeking past the data, then only the small JSON entries read by seeking to them.
//! Gzip-compressed tars cannot seek, so they are streamed through the decoder once.
//!
//! The header walk is the `tar` crate's (`entries_with_seek`: GNU long names, pax headers,
//! checksums) through a [`Guard`] that caps the extension headers the crate reads whole; what
//! this module adds is never touching layer data and never extracting.
//!
//! Gzip choice: ONE pass, keeping in memory every regular entry that is at most the JSON cap
//! and does not start like a layer (gzip/zstd magic or a tar header). Two passes would need
//! up to four (index.json → nested index → manifest → config: each level names the next, and
//! `docker save` writes the JSON after the blobs); keeping the small documents costs KBs per
//! image. A total budget (4 × the cap) bounds memory on hostile archives; layer data is only
//! ever decompressed into a sink, never buffered, never written to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::tar_guard::Guard;
use super::{ArchiveError, Store};

/// Open an archive file as a [`Store`]: an indexed tar, or a streamed gzip tar.
pub(crate) fn open(path: &Path, max_json_bytes: u64) -> Result<Box<dyn Store>, ArchiveError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(ArchiveError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let mut file = crate::limits::open_regular(path).map_err(|e| io_error(path, e))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| io_error(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_error(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(GzipTar::read(path, file, max_json_bytes)?))
    } else {
        Ok(Box::new(TarIndex::open(
            path,
            file,
            meta.len(),
            max_json_bytes,
        )?))
    }
}

fn io_error(path: &Path, source: io::Error) -> ArchiveError {
    if source.kind() == io::ErrorKind::NotFound {
        ArchiveError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Entry names as writers spell them (`./index.json`, `blobs/sha256/x`) made comparable.
pub(crate) fn clean_name(name: &str) -> String {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    n.trim_end_matches('/').to_string()
}

/// Read into `buf` until full or EOF; the count read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u64,
    size: u64,
}

/// A plain tar file with the position of every regular entry.
pub(crate) struct TarIndex {
    path: PathBuf,
    file: File,
    entries: HashMap<String, Slot>,
    max: u64,
}

impl TarIndex {
    fn open(path: &Path, file: File, file_len: u64, max: u64) -> Result<Self, ArchiveError> {
        let entries = index_entries(path, &file, file_len)?;
        Ok(TarIndex {
            path: path.to_path_buf(),
            file,
            entries,
            max,
        })
    }
}

/// Walk the headers of a seekable tar, skipping data by seeking.
fn index_entries(
    path: &Path,
    file: &File,
    file_len: u64,
) -> Result<HashMap<String, Slot>, ArchiveError> {
    let bad = |source| tar_error(path, source);
    let mut archive = ::tar::Archive::new(Guard::new(file));
    let mut entries = HashMap::new();
    let mut seen_any = false;
    for entry in archive.entries_with_seek().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        seen_any = true;
        let name = clean_name(&String::from_utf8_lossy(&entry.path_bytes()));
        let slot = Slot {
            offset: entry.raw_file_position(),
            size: entry.size(),
        };
        // Seeking past the end succeeds silently; the truncation shows here.
        if slot.offset.saturating_add(slot.size) > file_len {
            return Err(ArchiveError::Truncated {
                path: path.to_path_buf(),
                entry: name,
            });
        }
        if entry.header().entry_type().is_file() {
            // Later entries win, as when a tar is extracted.
            entries.insert(name, slot);
        }
    }
    if !seen_any {
        return Err(ArchiveError::EmptyTar {
            path: path.to_path_buf(),
        });
    }
    Ok(entries)
}

impl Store for TarIndex {
    fn path(&self) -> &Path {
        &self.path
    }

    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let slot = *self
            .entries
            .get(name)
            .ok_or_else(|| ArchiveError::MissingEntry {
                path: self.path.clone(),
                entry: name.to_string(),
            })?;
        if slot.size > self.max {
            return Err(ArchiveError::JsonTooLarge {
                path: self.path.clone(),
                entry: name.to_string(),
                size: slot.size,
                limit: self.max,
            });
        }
        let path = self.path.clone();
        let io = |source| ArchiveError::Io {
            path: path.clone(),
            source,
        };
        self.file.seek(SeekFrom::Start(slot.offset)).map_err(io)?;
        // `size` is at most the cap here, so the allocation is bounded.
        let mut buf = vec![0u8; slot.size as usize];
        self.file.read_exact(&mut buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => ArchiveError::Truncated {
                path: self.path.clone(),
                entry: name.to_string(),
            },
            _ => io(e),
        })?;
        Ok(buf)
    }
}

/// What one streaming pass over a gzip tar kept.
enum Kept {
    Bytes(Vec<u8>),
    TooLarge(u64),
    /// Starts like layer data: skipped.
    Binary,
}

/// A header walk's failure: an extension header over its cap (from the [`Guard`]), or a
/// tar that does not parse.
fn tar_error(path: &Path, source: io::Error) -> ArchiveError {
    match super::tar_guard::extension_too_large(&source) {
        Some(e) => ArchiveError::TarExtensionTooLarge {
            path: path.to_path_buf(),
            size: e.size,
            limit: e.limit,
        },
        None => ArchiveError::BadTar {
            path: path.to_path_buf(),
            source: plain_tar_error(source),
        },
    }
}

/// A gzip-compressed tar, read in one pass (see the module doc for why one).
/// The tar crate's header errors quote the bytes it read ("numeric field was not a number:
/// <file contents> when getting cksum for …"): for a file that is not a tar at all that prints
/// the file. Keep the kind, say it plainly.
fn plain_tar_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::InvalidData || e.kind() == io::ErrorKind::Other {
        io::Error::new(
            e.kind(),
            "a 512-byte header does not parse as tar: the file is not a tar archive, or is damaged",
        )
    } else {
        e
    }
}

pub(crate) struct GzipTar {
    path: PathBuf,
    entries: HashMap<String, Kept>,
    max: u64,
}

impl GzipTar {
    fn read(path: &Path, file: File, max: u64) -> Result<Self, ArchiveError> {
        let budget = max.saturating_mul(crate::limits::ARCHIVE_JSON_BUDGET_FACTOR);
        let mut used = 0u64;
        let bad = |source: io::Error| match source.kind() {
            io::ErrorKind::UnexpectedEof => ArchiveError::Truncated {
                path: path.to_path_buf(),
                entry: "(gzip stream)".to_string(),
            },
            _ => tar_error(path, source),
        };
        let mut archive = ::tar::Archive::new(Guard::new(GzDecoder::new(
            BufReader::with_capacity(1 << 20, file),
        )));
        let mut entries = HashMap::new();
        let mut seen_any = false;
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            seen_any = true;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = clean_name(&String::from_utf8_lossy(&entry.path_bytes()));
            let size = entry.size();
            let kept = if size > max {
                Kept::TooLarge(size)
            } else {
                let mut head = vec![0u8; size.min(512) as usize];
                read_up_to(&mut entry, &mut head).map_err(bad)?;
                if looks_like_layer(&head) {
                    Kept::Binary
                } else {
                    used += size;
                    if used > budget {
                        return Err(ArchiveError::JsonBudget {
                            path: path.to_path_buf(),
                            limit: budget,
                        });
                    }
                    let mut bytes = head;
                    entry.read_to_end(&mut bytes).map_err(bad)?;
                    if (bytes.len() as u64) < size {
                        return Err(ArchiveError::Truncated {
                            path: path.to_path_buf(),
                            entry: name,
                        });
                    }
                    Kept::Bytes(bytes)
                }
            };
            // The rest of a skipped entry is drained by the next `entries` step: into a
            // sink, through the decoder, never buffered.
            entries.insert(name, kept);
        }
        if !seen_any {
            return Err(ArchiveError::EmptyTar {
                path: path.to_path_buf(),
            });
        }
        Ok(GzipTar {
            path: path.to_path_buf(),
            entries,
            max,
        })
    }
}

/// Gzip or zstd magic, or a tar header (`ustar` at 257): layer data, not a document.
fn looks_like_layer(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

impl Store for GzipTar {
    fn path(&self) -> &Path {
        &self.path
    }

    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    fn read(&mut self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.entries.get(name) {
            Some(Kept::Bytes(b)) => Ok(b.clone()),
            Some(Kept::TooLarge(size)) => Err(ArchiveError::JsonTooLarge {
                path: self.path.clone(),
                entry: name.to_string(),
                size: *size,
                limit: self.max,
            }),
            Some(Kept::Binary) => Err(ArchiveError::Binary {
                path: self.path.clone(),
                entry: name.to_string(),
            }),
            None => Err(ArchiveError::MissingEntry {
                path: self.path.clone(),
                entry: name.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A tar with raw names (the `tar` crate's path setters refuse `..`).
    fn tar_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = ::tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = ::tar::Header::new_ustar();
            h.as_ustar_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(::tar::EntryType::Regular);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        f
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn index_reads_entries_by_seeking_and_keeps_trick_names_inert() {
        let t = tar_bytes(&[
            ("./index.json", b"{}"),
            ("../escape.json", b"{\"x\":1}"),
            ("/abs.json", b"[]"),
            ("blobs/sha256/aa", &[7u8; 3000]),
        ]);
        for bytes in [t.clone(), gz(&t)] {
            let f = file_with(&bytes);
            let mut s = open(f.path(), 1 << 20).unwrap();
            assert_eq!(s.read("index.json").unwrap(), b"{}");
            assert!(s.has("../escape.json") && s.has("/abs.json"));
            assert!(!s.has("escape.json") && !s.has("abs.json"));
            assert!(
                matches!(s.read("nope"), Err(ArchiveError::MissingEntry { ref entry, .. }) if entry == "nope")
            );
        }
    }

    #[test]
    fn cap_applies_to_every_read() {
        let t = tar_bytes(&[("big.json", &[b' '; 100]), ("small.json", b"{}")]);
        for bytes in [t.clone(), gz(&t)] {
            let f = file_with(&bytes);
            let mut s = open(f.path(), 50).unwrap();
            match s.read("big.json") {
                Err(ArchiveError::JsonTooLarge {
                    entry, size, limit, ..
                }) => {
                    assert_eq!((entry.as_str(), size, limit), ("big.json", 100, 50))
                }
                Err(other) => panic!("unexpected error {other}"),
                Ok(_) => panic!("unexpected success"),
            }
            assert_eq!(s.read("small.json").unwrap(), b"{}");
        }
    }

    #[test]
    fn truncated_and_not_tar() {
        let t = tar_bytes(&[("a.json", b"{}"), ("layer", &[1u8; 4096])]);
        let f = file_with(&t[..512 + 512 + 512 + 100]);
        assert!(
            matches!(open(f.path(), 1 << 20), Err(ArchiveError::Truncated { ref entry, .. }) if entry == "layer")
        );
        let f = file_with(&gz(&t)[..60]);
        assert!(matches!(
            open(f.path(), 1 << 20),
            Err(ArchiveError::Truncated { .. })
        ));
        let f = file_with(b"{\"this is\": \"json, not a tar\"}");
        assert!(matches!(
            open(f.path(), 1 << 20),
            Err(ArchiveError::EmptyTar { .. } | ArchiveError::BadTar { .. })
        ));
        let f = file_with(&[b'x'; 1024]);
        assert!(matches!(
            open(f.path(), 1 << 20),
            Err(ArchiveError::BadTar { .. })
        ));
        let f = file_with(b"");
        assert!(matches!(
            open(f.path(), 1 << 20),
            Err(ArchiveError::EmptyTar { .. })
        ));
    }

    #[test]
    fn gzip_skips_layer_like_entries() {
        let inner = tar_bytes(&[("x", b"hello")]);
        let t = tar_bytes(&[
            ("blobs/sha256/l", &inner),
            ("blobs/sha256/g", &gz(b"abc")),
            ("c.json", b"{}"),
        ]);
        let f = file_with(&gz(&t));
        let mut s = open(f.path(), 1 << 20).unwrap();
        assert!(matches!(
            s.read("blobs/sha256/l"),
            Err(ArchiveError::Binary { .. })
        ));
        assert!(matches!(
            s.read("blobs/sha256/g"),
            Err(ArchiveError::Binary { .. })
        ));
        assert_eq!(s.read("c.json").unwrap(), b"{}");
    }

    #[test]
    fn clean_names() {
        assert_eq!(clean_name("././a/b/"), "a/b");
        assert_eq!(clean_name("../a"), "../a");
        assert_eq!(clean_name("/a"), "/a");
    }
}
