//! netrc files (`~/.netrc`, `$NETRC`), the XNAT credentials xnatpy also reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    // Read with `read_to_string`: only UTF-8 reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = xnat_cmd::fuzzing::netrc(text);
});
