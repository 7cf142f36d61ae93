//! `WWW-Authenticate` challenges from a registry (`source::registry::challenge::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parser as text (`HeaderValue::to_str`).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for c in xnat_cmd::fuzzing::www_authenticate(text) {
        let _ = (
            c.param("realm"),
            c.param("service"),
            c.param("scope"),
            c.param("error"),
        );
    }
});
