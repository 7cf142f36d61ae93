//! A reader between an archive and the `tar` crate that bounds the crate's extension headers:
//! the crate reads a GNU long name (`L`), long link (`K`) or pax header (`x`) whole into
//! memory, whatever size its header claims (a 1 MB `.tar.gz` can hold a 1 GiB long name), and
//! has no option to cap them. The guard follows the header positions as bytes pass through
//! (the same arithmetic as the crate: 512-byte header, data rounded up to 512, a pax `size`
//! applying to the next entry) and refuses, before any of its data is read, an extension
//! header larger than [`MAX_TAR_EXTENSION_BYTES`]. It stops following (and so stops
//! checking) at a GNU sparse entry, whose extra header blocks it does not model; image
//! archives never hold one.

use std::io::{self, Read, Seek, SeekFrom};

use crate::limits::MAX_TAR_EXTENSION_BYTES;

const BLOCK: u64 = 512;

/// The error a refused extension header reads as (inside an `io::Error`, so it passes through
/// the tar crate); the archive reader turns it into its own typed error.
#[derive(Debug, thiserror::Error)]
#[error("a tar extension header (long name or pax) of {size} bytes is over the {limit}-byte limit")]
pub(crate) struct ExtensionTooLarge {
    pub(crate) size: u64,
    pub(crate) limit: u64,
}

pub(crate) struct Guard<R> {
    inner: R,
    pos: u64,
    /// Where the next header starts; `None` once the guard stopped following.
    next: Option<u64>,
    /// The bytes of the header at `next` seen so far.
    header: Vec<u8>,
    /// A pax header's data being collected: (start, size, bytes so far).
    pax: Option<(u64, u64, Vec<u8>)>,
    /// A pax `size` for the next entry that is not an extension header.
    pax_size: Option<u64>,
    refused: Option<u64>,
    limit: u64,
}

impl<R> Guard<R> {
    pub(crate) fn new(inner: R) -> Self {
        Guard::with_limit(inner, MAX_TAR_EXTENSION_BYTES)
    }

    fn with_limit(inner: R, limit: u64) -> Self {
        Guard {
            inner,
            pos: 0,
            next: Some(0),
            header: Vec::with_capacity(BLOCK as usize),
            pax: None,
            pax_size: None,
            refused: None,
            limit,
        }
    }

    /// Follow the bytes `[pos, pos + data.len())` as they pass.
    fn observe(&mut self, data: &[u8]) {
        let mut off = 0usize;
        while off < data.len() {
            let Some(h) = self.next else { return };
            let at = self.pos + off as u64;
            if at < h {
                let run = ((h - at) as usize).min(data.len() - off);
                if let Some((start, size, bytes)) = &mut self.pax {
                    let end = start.saturating_add(*size);
                    if at >= *start && at < end {
                        let take = run.min((end - at) as usize);
                        bytes.extend_from_slice(&data[off..off + take]);
                    }
                }
                self.finish_pax();
                off += run;
                continue;
            }
            if at != h + self.header.len() as u64 {
                // Bytes of a header were skipped: no longer in step with the crate.
                self.next = None;
                return;
            }
            let take = (BLOCK as usize - self.header.len()).min(data.len() - off);
            self.header.extend_from_slice(&data[off..off + take]);
            off += take;
            if self.header.len() == BLOCK as usize {
                self.on_header(h);
            }
        }
    }

    fn finish_pax(&mut self) {
        if let Some((_, size, bytes)) = &self.pax {
            if bytes.len() as u64 >= *size {
                self.pax_size = ::tar::PaxExtensions::new(bytes)
                    .filter_map(Result::ok)
                    .find(|e| e.key() == Ok("size"))
                    .and_then(|e| e.value().ok()?.parse().ok());
                self.pax = None;
            }
        }
    }

    fn on_header(&mut self, h: u64) {
        let block = std::mem::take(&mut self.header);
        if block.iter().all(|&b| b == 0) {
            self.next = Some(h + BLOCK);
            return;
        }
        let header = ::tar::Header::from_byte_slice(&block);
        let kind = header.entry_type();
        let Ok(mut size) = header.entry_size() else {
            self.next = None;
            return;
        };
        if kind.is_gnu_sparse() {
            self.next = None;
            return;
        }
        let read_whole =
            kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions();
        if read_whole && size > self.limit {
            self.refused = Some(size);
        }
        if read_whole || kind.is_pax_global_extensions() {
            if kind.is_pax_local_extensions() {
                self.pax = Some((h + BLOCK, size, Vec::new()));
            }
        } else if let Some(s) = self.pax_size.take() {
            size = s;
        }
        self.next = size
            .checked_add(BLOCK - 1)
            .map(|s| s & !(BLOCK - 1))
            .and_then(|s| (h + BLOCK).checked_add(s));
        self.finish_pax();
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(size) = self.refused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                ExtensionTooLarge {
                    size,
                    limit: self.limit,
                },
            ));
        }
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Guard<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = self.inner.seek(to)?;
        if self
            .next
            .is_some_and(|h| new > h || (new != h && !self.header.is_empty()))
        {
            self.next = None;
        }
        self.pos = new;
        Ok(new)
    }
}

/// The [`ExtensionTooLarge`] inside `e`, if that is what it is.
pub(crate) fn extension_too_large(e: &io::Error) -> Option<&ExtensionTooLarge> {
    e.get_ref()?.downcast_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: ::tar::EntryType, size: u64) -> Vec<u8> {
        let mut h = ::tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    fn entries(bytes: Vec<u8>, limit: u64) -> io::Result<Vec<String>> {
        let mut a = ::tar::Archive::new(Guard::with_limit(io::Cursor::new(bytes), limit));
        let mut names = Vec::new();
        for e in a.entries()? {
            names.push(String::from_utf8_lossy(&e?.path_bytes()).into_owned());
        }
        Ok(names)
    }

    /// A tar built by the tar crate itself: long names and pax headers within the cap pass
    /// (in step with the crate through a pax `size`), one past it is refused before its data.
    #[test]
    fn extension_headers_are_capped_before_they_are_read() {
        let long = "d/".repeat(200) + "index.json";
        let mut b = ::tar::Builder::new(Vec::new());
        let mut h = ::tar::Header::new_gnu();
        h.set_size(3);
        b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
        b.append_pax_extensions([("size", &b"5"[..]), ("comment", &b"x"[..])])
            .unwrap();
        let mut h = ::tar::Header::new_gnu();
        h.set_size(5);
        b.append_data(&mut h, "after-pax", &b"12345"[..]).unwrap();
        let mut h = ::tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "last", &b"z"[..]).unwrap();
        let good = b.into_inner().unwrap();
        assert_eq!(
            entries(good.clone(), 4096).unwrap(),
            vec![long.clone(), "after-pax".into(), "last".into()]
        );
        let e = entries(good, 100).unwrap_err();
        assert_eq!(
            extension_too_large(&e).map(|x| (x.size, x.limit)),
            Some((long.len() as u64 + 1, 100)),
            "{e}"
        );

        // A long name claiming 1 GiB, with none of it present: refused at its header, so
        // nothing is allocated or read for it.
        let mut evil = header("././@LongLink", ::tar::EntryType::GNULongName, 1 << 30);
        evil.extend_from_slice(&[b'a'; 512]);
        let e = entries(evil, 4096).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a tar extension header (long name or pax) of 1073741824 bytes is over the 4096-byte limit"
        );
        let mut pax = header("pax", ::tar::EntryType::XHeader, 1 << 30);
        pax.extend_from_slice(&[b'a'; 512]);
        assert!(extension_too_large(&entries(pax, 4096).unwrap_err()).is_some());
    }
}
