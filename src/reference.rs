//! Image references (`[HOST[:PORT]/]PATH[:TAG][@DIGEST]`), parsed and normalised exactly as
//! docker does (distribution's `reference.ParseNormalizedNamed`): `ubuntu` is
//! `docker.io/library/ubuntu`, `index.docker.io` is an alias of `docker.io`, and the first
//! path component is a registry only when it has a `.` or `:`, is `localhost`, or has an
//! upper-case letter. Pure: no I/O.
//!
//! Hand-written rather than the `oci-spec`/`docker_credential` helpers because we need
//! docker's exact normalisation *and* precise, per-part error messages.
//!
//! Besides the parsed [`Reference`], the text-level vocabulary every other module uses for
//! image names lives here: [`repository`] and [`same_repository`], [`familiar`], and the two
//! tag-defaulting rules — docker's ([`Reference::with_default_tag`]: `:latest` when there is
//! neither tag nor digest) and XNAT's own ([`xnat_default_tag`]: its `HAS_TAG` pattern, applied
//! to the text as written, which is what XNAT stores).

use std::fmt;

use crate::digest::Digest;
use crate::problem::Hint;

/// The registry docker means when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's `/v2/` API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The key Docker Hub credentials are stored under in `config.json`.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";
pub const DEFAULT_TAG: &str = "latest";

const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Normalised registry (`docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`).
    pub registry: String,
    /// Repository path on that registry (`library/ubuntu`).
    pub repository: String,
    pub tag: Option<String>,
    /// The pinned digest, as written (a reference's digest is lower case: see
    /// [`Digest::parse_canonical`]).
    pub digest: Option<Digest>,
    /// The name part (before `:tag`/`@digest`) as the user typed it, for `repo:tag` injection.
    typed_name: String,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference `{reference}`: it is empty")]
    Empty { reference: String },
    #[error("invalid reference `{reference}`: repository name `{repository}` must be lowercase")]
    Uppercase {
        reference: String,
        repository: String,
    },
    #[error("invalid reference `{reference}`: bad repository path component `{component}` (use lowercase letters, digits and single `.`, `_`, `__` or `-` separators)")]
    BadComponent {
        reference: String,
        component: String,
    },
    #[error("invalid reference `{reference}`: bad registry `{registry}` (expected HOST[:PORT], e.g. ghcr.io or localhost:5000 or [::1]:5000)")]
    BadRegistry { reference: String, registry: String },
    #[error("invalid reference `{reference}`: bad tag `{tag}` (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)")]
    BadTag { reference: String, tag: String },
    #[error("invalid reference `{reference}`: bad digest `{digest}` (expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)")]
    BadDigest { reference: String, digest: String },
    #[error("invalid reference `{reference}`: repository name is longer than 255 characters")]
    NameTooLong { reference: String },
    #[error("invalid reference `{reference}`: a 64-character hex string is an image ID, not a reference")]
    ImageId { reference: String },
}

impl Hint for ReferenceError {
    /// Say when the first path component was read as a registry host (docker's rule: it holds
    /// `.` or `:`, is `localhost`, or has upper case), since that is what makes `UPPER/x` fail.
    fn hint(&self) -> Option<String> {
        let text = match self {
            ReferenceError::Uppercase { reference, .. }
            | ReferenceError::BadComponent { reference, .. }
            | ReferenceError::BadRegistry { reference, .. } => reference,
            _ => return None,
        };
        let host = explicit_registry(text)?;
        Some(format!(
            "`{host}` was taken as a registry host (a first component with `.`, `:` or upper case, or `localhost`, names a registry, as in docker); repository names are lowercase"
        ))
    }
}

impl Reference {
    pub fn parse(text: &str) -> Result<Self, ReferenceError> {
        let reference = text.to_string();
        if text.is_empty() {
            return Err(ReferenceError::Empty { reference });
        }
        // docker's `anchoredIdentifier` rule: only the whole text; `docker.io/<64 hex>` and
        // `<64 hex>:tag` are names.
        if is_image_id(text) {
            return Err(ReferenceError::ImageId { reference });
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => {
                let digest = Digest::parse_canonical(d).map_err(|_| ReferenceError::BadDigest {
                    reference: reference.clone(),
                    digest: d.to_string(),
                })?;
                (r, Some(digest))
            }
            None => (text, None),
        };
        // The tag is after the last `:` that follows the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let (n, t) = (&rest[..last_slash + i], &rest[last_slash + i + 1..]);
                if !is_valid_tag(t) {
                    return Err(ReferenceError::BadTag {
                        reference,
                        tag: t.to_string(),
                    });
                }
                (n, Some(t.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::Empty { reference });
        }
        let (registry, repository) = split_registry(name);
        if registry != DOCKER_HUB && !is_valid_registry(&registry) {
            return Err(ReferenceError::BadRegistry {
                reference,
                registry,
            });
        }
        if repository.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong { reference });
        }
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase {
                reference,
                repository,
            });
        }
        for component in repository.split('/') {
            if !is_valid_component(component) {
                return Err(ReferenceError::BadComponent {
                    reference,
                    component: component.to_string(),
                });
            }
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
            typed_name: name.to_string(),
        })
    }

    /// The same reference with `:latest` when it has neither tag nor digest.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// What the manifest request asks for: the digest when pinned, else the tag (or `latest`).
    pub fn manifest_target(&self) -> &str {
        self.digest
            .as_ref()
            .map(Digest::as_str)
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// The host that serves the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The key credentials for this registry are stored under in docker's `config.json`.
    pub fn auth_key(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_AUTH_KEY
        } else {
            &self.registry
        }
    }

    /// Docker's short form: `ubuntu:22.04`, `user/app`, `ghcr.io/o/r:1`.
    pub fn familiar(&self) -> String {
        let mut s = if self.registry == DOCKER_HUB {
            let short = self
                .repository
                .strip_prefix("library/")
                .filter(|r| !r.contains('/'))
                .unwrap_or(&self.repository);
            // Docker drops `docker.io/` even when the first component then reads as a registry
            // (`docker.io/localhost/x` → `localhost/x`, another image); keep it there, so the
            // short form always parses back to this reference (found by fuzzing).
            // Likewise a bare 64-hex name without tag or digest (`docker.io/<64 hex>`): docker's
            // `FamiliarString` gives the bare hex, which its own `ParseNormalizedNamed` rejects
            // as an image ID (the `anchoredIdentifier` rule, whole text only); keep `docker.io/`
            // (found by fuzzing).
            match short.split_once('/') {
                Some((first, _)) if names_registry(first) => format!("{DOCKER_HUB}/{short}"),
                None if self.tag.is_none() && self.digest.is_none() && is_image_id(short) => {
                    format!("{DOCKER_HUB}/{short}")
                }
                _ => short.to_string(),
            }
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        push_suffix(&mut s, self);
        s
    }

    /// `repo:tag` as the user typed the name, with `:latest` when untagged: what XNAT is told.
    pub fn typed_with_tag(&self) -> String {
        let mut s = self.typed_name.clone();
        match (&self.tag, &self.digest) {
            (None, None) => {
                s.push(':');
                s.push_str(DEFAULT_TAG);
            }
            _ => push_suffix(&mut s, self),
        }
        s
    }

    /// Is the registry on this machine (dockerd then allows plain HTTP)?
    pub fn is_loopback(&self) -> bool {
        is_loopback_registry(&self.registry)
    }
}

/// The repository part of reference text as written: without `@digest` and without `:tag` (a
/// `:` before the last `/` is a registry port). Textual, so it also works on text that does
/// not parse: `host:5000/repo:v1@sha256:…` → `host:5000/repo`.
pub fn repository(text: &str) -> &str {
    let no_digest = text.split_once('@').map_or(text, |(r, _)| r);
    match no_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => no_digest,
    }
}

/// Are two references the same repository, the way docker names them? `xnat/tool`,
/// `docker.io/xnat/tool` and `index.docker.io/xnat/tool` are one repository; text that is not
/// a valid reference compares by its [`repository`] part as written. Tags and digests are
/// ignored; surrounding blanks too.
pub fn same_repository(a: &str, b: &str) -> bool {
    repository_key(a) == repository_key(b)
}

/// What [`same_repository`] compares: `registry/repository` as docker normalises it, else the
/// [`repository`] part as written; for hashing many references at once.
pub fn repository_key(text: &str) -> String {
    let text = text.trim();
    match Reference::parse(text) {
        Ok(r) => format!("{}/{}", r.registry, r.repository),
        Err(_) => repository(text).to_string(),
    }
}

/// Docker's familiar (short) form of reference text: `docker.io/library/ubuntu:22.04` →
/// `ubuntu:22.04` (see [`Reference::familiar`]); text that is not a valid reference is
/// returned as written.
pub fn familiar(text: &str) -> String {
    match Reference::parse(text) {
        Ok(r) => r.familiar(),
        Err(_) => text.to_string(),
    }
}

/// XNAT's `HAS_TAG` test (`^.+:[a-zA-Z0-9_.-]+$`) on the image text as written: something,
/// a `:`, then tag characters to the end. `host:5000/repo` has no tag (a `/` follows the
/// `:`); `repo@sha256:…` has one (the digest's hex matches), so XNAT leaves digests alone.
pub fn xnat_has_tag(text: &str) -> bool {
    match text.rfind(':') {
        Some(i) if i > 0 => {
            let tag = &text[i + 1..];
            !tag.is_empty()
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        }
        _ => false,
    }
}

/// The image as XNAT stores it on create: `:latest` appended to the text as written when
/// [`xnat_has_tag`] says it has no tag, empty text left empty. XNAT's own rule, not docker's
/// (docker's is [`Reference::with_default_tag`] on a parsed reference); they agree on every
/// valid reference, and this one is what XNAT will hold.
pub fn xnat_default_tag(text: &str) -> String {
    if text.is_empty() || xnat_has_tag(text) {
        text.to_string()
    } else {
        format!("{text}:{DEFAULT_TAG}")
    }
}

/// The reference a command is installed under, as XNAT stores it in the command's `image` on
/// create: the text as written with XNAT's `:latest` added when it has no tag
/// ([`xnat_default_tag`]), or `repository@digest` when pinned to the manifest that was read.
/// Made once ([`crate::pipeline::install_image`]); sent and compared as its text
/// ([`InstallRef::as_str`]), and asked for its repository and digest instead of re-parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstallRef {
    text: String,
    digest: Option<Digest>,
}

impl InstallRef {
    /// `text` (trimmed: XNAT would store `"  :latest"` for a blank-padded name) tagged as XNAT
    /// tags on create; a `repo@sha256:…` text keeps its digest. `None` when blank.
    pub fn tagged(text: &str) -> Option<InstallRef> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let digest = text
            .rsplit_once('@')
            .and_then(|(_, d)| Digest::parse_canonical(d).ok());
        Some(InstallRef {
            text: xnat_default_tag(text),
            digest,
        })
    }

    /// `reference`'s repository at `digest`: `repo@sha256:…`, whatever tag `reference` had.
    pub fn pinned(reference: &str, digest: &Digest) -> InstallRef {
        InstallRef {
            text: format!("{}@{digest}", repository(reference.trim())),
            digest: Some(digest.clone()),
        }
    }

    /// The text XNAT is sent and stores.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The repository, as written (no registry added): `lab/t` of `lab/t:1`.
    pub fn repository(&self) -> &str {
        repository(&self.text)
    }

    /// The manifest digest it is pinned to, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
}

impl fmt::Display for InstallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for InstallRef {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl serde::Serialize for InstallRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// `localhost`, 127.0.0.0/8 and `[::1]`, with or without a port.
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = host_of(registry);
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host of `HOST[:PORT]` without brackets or port.
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

/// An image ID as docker's `anchoredIdentifier` matches it: exactly 64 lowercase hex digits.
fn is_image_id(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// docker's rule for the first path component of a name: a registry host when it holds `.`
/// or `:`, is `localhost`, or has upper case (`UPPER/x` is host `UPPER`, repository `x`).
fn names_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// The registry host written at the start of `text`, when its first component names one
/// (for messages about references that fail because of it).
pub fn explicit_registry(text: &str) -> Option<&str> {
    let name = text.split('@').next().unwrap_or(text);
    let (first, _) = name.split_once('/')?;
    names_registry(first).then_some(first)
}

fn push_suffix(s: &mut String, r: &Reference) {
    if let Some(t) = &r.tag {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = &r.digest {
        s.push('@');
        s.push_str(d.as_str());
    }
}

impl fmt::Display for Reference {
    /// Fully qualified: `docker.io/library/ubuntu:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = format!("{}/{}", self.registry, self.repository);
        push_suffix(&mut s, self);
        f.write_str(&s)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// docker's `splitDockerDomain`.
fn split_registry(name: &str) -> (String, String) {
    let (mut registry, mut repo) = match name.split_once('/') {
        Some((first, rest)) if names_registry(first) => (first.to_string(), rest.to_string()),
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if registry == "index.docker.io" {
        registry = DOCKER_HUB.to_string();
    }
    if registry == DOCKER_HUB && !repo.contains('/') {
        repo = format!("library/{repo}");
    }
    (registry, repo)
}

fn is_valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, upper case handled by the caller.
fn is_valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `HOST[:PORT]` where HOST is a DNS name, an IPv4 address or a bracketed IPv6 literal.
fn is_valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else {
            return false;
        };
        if h.is_empty() || h.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return false,
            },
        }
    } else {
        match r.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(r), None),
        }
    };
    let port_ok = port
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = host.iter().all(|h| {
        !h.is_empty()
            && h.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            })
    });
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// What XNAT will store, the repository and the digest, each read from the one value.
    #[test]
    fn install_refs_keep_text_repository_and_digest() {
        let d = Digest::parse(D).unwrap();
        let cases: [(Option<InstallRef>, &str, &str, Option<&Digest>); 5] = [
            (InstallRef::tagged(" lab/t "), "lab/t:latest", "lab/t", None),
            (
                InstallRef::tagged("host:5000/t:2"),
                "host:5000/t:2",
                "host:5000/t",
                None,
            ),
            (
                InstallRef::tagged(&format!("lab/t@{D}")),
                &format!("lab/t@{D}"),
                "lab/t",
                Some(&d),
            ),
            (
                Some(InstallRef::pinned("host:5000/t:2", &d)),
                &format!("host:5000/t@{D}"),
                "host:5000/t",
                Some(&d),
            ),
            // Not a digest docker accepts: kept as text, with no digest claimed.
            (
                InstallRef::tagged("lab/t@sha256:abc"),
                "lab/t@sha256:abc",
                "lab/t",
                None,
            ),
        ];
        for (got, text, repo, digest) in cases {
            let got = got.unwrap();
            assert_eq!(got.as_str(), text);
            assert_eq!(got.to_string(), text);
            assert_eq!(serde_json::to_value(&got).unwrap(), serde_json::json!(text));
            assert_eq!(got.repository(), repo, "{text}");
            assert_eq!(got.digest(), digest, "{text}");
        }
        assert_eq!(InstallRef::tagged("  "), None);
    }

    /// Inputs the `reference` fuzz target (fuzz/) found, as it found them: the familiar form
    /// must parse back to the same registry, repository, tag and digest.
    #[test]
    fn familiar_parses_back_fuzz_regressions() {
        for input in [
            "index.docker.io/xn.io/xnawwwwwwwwwwwwwdcm2niix",
            "docker.io/localhost/x",
            // The familiar form was the bare hex, an image ID that does not parse.
            "docker.io/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let familiar = r.familiar();
            let again = Reference::parse(&familiar).unwrap_or_else(|e| panic!("{familiar}: {e}"));
            assert_eq!(
                (again.registry, again.repository, again.tag, again.digest),
                (r.registry, r.repository, r.tag, r.digest),
                "{input} → {familiar}"
            );
        }
    }

    /// docker's `anchoredIdentifier` rule (distribution/reference `ParseNormalizedNamed`):
    /// only a whole text of 64 lowercase hex is an image ID; a 64-hex *name* is a Docker Hub
    /// repository. Its familiar form is never the bare hex, which would not parse back (the
    /// `reference` fuzz target found `docker.io/<64 hex>`).
    #[test]
    fn docker_io_64_hex_name_familiar_form_is_not_an_image_id() {
        let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        // (input, familiar; `None`: rejected as an image ID)
        let cases: Vec<(String, Option<String>)> = vec![
            (hex.to_string(), None),
            (format!("docker.io/{hex}"), Some(format!("docker.io/{hex}"))),
            (format!("library/{hex}"), Some(format!("docker.io/{hex}"))),
            (
                format!("index.docker.io/library/{hex}"),
                Some(format!("docker.io/{hex}")),
            ),
            // With a tag or digest the short form parses, as in docker.
            (format!("{hex}:v1"), Some(format!("{hex}:v1"))),
            (format!("docker.io/{hex}:v1"), Some(format!("{hex}:v1"))),
            (format!("{hex}@{D}"), Some(format!("{hex}@{D}"))),
            // Another registry: the name as written.
            (format!("ghcr.io/{hex}"), Some(format!("ghcr.io/{hex}"))),
        ];
        for (input, want) in cases {
            match (Reference::parse(&input), want) {
                (Err(e), None) => assert_eq!(
                    e,
                    ReferenceError::ImageId {
                        reference: input.clone()
                    }
                ),
                (Ok(r), Some(familiar)) => {
                    let repository = match r.registry.as_str() {
                        DOCKER_HUB => format!("library/{hex}"),
                        _ => hex.to_string(),
                    };
                    assert_eq!(r.repository, repository, "{input}");
                    assert_eq!(r.familiar(), familiar, "{input}");
                    let again = Reference::parse(&familiar).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(
                        again,
                        Reference {
                            typed_name: again.typed_name.clone(),
                            ..r
                        }
                    );
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn normalisation_table() {
        // (input, fully qualified with default tag, familiar, api host)
        let dd = format!("ubuntu@{D}");
        let td = format!("ubuntu:22.04@{D}");
        let want_dd = format!("docker.io/library/ubuntu@{D}");
        let want_td = format!("docker.io/library/ubuntu:22.04@{D}");
        let cases: Vec<(&str, &str, &str, &str)> = vec![
            (
                "ubuntu",
                "docker.io/library/ubuntu:latest",
                "ubuntu:latest",
                "registry-1.docker.io",
            ),
            (
                "ubuntu:22.04",
                "docker.io/library/ubuntu:22.04",
                "ubuntu:22.04",
                "registry-1.docker.io",
            ),
            (
                "library/ubuntu",
                "docker.io/library/ubuntu:latest",
                "ubuntu:latest",
                "registry-1.docker.io",
            ),
            (
                "docker.io/ubuntu",
                "docker.io/library/ubuntu:latest",
                "ubuntu:latest",
                "registry-1.docker.io",
            ),
            (
                "index.docker.io/xnat/dcm2niix:1",
                "docker.io/xnat/dcm2niix:1",
                "xnat/dcm2niix:1",
                "registry-1.docker.io",
            ),
            (
                "xnat/dcm2niix",
                "docker.io/xnat/dcm2niix:latest",
                "xnat/dcm2niix:latest",
                "registry-1.docker.io",
            ),
            (
                "localhost/x",
                "localhost/x:latest",
                "localhost/x:latest",
                "localhost",
            ),
            (
                "localhost:5000/x/y:1",
                "localhost:5000/x/y:1",
                "localhost:5000/x/y:1",
                "localhost:5000",
            ),
            (
                "127.0.0.1:5000/xnat/small:v1",
                "127.0.0.1:5000/xnat/small:v1",
                "127.0.0.1:5000/xnat/small:v1",
                "127.0.0.1:5000",
            ),
            (
                "[::1]:5000/x",
                "[::1]:5000/x:latest",
                "[::1]:5000/x:latest",
                "[::1]:5000",
            ),
            (
                "ghcr.io/o/r",
                "ghcr.io/o/r:latest",
                "ghcr.io/o/r:latest",
                "ghcr.io",
            ),
            (
                "Registry.Example/a",
                "Registry.Example/a:latest",
                "Registry.Example/a:latest",
                "Registry.Example",
            ),
            (
                "a__b/c-d--e.f_g",
                "docker.io/a__b/c-d--e.f_g:latest",
                "a__b/c-d--e.f_g:latest",
                "registry-1.docker.io",
            ),
            // A Docker Hub path whose first component looks like a host keeps `docker.io/`:
            // without it the familiar form names another registry (found by fuzzing).
            (
                "index.docker.io/xn.io/tool",
                "docker.io/xn.io/tool:latest",
                "docker.io/xn.io/tool:latest",
                "registry-1.docker.io",
            ),
            (
                "docker.io/localhost/x:1",
                "docker.io/localhost/x:1",
                "docker.io/localhost/x:1",
                "registry-1.docker.io",
            ),
            (&dd, &want_dd, &dd, "registry-1.docker.io"),
            (&td, &want_td, &td, "registry-1.docker.io"),
        ];
        for (input, full, familiar, host) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let r = r.with_default_tag();
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(r.api_host(), host, "{input}");
        }
    }

    #[test]
    fn parts_and_targets() {
        let r = Reference::parse(&format!("localhost:5000/a/b:v1@{D}")).unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().map(Digest::as_str), Some(D));
        assert_eq!(r.manifest_target(), D, "the digest wins over the tag");
        assert_eq!(Reference::parse("x").unwrap().manifest_target(), "latest");
        assert_eq!(Reference::parse("x").unwrap().tag, None);
        assert_eq!(
            Reference::parse("ubuntu").unwrap().auth_key(),
            DOCKER_HUB_AUTH_KEY
        );
        assert_eq!(Reference::parse("q.io/a").unwrap().auth_key(), "q.io");
    }

    #[test]
    fn typed_with_tag_keeps_what_was_typed() {
        let cases = [
            ("ubuntu", "ubuntu:latest"),
            ("xnat/dcm2niix:1.0", "xnat/dcm2niix:1.0"),
            ("localhost:5000/a", "localhost:5000/a:latest"),
            (
                "docker.io/library/ubuntu",
                "docker.io/library/ubuntu:latest",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Reference::parse(input).unwrap().typed_with_tag(), want);
        }
    }

    #[test]
    fn loopback_registries() {
        for (r, want) in [
            ("localhost", true),
            ("localhost:5000", true),
            ("127.0.0.1:5000", true),
            ("127.1.2.3", true),
            ("[::1]:5000", true),
            ("[::1]", true),
            ("10.0.0.1:5000", false),
            ("ghcr.io", false),
            ("docker.io", false),
        ] {
            assert_eq!(is_loopback_registry(r), want, "{r}");
        }
    }

    /// Table for the text-level vocabulary: (text, repository, XNAT's default tag, familiar).
    #[test]
    fn text_vocabulary_table() {
        let dig = format!("repo@{D}");
        let tag_dig = format!("repo:tag@{D}");
        let host_dig = format!("host:5000/repo:v1@{D}");
        let cases: Vec<(&str, &str, &str, &str)> = vec![
            ("busybox", "busybox", "busybox:latest", "busybox"),
            ("busybox:1.36", "busybox", "busybox:1.36", "busybox:1.36"),
            (
                "host:5000/repo",
                "host:5000/repo",
                "host:5000/repo:latest",
                "host:5000/repo",
            ),
            (
                "host:5000/repo:tag",
                "host:5000/repo",
                "host:5000/repo:tag",
                "host:5000/repo:tag",
            ),
            (&dig, "repo", &dig, &dig),
            (&tag_dig, "repo", &tag_dig, &tag_dig),
            (&host_dig, "host:5000/repo", &host_dig, &host_dig),
            (
                "[::1]:5000/x",
                "[::1]:5000/x",
                "[::1]:5000/x:latest",
                "[::1]:5000/x",
            ),
            (
                "[::1]:5000/x:2",
                "[::1]:5000/x",
                "[::1]:5000/x:2",
                "[::1]:5000/x:2",
            ),
            (
                "docker.io/library/ubuntu",
                "docker.io/library/ubuntu",
                "docker.io/library/ubuntu:latest",
                "ubuntu",
            ),
            ("ubuntu", "ubuntu", "ubuntu:latest", "ubuntu"),
            (
                "index.docker.io/library/ubuntu:latest",
                "index.docker.io/library/ubuntu",
                "index.docker.io/library/ubuntu:latest",
                "ubuntu:latest",
            ),
            // Upper case is not a valid repository: familiar keeps the text as written.
            (
                "UPPER/Case:tag",
                "UPPER/Case",
                "UPPER/Case:tag",
                "UPPER/Case:tag",
            ),
            ("Upper", "Upper", "Upper:latest", "Upper"),
            // Blank text: XNAT tags blanks that are not empty (it stores `"  :latest"`).
            ("", "", "", ""),
            ("  ", "  ", "  :latest", "  "),
            // XNAT's pattern: an empty tag or one with other characters is no tag.
            ("repo:", "repo", "repo::latest", "repo:"),
        ];
        for (text, repo, xnat, fam) in cases {
            assert_eq!(repository(text), repo, "repository({text:?})");
            assert_eq!(xnat_default_tag(text), xnat, "xnat_default_tag({text:?})");
            assert_eq!(
                xnat_has_tag(text),
                xnat == text && !text.is_empty(),
                "xnat_has_tag({text:?})"
            );
            assert_eq!(familiar(text), fam, "familiar({text:?})");
        }
    }

    #[test]
    fn xnat_and_docker_tag_rules_agree_on_valid_references() {
        let dig = format!("repo:tag@{D}");
        for text in [
            "busybox",
            "host:5000/repo",
            "host:5000/repo:tag",
            "[::1]:5000/x",
            "ubuntu:22.04",
            &dig,
        ] {
            let docker = Reference::parse(text).unwrap().with_default_tag();
            let xnat = Reference::parse(&xnat_default_tag(text)).unwrap();
            assert_eq!(docker, xnat, "{text}");
        }
    }

    #[test]
    fn same_repository_table() {
        let digest = format!("xnat/tool@{D}");
        let tag_dig = format!("repo:tag@{D}");
        let cases: Vec<(&str, &str, bool)> = vec![
            ("xnat/tool:1", "docker.io/xnat/tool:2", true),
            ("index.docker.io/xnat/tool:1", &digest, true),
            ("busybox:latest", "docker.io/library/busybox:1.36", true),
            ("ubuntu", "docker.io/library/ubuntu", true),
            ("ubuntu", "index.docker.io/library/ubuntu:latest", true),
            ("docker.io/library/ubuntu", "library/ubuntu:22.04", true),
            ("host:5000/repo", "host:5000/repo:tag", true),
            (&tag_dig, "repo", true),
            ("repo:tag@sha256:x", "repo:v2@sha256:y", true),
            ("[::1]:5000/x", "[::1]:5000/x:1", true),
            (" x ", "x:1", true),
            ("ghcr.io/xnat/tool:1", "xnat/tool:1", false),
            ("host:5000/a:1", "host:5001/a:1", false),
            ("localhost/x", "x", false),
            ("[::1]:5000/x", "[::1]:5001/x", false),
            ("Not A Ref:1", "Not A Ref:2", true),
            ("UPPER/Case:1", "upper/case:1", false),
            ("", "", true),
        ];
        for (a, b, want) in cases {
            assert_eq!(same_repository(a, b), want, "{a} ~ {b}");
            assert_eq!(same_repository(b, a), want, "{b} ~ {a}");
        }
    }

    #[test]
    fn invalid_references_say_what_is_wrong() {
        let hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let long = format!("a/{}", "b".repeat(260));
        let upper_digest = format!(
            "ubuntu@{}",
            D.to_ascii_uppercase().replacen("SHA", "sha", 1)
        );
        let cases: Vec<(&str, &str)> = vec![
            ("", "it is empty"),
            (
                "Ubuntu",
                "repository name `library/Ubuntu` must be lowercase",
            ),
            ("ghcr.io/Org/r", "repository name `Org/r` must be lowercase"),
            ("ubuntu:", "bad tag ``"),
            ("ubuntu:-x", "bad tag `-x`"),
            ("ubuntu:a/b", "bad registry `ubuntu:a`"),
            ("ubuntu@sha256:abc", "bad digest `sha256:abc`"),
            ("ubuntu@md5:0123", "bad digest `md5:0123`"),
            // docker/distribution requires lower-case hex in a reference (see digest.rs).
            (&upper_digest, "bad digest `sha256:0123456789ABCDEF"),
            ("a//b", "bad repository path component ``"),
            ("a/b_", "bad repository path component `b_`"),
            ("a/b___c", "bad repository path component `b___c`"),
            ("-a/b", "bad repository path component `-a`"),
            ("host:port/x", "bad registry `host:port`"),
            ("[::1/x", "bad registry `[::1`"),
            ("[zz]:5000/x", "bad registry `[zz]:5000`"),
            ("ex_ample.com/x", "bad registry `ex_ample.com`"),
            (hex64, "is an image ID"),
            (&long, "longer than 255"),
            (":tag", "it is empty"),
        ];
        for (input, want) in cases {
            match Reference::parse(input) {
                Ok(r) => panic!("{input:?} parsed as {r}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(want), "{input:?}: {msg}");
                    assert!(msg.starts_with("invalid reference `"), "{msg}");
                }
            }
        }
    }
}
