//! Image references (`reference::Reference::parse`), the text-level helpers every other module
//! uses on image names, and the source syntax (`SourceSpec::parse`). Besides "no panic": a
//! parsed reference's familiar form parses back to the same registry, repository, tag and digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::reference::{self, Reference};
use xnat_cmd::SourceSpec;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(text) {
        let _ = (
            r.manifest_target(),
            r.api_host(),
            r.auth_key(),
            r.is_loopback(),
        );
        let _ = r.typed_with_tag();
        let familiar = r.familiar();
        let again = Reference::parse(&familiar).unwrap_or_else(|e| {
            panic!("familiar form `{familiar}` of `{text}` does not parse: {e}")
        });
        assert_eq!(
            (
                &again.registry,
                &again.repository,
                &again.tag,
                &again.digest
            ),
            (&r.registry, &r.repository, &r.tag, &r.digest),
            "`{text}` → `{familiar}`"
        );
        let _ = r.with_default_tag();
    }
    let _ = reference::repository(text);
    let _ = reference::familiar(text);
    let _ = reference::xnat_default_tag(text);
    let _ = reference::explicit_registry(text);
    let _ = reference::is_loopback_registry(text);
    let _ = reference::same_repository(text, "docker.io/library/ubuntu");
    let _ = SourceSpec::parse(text);
});
