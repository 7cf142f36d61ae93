//! The fleet file of `sync` (YAML, every mistake located), and the `prune:` glob matcher on
//! the repositories it names.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match xnat_cmd::fleet::parse("fleet.yaml", text) {
        Ok(fleet) => {
            let _ = fleet.site_map();
            for glob in &fleet.prune {
                for image in &fleet.images {
                    let _ = xnat_cmd::fleet::glob_matches(glob, &image.image);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
