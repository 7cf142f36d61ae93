//! Registry credentials: docker/podman `config.json` (`auth.json`) and Kubernetes image
//! pull secrets (the Secret manifest or its `.dockerconfigjson`, JSON or YAML).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xnat_cmd::credentials::AuthConfig;

mod alloc_cap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = AuthConfig::parse(text, "fuzz") {
        let _ = e.to_string();
    }
    if let Err(e) = AuthConfig::parse_pull_secret(text, "fuzz") {
        let _ = e.to_string();
    }
});
