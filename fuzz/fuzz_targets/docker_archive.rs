//! `docker save` archives (legacy and Docker ≥ 25 layouts, plain or gzip) read in place
//! (`source::archive::read` with `docker-archive:`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::SourceSpec;

mod alloc_cap;
mod archive_file;

fuzz_target!(|data: &[u8]| {
    archive_file::read_all(data, |path| SourceSpec::DockerArchive {
        path,
        reference: None,
    });
    archive_file::read_all(data, |path| SourceSpec::DockerArchive {
        path,
        reference: Some("example.org/tool:1".into()),
    });
});
