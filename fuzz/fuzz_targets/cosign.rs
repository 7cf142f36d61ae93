//! What cosign verification reads from a registry or a key file before any signature is
//! trusted: the PEM public key and its hand-written SPKI walk, the simple-signing payload, and
//! the checks of one signature layer (which must refuse, never panic, on any blob and
//! annotation; the signature itself cannot verify on fuzzed bytes).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use xnat_cmd::cosign::{self, Candidate, PublicKey};
use xnat_cmd::digest::Digest;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    let key = PublicKey::from_pem(data, Path::new("fuzz.pub"));
    let _ = cosign::key::p256_point(data);
    let _ = cosign::payload::SimpleSigning::parse(data);
    // One layer whose blob is the input and whose annotation is its base64, checked with the
    // key read from the input when it was one.
    let keys: Vec<PublicKey> = key.into_iter().collect();
    let c = Candidate {
        origin: "fuzz".into(),
        media_type: Some(cosign::SIMPLE_SIGNING_MEDIA_TYPE.into()),
        digest: Digest::sha256_of(data),
        signature: std::str::from_utf8(data).ok().map(str::to_string),
        payload: data.to_vec().into(),
    };
    let _ = cosign::check(&c, &keys, &Digest::sha256_of(b""), "docker.io/library/x");
});
