//! Image files on disk: OCI layouts, tars of them, and `docker save` archives (legacy and
//! Docker ≥ 25), plain or gzip-compressed. Read in place: no extraction, no layer decompression.

use std::path::PathBuf;

use super::{ReadOptions, ReadResult, SourceSpec};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("failed to read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Read an archive-like source. Blocking: call from a blocking context.
pub fn read(spec: &SourceSpec, _opts: &ReadOptions) -> Result<ReadResult, ArchiveError> {
    let path = match spec {
        SourceSpec::Oci { dir, .. } => dir.clone(),
        SourceSpec::OciArchive { path, .. } | SourceSpec::DockerArchive { path, .. } => {
            path.clone()
        }
        _ => PathBuf::new(),
    };
    Err(ArchiveError::Io {
        path,
        source: std::io::Error::other("not implemented"),
    })
}
