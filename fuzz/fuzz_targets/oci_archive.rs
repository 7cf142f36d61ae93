//! Tars of OCI image layouts (plain or gzip) read in place (`source::archive::read` with
//! `oci-archive:`): index.json → nested indexes → manifest → config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::SourceSpec;

mod alloc_cap;
mod archive_file;

fuzz_target!(|data: &[u8]| {
    archive_file::read_all(data, |path| SourceSpec::OciArchive { path, tag: None });
    archive_file::read_all(data, |path| SourceSpec::OciArchive {
        path,
        tag: Some("latest".into()),
    });
});
