//! The archive readers take a path (they seek in plain tars): each input is written to one
//! file per fuzzing process, in memory (`/dev/shm`) when the machine has it.

use std::path::PathBuf;

use xnat_cmd::source::archive;
use xnat_cmd::{ReadOptions, SourceSpec};

fn scratch() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("xnat-cmd-fuzz-{}.tar", std::process::id()))
}

/// Read `data` as an archive with `make(path)`'s source spec, one platform and all platforms.
pub fn read_all(data: &[u8], make: impl Fn(PathBuf) -> SourceSpec) {
    let path = scratch();
    // A scratch file that cannot be written is the machine's problem, not an input's.
    std::fs::write(&path, data).expect("write the fuzz input to a scratch file");
    let spec = make(path);
    for all_platforms in [false, true] {
        let opts = ReadOptions {
            all_platforms,
            ..ReadOptions::default()
        };
        match archive::read(&spec, &opts) {
            Ok(result) => {
                for image in &result.images {
                    if let Some(label) = image.labels.get(xnat_cmd::LABEL_KEY) {
                        let _ = xnat_cmd::parse_label(label);
                    }
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}
