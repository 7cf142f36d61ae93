//! Every public error type of the library, built once per variant that carries text: its
//! message states facts and names no command-line flag, since the library does not know which
//! front end called it; advice, flags included, is in its [`Hint`]. A second test keeps the
//! list complete: an error type added to `src/` fails it until it is built here.
//!
//! Field values are ordinary data: a field may hold where a value came from as the caller
//! named it (the CLI gives its registry user the origin `--registry-user`), which the message
//! then quotes as a fact.

use std::any::type_name;
use std::fmt::Display;
use std::path::PathBuf;
use std::time::Duration;

use super::Hint;
use crate::apply::UnknownProjects;
use crate::command::normalize::NormalizeError;
use crate::cosign::key::{KeyError, SpkiError};
use crate::cosign::{Rejection, SignatureError};
use crate::digest::{Digest, DigestMismatch, InvalidDigest, VerifyError};
use crate::fleet::run::{EntryError, LoadError};
use crate::fleet::sites::SiteError;
use crate::http::{BodyError, CaError};
use crate::labels::{CommandFileError, LabelError};
use crate::lenient_json::{JsonError, JsonErrorKind};
use crate::pipeline::{InputError, ItemError};
use crate::platform::{Platform, PlatformError};
use crate::reference::ReferenceError;
use crate::secret::SecretFileError;
use crate::source::archive::ArchiveError;
use crate::source::daemon::{Attempt, DaemonError, Failure, Tried};
use crate::source::manifest::ManifestError;
use crate::source::registry::RegistryError;
use crate::source::{SourceError, SpecError};
use crate::status::push::PushError;
use crate::xnat::credentials::CredentialSource;
use crate::xnat::preflight::PreflightError;
use crate::xnat::XnatError;

/// One error as shown: its type, message and hint.
struct Shown {
    ty: &'static str,
    text: String,
    hint: Option<String>,
}

/// An error of a type without advice of its own.
fn plain<E: Display>(e: E) -> Shown {
    Shown {
        ty: type_name::<E>(),
        text: e.to_string(),
        hint: None,
    }
}

/// An error of a type that carries its advice.
fn hinted<E: Display + Hint>(e: E) -> Shown {
    Shown {
        ty: type_name::<E>(),
        text: e.to_string(),
        hint: e.hint(),
    }
}

fn s(text: &str) -> String {
    text.to_string()
}

fn p(text: &str) -> PathBuf {
    PathBuf::from(text)
}

fn io() -> std::io::Error {
    std::io::Error::other("disk on fire")
}

fn json_error() -> serde_json::Error {
    serde_json::from_str::<serde_json::Value>("{").unwrap_err()
}

/// A reqwest error made without a network: a request to a relative URL.
fn reqwest_error() -> reqwest::Error {
    reqwest::Client::new().get("no scheme").build().unwrap_err()
}

fn pem_error() -> rustls_pki_types::pem::Error {
    rustls_pki_types::pem::Error::NoItemsFound
}

fn digest(byte: u8) -> Digest {
    Digest::sha256_of(&[byte])
}

fn xnat_http() -> XnatError {
    XnatError::Http {
        method: s("POST"),
        url: s("https://xnat.example.org/xapi/commands"),
        status: 500,
        body: s("boom"),
    }
}

fn signature_refused(tried: usize) -> SignatureError {
    SignatureError::Refused {
        reference: s("ghcr.io/lab/tool:1"),
        digest: digest(1),
        reason: Rejection::NotVerified { keys: 1 },
        tried,
    }
}

#[rustfmt::skip]
fn every_error() -> Vec<Shown> {
    let mut all = Vec::new();
    let reference = || s("ghcr.io/lab/tool:1");

    use crate::credentials::CredentialError as RegistryCredential;
    all.extend([
        plain(RegistryCredential::Read { path: p("/home/u/.docker/config.json"), source: io() }),
        plain(RegistryCredential::Parse { origin: s("DOCKER_AUTH_CONFIG"), source: serde_norway::from_str::<serde_json::Value>("{").unwrap_err() }),
        plain(RegistryCredential::Malformed { origin: s("`auth.json`"), what: s("`auth` is not base64") }),
        plain(RegistryCredential::Helper { helper: s("pass"), server: s("ghcr.io"), message: s("not found") }),
        plain(RegistryCredential::HelperDeadline { helper: s("pass"), server: s("ghcr.io"), after: Duration::from_secs(30) }),
    ]);

    let mismatch = || DigestMismatch { what: s("manifest of `ghcr.io/lab/tool:1`"), expected: digest(1), found: digest(2) };
    all.extend([
        plain(InvalidDigest { text: s("sha256:x") }),
        plain(mismatch()),
        plain(VerifyError::Unsupported { what: s("a blob"), digest: digest(1) }),
        plain(VerifyError::Mismatch(mismatch())),
    ]);

    all.extend([
        plain(Failure::Missing),
        plain(Failure::Refused),
        plain(Failure::PermissionDenied),
        plain(Failure::TimedOut),
        plain(Failure::Io(io())),
        plain(Failure::Tls(s("bad certificate"))),
        plain(Failure::NotEngineApi(s("HTTP 404"))),
    ]);
    let daemon = |e: DaemonError| hinted(e);
    all.extend([
        daemon(DaemonError::NoDaemon { tried: Tried(vec![Attempt { endpoint: s("unix:///var/run/docker.sock"), origin: s("default"), failure: Failure::Missing }]) }),
        daemon(DaemonError::UnsupportedHost { value: s("ssh://host"), origin: s("DOCKER_HOST"), why: s("ssh is not supported") }),
        daemon(DaemonError::UnverifiedTls { origin: s("DOCKER_TLS_VERIFY") }),
        daemon(DaemonError::Tls { path: p("/certs"), reason: s("no ca.pem") }),
        daemon(DaemonError::ReadConfig { path: p("/home/u/.docker/config.json"), source: io() }),
        daemon(DaemonError::ConfigJson { path: p("/home/u/.docker/config.json"), source: json_error() }),
        daemon(DaemonError::Context { name: s("remote"), path: p("/home/u/.docker/contexts"), source: io() }),
        daemon(DaemonError::ContextWithoutHost { name: s("remote"), path: p("/home/u/.docker/contexts/meta.json") }),
        daemon(DaemonError::InvalidReference { reference: reference(), why: "it holds a space" }),
        // `Http` is left out: its `hyper::Error` is made only by a connection.
        daemon(DaemonError::Stalled { path: s("/images/json"), endpoint: s("unix:///var/run/docker.sock"), seconds: 30 }),
        daemon(DaemonError::Body { path: s("/images/json"), reason: s("connection reset") }),
        daemon(DaemonError::TooLarge { path: s("/images/json"), limit: 1024 }),
        daemon(DaemonError::Status { method: s("GET"), path: s("/images/json"), status: 500, message: s("boom") }),
        daemon(DaemonError::BadAnswer { path: s("/images/json"), why: s("not a list") }),
        daemon(DaemonError::NotFound { reference: reference(), endpoint: s("unix:///var/run/docker.sock") }),
        daemon(DaemonError::PullFailed { reference: reference(), endpoint: s("unix:///var/run/docker.sock"), message: s("denied") }),
        daemon(DaemonError::Credentials(RegistryCredential::Malformed { origin: s("`auth.json`"), what: s("`auth` is not base64") })),
        daemon(DaemonError::MissingAfterPull { reference: reference(), endpoint: s("unix:///var/run/docker.sock") }),
    ]);

    all.extend([
        plain(SpecError::UnknownTransport { transport: s("ftp"), source_text: s("ftp:x") }),
        plain(SpecError::EmptyPath { source_text: s("oci:") }),
        plain(SpecError::EmptyReference { source_text: s("docker://") }),
    ]);

    let archive = |e: ArchiveError| hinted(e);
    let tar = || p("image.tar");
    let available = || vec![s("linux/amd64"), s("linux/arm64")];
    all.extend([
        archive(ArchiveError::NotFound { path: tar() }),
        archive(ArchiveError::Io { path: tar(), source: io() }),
        archive(ArchiveError::IsDirectory { path: p("layout") }),
        archive(ArchiveError::NotALayout { path: p("layout") }),
        archive(ArchiveError::BadTar { path: tar(), source: io() }),
        archive(ArchiveError::TarExtensionTooLarge { path: tar(), size: 1 << 30, limit: 1 << 20 }),
        archive(ArchiveError::EmptyTar { path: tar() }),
        archive(ArchiveError::Truncated { path: tar(), entry: s("manifest.json") }),
        archive(ArchiveError::NotAnImageArchive { path: tar() }),
        archive(ArchiveError::MissingEntry { path: tar(), entry: s("manifest.json") }),
        archive(ArchiveError::JsonTooLarge { path: tar(), entry: s("manifest.json"), size: 1 << 30, limit: 1 << 20 }),
        archive(ArchiveError::JsonBudget { path: tar(), limit: 1 << 20 }),
        archive(ArchiveError::Binary { path: tar(), entry: s("manifest.json") }),
        archive(ArchiveError::NotJson { path: tar(), entry: s("manifest.json"), source: json_error() }),
        archive(ArchiveError::Document { path: tar(), entry: s("manifest.json"), source: Box::new(ManifestError::Unrecognised { what: s("manifest.json") }) }),
        archive(ArchiveError::BadDigest { path: tar(), digest: s("md5:x") }),
        archive(ArchiveError::DigestMismatch(mismatch())),
        archive(ArchiveError::UnsafeEntry { path: tar(), entry: s("../../etc/passwd") }),
        archive(ArchiveError::NoPlatform { path: tar(), wanted: Platform::linux_amd64(), available: available() }),
        archive(ArchiveError::UnknownTag { path: tar(), tag: s("2"), available: available() }),
        archive(ArchiveError::Ambiguous { path: tar(), transport: "docker-archive", available: available() }),
        archive(ArchiveError::NoImages { path: tar() }),
        archive(ArchiveError::TooDeep { path: tar(), limit: 8 }),
    ]);

    let what = || s("manifest of `ghcr.io/lab/tool:1`");
    all.extend([
        plain(ManifestError::Json { what: what(), source: json_error() }),
        plain(ManifestError::UnsupportedMediaType { what: what(), media_type: s("text/plain") }),
        plain(ManifestError::Unrecognised { what: what() }),
        plain(ManifestError::NoMatchingPlatform { what: what(), wanted: Platform::linux_amd64(), available: available() }),
        plain(ManifestError::DigestMismatch(mismatch())),
        plain(ManifestError::TooManyManifests { what: what(), limit: 256 }),
        plain(ManifestError::UnsupportedDigest { what: what(), digest: s("md5:x") }),
    ]);

    let bad_ref = || s("Lab/Tool");
    all.extend([
        hinted(ReferenceError::Empty { reference: s("") }),
        hinted(ReferenceError::Uppercase { reference: bad_ref(), repository: s("Tool") }),
        hinted(ReferenceError::BadComponent { reference: bad_ref(), component: s("Tool") }),
        hinted(ReferenceError::BadRegistry { reference: bad_ref(), registry: s("Lab") }),
        hinted(ReferenceError::BadTag { reference: bad_ref(), tag: s(".x") }),
        hinted(ReferenceError::BadDigest { reference: bad_ref(), digest: s("sha256:x") }),
        hinted(ReferenceError::NameTooLong { reference: bad_ref() }),
        hinted(ReferenceError::ImageId { reference: "a".repeat(64) }),
    ]);

    let registry = |e: RegistryError| hinted(e);
    let url = || s("https://ghcr.io/v2/lab/tool/manifests/1");
    all.extend([
        registry(RegistryError::Reference(ReferenceError::Empty { reference: s("") })),
        registry(RegistryError::Credentials(RegistryCredential::Malformed { origin: s("`auth.json`"), what: s("`auth` is not base64") })),
        registry(RegistryError::Manifest(ManifestError::Unrecognised { what: what() })),
        registry(RegistryError::CaFile { path: p("ca.pem"), source: io() }),
        registry(RegistryError::CaPem { path: p("ca.pem"), source: pem_error() }),
        registry(RegistryError::Client(reqwest_error())),
        registry(RegistryError::ManifestUnknown { reference: reference(), message: s("manifest unknown") }),
        registry(RegistryError::NameUnknown { registry: s("ghcr.io"), repository: s("lab/tool"), message: s("name unknown") }),
        registry(RegistryError::Unauthorized { reference: reference(), detail: s("was refused (denied)") }),
        registry(RegistryError::NoCredentials { reference: reference(), message: s("authentication required") }),
        registry(RegistryError::BadCredentials { registry: s("ghcr.io"), realm: s("https://ghcr.io/token"), provider: s("~/.docker/config.json"), message: s("denied") }),
        registry(RegistryError::RateLimited { registry: s("docker.io"), retry_after: Some(60), remaining: Some(s("0")) }),
        registry(RegistryError::Http { method: "GET", url: url(), status: 500, code: Some(s("UNKNOWN")), message: s("boom") }),
        registry(RegistryError::CutOff { what: s("manifest"), url: url(), received: 10 }),
        registry(RegistryError::BadBody { what: s("manifest"), url: url(), problem: s("is not JSON") }),
        registry(RegistryError::TooLarge { what: s("manifest"), url: url(), limit: 1 << 20 }),
        registry(RegistryError::Tls { registry: s("ghcr.io"), source: reqwest_error() }),
        registry(RegistryError::Connect { registry: s("ghcr.io"), source: reqwest_error() }),
        registry(RegistryError::TooManyRedirects { url: url() }),
        registry(RegistryError::BadRedirect { url: url() }),
        registry(RegistryError::Deadline { reference: reference(), seconds: 300 }),
        registry(RegistryError::SignaturesTooLarge { reference: reference(), limit: 1 << 20 }),
        registry(RegistryError::Signature(signature_refused(2))),
    ]);

    all.extend([
        hinted(SourceError::Spec(SpecError::EmptyPath { source_text: s("oci:") })),
        hinted(SourceError::Archive(ArchiveError::NoImages { path: tar() })),
        hinted(SourceError::from(RegistryError::TooManyRedirects { url: url() })),
        hinted(SourceError::Daemon(DaemonError::NotFound { reference: reference(), endpoint: s("unix:///var/run/docker.sock") })),
    ]);

    all.extend([
        hinted(EntryError::NoSuchCommands { names: vec![s("x")], available: vec![s("a"), s("b")], in_file: false }),
        hinted(EntryError::NoSuchCommands { names: vec![s("x")], available: vec![s("a")], in_file: true }),
        hinted(EntryError::NoSuchWrappers { names: vec![s("x-qc")], available: vec![s("x-scan"), s("x-session")] }),
        hinted(EntryError::NoSuchWrappers { names: vec![s("x-qc")], available: vec![] }),
    ]);

    let load = |e: LoadError| hinted(e);
    all.extend([
        load(LoadError::Source { at: s("fleet.yaml:3"), source: InputError::BareFile { path: s("image.tar") } }),
        load(LoadError::NotAnImage { at: s("fleet.yaml:3"), image: s("command.json") }),
        load(LoadError::NotAnImage { at: s(""), image: s("command.json") }),
        load(LoadError::Unverifiable(InputError::NotVerifiable { input: s("docker-archive:x.tar"), from: "an archive" })),
        load(LoadError::Key(KeyError::NotPem { path: p("cosign.pub") })),
    ]);
    all.extend([
        plain(SiteError::NoSites { name: s("prod") }),
        plain(SiteError::Unknown { name: s("prdo"), near: Some(s("prod")), available: vec![s("prod"), s("test")] }),
    ]);

    let input = |e: InputError| hinted(e);
    all.extend([
        input(InputError::Spec(SpecError::EmptyPath { source_text: s("oci:") })),
        input(InputError::Reference(ReferenceError::Empty { reference: s("") })),
        input(InputError::BareFile { path: s("image.tar") }),
        input(InputError::BareDirectory { path: s("layout"), oci_layout: true }),
        input(InputError::NotVerifiable { input: s("oci:layout"), from: "an OCI layout" }),
    ]);
    let item = |e: ItemError| hinted(e);
    all.extend([
        item(ItemError::ReadFile { path: s("command.json"), source: io() }),
        item(ItemError::NotCommands { path: s("command.json"), source: CommandFileError::Empty }),
        item(ItemError::from(SourceError::Archive(ArchiveError::NoImages { path: tar() }))),
        item(ItemError::Label(LabelError::Missing)),
        item(ItemError::NoReference),
        item(ItemError::NoDigest),
        item(ItemError::OtherThanSigned { image: s("ghcr.io/lab/other:1"), signed: reference() }),
        item(ItemError::NotVerifiable(InputError::NotVerifiable { input: s("oci:layout"), from: "an OCI layout" })),
    ]);

    let xnat_url = || s("https://xnat.example.org/");
    let xnat = |e: XnatError| hinted(e);
    all.extend([
        xnat(XnatError::BadUrl { url: s("ftp://host"), reason: s("the scheme must be http or https") }),
        xnat(XnatError::CredentialsInUrl { url: s("https://***@host") }),
        xnat(XnatError::BadCa(pem_error())),
        xnat(XnatError::NoCa),
        xnat(XnatError::Client(reqwest_error())),
        xnat(XnatError::Untrusted { url: xnat_url(), source: reqwest_error() }),
        xnat(XnatError::Unreachable { url: xnat_url(), source: reqwest_error() }),
        xnat(XnatError::ConnectionLost { url: xnat_url(), method: s("GET"), path: s("xapi/commands"), source: reqwest_error() }),
        xnat(XnatError::Authentication { source_desc: s("XNAT_USER and XNAT_PASS"), detail: s("HTTP 401") }),
        xnat(XnatError::Authentication { source_desc: CredentialSource::Flags.to_string(), detail: s("HTTP 401") }),
        xnat(XnatError::Forbidden { user: s("admin"), action: s("install commands"), status: 403, body: s("forbidden") }),
        xnat(xnat_http()),
        xnat(XnatError::TooLarge { method: s("GET"), url: xnat_url(), limit: 1 << 20 }),
        xnat(XnatError::CutOff { method: s("GET"), url: xnat_url(), source: reqwest_error() }),
        xnat(XnatError::BadBody { method: s("GET"), url: xnat_url(), reason: s("not JSON") }),
    ]);
    let preflight = |e: PreflightError| hinted(e);
    all.extend([
        preflight(PreflightError::Xnat(xnat_http())),
        preflight(PreflightError::NotXnat { url: xnat_url(), source: xnat_http() }),
        preflight(PreflightError::PlainHttp { url: xnat_url(), source: xnat_http() }),
        preflight(PreflightError::NoContainerService),
        preflight(PreflightError::MissingRole { user: s("admin"), role: "ContainerManager", version: s("3.7.1") }),
    ]);

    use crate::xnat::credentials::CredentialError as XnatCredential;
    all.extend([
        hinted(XnatCredential::NotFound { host: s("xnat.example.org"), netrc: s("~/.netrc") }),
        hinted(XnatCredential::UserWithoutPassword),
        hinted(XnatCredential::HalfEnvironment),
        hinted(XnatCredential::Netrc { path: p("/home/u/.netrc"), message: s("line 2: no password") }),
        hinted(XnatCredential::SecretFile { var: s("XNAT_PASS_FILE"), message: s("the secret file `pw` is empty") }),
        hinted(XnatCredential::SiteEnvironmentUnset { site: s("prod"), unset: vec![s("PROD_USER")] }),
        hinted(XnatCredential::HalfSiteVariables { site: s("prod"), given: "user-env", missing: "password-env" }),
    ]);

    // Located mistakes of a fleet file, as the parser words them.
    for text in [
        "images: [{image: a}]\nsites: {}\n",
        "images: [{image: a}]\nsites:\n  prod: {user-env: U}\n",
        "images:\n  - image: a\n    commands: []\n",
        "images:\n  - image: a\n    sites: [prod]\n",
        "images: [{image: docker-daemon:a}]\nverify: {key: k.pub}\n",
        "nope: 1\n",
        "images: [\n",
    ] {
        for e in crate::fleet::parse_all("fleet.yml", text).unwrap_err() {
            all.push(hinted(e));
        }
    }

    let key = || p("cosign.pub");
    all.extend([
        hinted(KeyError::Read { path: key(), source: io() }),
        hinted(KeyError::NotPem { path: key() }),
        hinted(KeyError::WrongLabel { path: key(), label: s("ENCRYPTED SIGSTORE PRIVATE KEY") }),
        hinted(KeyError::Unsupported { path: key(), problem: SpkiError::NotEc }),
        plain(SpkiError::Malformed),
        plain(SpkiError::NotEc),
        plain(SpkiError::NotP256),
        plain(SpkiError::Compressed),
    ]);
    all.extend([
        plain(Rejection::NotSimpleSigning { media_type: Some(s("text/plain")) }),
        plain(Rejection::NoAnnotation),
        plain(Rejection::BadEncoding),
        plain(Rejection::PayloadDigest { expected: digest(1), found: digest(2) }),
        plain(Rejection::NotVerified { keys: 2 }),
        plain(Rejection::BadPayload { problem: s("not JSON") }),
        plain(Rejection::WrongType { found: s("x") }),
        plain(Rejection::OtherRepository { found: s("ghcr.io/lab/other") }),
        plain(Rejection::OtherDigest { found: digest(2).to_string() }),
        hinted(SignatureError::NoSignature { reference: reference(), digest: digest(1), looked: s("the `.sig` tag") }),
        hinted(signature_refused(1)),
        hinted(signature_refused(3)),
    ]);

    let pointer = || s("/inputs/0");
    all.extend([
        plain(NormalizeError::NotAnObject { pointer: pointer(), found: "a list" }),
        plain(NormalizeError::NotAList { pointer: pointer(), found: "an object" }),
        plain(NormalizeError::NotScalar { pointer: pointer(), found: "a list" }),
        plain(NormalizeError::NotBoolean { pointer: pointer(), value: s("yes") }),
        plain(NormalizeError::NotNumber { pointer: pointer(), value: s("x") }),
        plain(NormalizeError::NullElement { pointer: pointer() }),
        plain(NormalizeError::NullMapValue { pointer: pointer() }),
        plain(NormalizeError::MissingName { pointer: pointer(), what: "an input" }),
        plain(NormalizeError::BadSecret { pointer: pointer(), side: "source", found: s("x"), expected: "docker" }),
    ]);

    use JsonErrorKind as K;
    for kind in [
        K::NoContent,
        K::Eof { context: "in a list" },
        K::Unexpected { found: '}', expected: "a value" },
        K::TrailingComma,
        K::SlashComment,
        K::UnquotedName { found: 'a' },
        K::InvalidSpace { found: '\u{a0}' },
        K::ControlCharInString { found: '\u{1}' },
        K::InvalidEscape { found: 'q' },
        K::BadHexEscape { found: 'g' },
        K::LoneSurrogate { code: 0xd800 },
        K::UnrecognizedToken { token: s("nul") },
        K::NonNumeric { token: s("NaN") },
        K::LeadingZero,
        K::InvalidNumber { found: 'x', why: "expected a digit" },
        K::NumberEof { why: "expected a digit" },
        K::NumberOutOfRange { text: s("1e999") },
        K::TooDeep,
        K::NotUtf8,
    ] {
        all.push(plain(kind.clone()));
        all.push(plain(JsonError { line: 1, column: 2, kind }));
    }

    all.extend([
        plain(BodyError::TooLarge { limit: 1 << 20 }),
        plain(BodyError::CutOff { received: 10, source: reqwest_error() }),
        plain(CaError::Unreadable(pem_error())),
        plain(CaError::Empty),
        plain(CaError::Client(reqwest_error())),
    ]);

    let gateway = || s("http://pushgateway:9091/metrics/job/xnat-cmd");
    all.extend([
        hinted(PushError::BadUrl { url: s("http://pg:9091/metrics/job/x"), reason: s("the scheme must be http or https") }),
        hinted(PushError::NoCa { path: s("ca.pem"), source: None }),
        hinted(PushError::Client(reqwest_error())),
        hinted(PushError::Untrusted { url: gateway(), source: reqwest_error() }),
        hinted(PushError::Unreachable { url: gateway(), source: reqwest_error() }),
        hinted(PushError::Http { url: gateway(), status: 401, body: s("Unauthorized") }),
    ]);

    all.extend([
        plain(SecretFileError::Read { path: s("pw"), source: io() }),
        plain(SecretFileError::Empty { path: s("pw") }),
        plain(SecretFileError::TooLarge { path: s("pw") }),
        plain(SecretFileError::NotText { path: s("pw") }),
    ]);

    all.extend([
        hinted(LabelError::Missing),
        hinted(LabelError::Empty),
        hinted(LabelError::TooLarge { bytes: 1 << 21, limit: 1 << 20 }),
        hinted(LabelError::InvalidJson { line: 1, column: 2, reason: s("expected `,`"), snippet: s("[{") }),
        hinted(LabelError::LostBackslash { line: 1, column: 2, reason: s("invalid escape"), snippet: s("\\d") }),
        hinted(LabelError::NotAList { found: "a string" }),
        hinted(LabelError::NotAnObject { index: 1, found: "a string" }),
        plain(CommandFileError::InvalidJson { line: 1, column: 2, reason: s("expected `,`"), snippet: s("[{") }),
        plain(CommandFileError::NotCommands { found: "a string" }),
        plain(CommandFileError::NotAnObject { index: 1, found: "a string" }),
        plain(CommandFileError::Empty),
    ]);

    all.extend([
        hinted(UnknownProjects { missing: vec![(s("p1"), vec![s("P1")]), (s("x"), vec![])] }),
        plain(PlatformError { value: s("linux") }),
    ]);
    all
}

/// The command-line flags a text names: `--word` or a short `-v`/`-vv`, starting a word
/// (`end-of-input`, `A-Z`, `-----BEGIN` are not flags).
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "()[]{}`'\",;/=".contains(c))
        .filter_map(|word| {
            let word = word.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            let long = word
                .strip_prefix("--")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()));
            let short = word.strip_prefix('-').is_some_and(|rest| {
                (1..=2).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphabetic())
            });
            (long || short).then(|| word.to_string())
        })
        .collect()
}

#[test]
fn the_flag_finder_finds_flags_only() {
    assert_eq!(
        flags("use --registry-user, or -v"),
        ["--registry-user", "-v"]
    );
    assert_eq!(
        flags("(--user/--password-file) `-vv`"),
        ["--user", "--password-file", "-vv"]
    );
    for text in [
        "Unexpected end-of-input",
        "up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -",
        "no PEM certificate (-----BEGIN CERTIFICATE-----)",
        "`docker-credential-pass` failed; `cosign generate-key-pair`",
        "a value of -1",
    ] {
        assert_eq!(flags(text), Vec::<String>::new(), "{text}");
    }
}

/// The library's messages are facts: which flag fixes them is the front end's business, and
/// is said in the hint (the CLI prints it as `hint: …` under the error).
#[test]
fn no_error_message_names_a_flag() {
    let offending: Vec<String> = every_error()
        .iter()
        .filter(|e| !flags(&e.text).is_empty())
        .map(|e| format!("{}: {}", e.ty, e.text))
        .collect();
    assert!(
        offending.is_empty(),
        "messages naming a flag (move the advice into the type's Hint):\n{}",
        offending.join("\n")
    );
}

/// The advice that was in these messages is in their hints.
#[test]
fn advice_moved_out_of_a_message_is_in_its_hint() {
    let hint_of = |ty: &str, text: &str| {
        let all = every_error();
        let e = all
            .into_iter()
            .find(|e| e.ty.ends_with(ty) && e.text.contains(text))
            .unwrap_or_else(|| panic!("no {ty} saying {text:?}"));
        e.hint.unwrap_or_default()
    };
    let cases = [
        (
            "RegistryError",
            "needs credentials and none were found (authentication required)",
            "use --registry-user, --registry-auth-file, docker login or podman login",
        ),
        (
            "XnatError",
            "credentials in the URL would leak into logs",
            "use XNAT_USER/XNAT_PASS, --password-stdin or ~/.netrc",
        ),
        (
            "FleetError",
            "`sites` is empty: define at least one site, or drop the key",
            "without `sites`, the one site is --xnat / XNAT_HOST",
        ),
        (
            "SignatureError",
            "(3 signatures tried, none accepted)",
            "-v lists each signature tried and why it was rejected",
        ),
        (
            "RegistryError",
            "(2 signatures tried, none accepted)",
            "-v lists each signature tried and why it was rejected",
        ),
    ];
    for (ty, text, advice) in cases {
        let hint = hint_of(ty, text);
        assert!(hint.contains(advice), "{ty} {text:?}: hint {hint:?}");
    }

    // A plan conflict between installed commands is not an error type, but follows the rule.
    let conflict = crate::plan::Action::Conflict {
        ids: vec![3, 4],
        reason: s("2 installed commands named `a` use r/a:1"),
    };
    assert_eq!(
        conflict.hint().as_deref(),
        Some("remove the extra ones (xnat-cmd uninstall --id N) and run again")
    );
    let twin = crate::plan::Action::Conflict {
        ids: vec![],
        reason: s("command `a` appears twice for repository r/a"),
    };
    assert_eq!(twin.hint(), None);
}

/// The public error types defined in `src/` (the binary excluded), as `type_name` spells
/// them: every `pub enum`/`pub struct` deriving `thiserror::Error` outside test code.
fn declared_error_types() -> Vec<String> {
    let root = crate::source_files::root();
    let files = crate::source_files::rust_files(&["bin", "tests"]);
    let mut types = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with("tests.rs") {
            continue;
        }
        // src/a/b.rs is `a::b`, src/a/mod.rs is `a`, src/lib.rs the crate root.
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut module: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().to_string())
            .collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        // After a derive naming `Error`, the next item declared (attributes, doc comments
        // and `#[error(...)]` lines between): recorded when it is `pub`.
        let mut deriving = false;
        for line in code.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("Error") {
                deriving = true;
            } else if deriving {
                let decl = line
                    .strip_prefix("pub enum ")
                    .or_else(|| line.strip_prefix("pub struct "));
                if ["pub(", "enum ", "struct "]
                    .iter()
                    .any(|k| line.starts_with(k))
                {
                    deriving = false;
                } else if let Some(decl) = decl {
                    let ty: String = decl
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let path: Vec<&str> = std::iter::once("xnat_cmd")
                        .chain(module.iter().map(String::as_str))
                        .chain(std::iter::once(ty.as_str()))
                        .collect();
                    types.push(path.join("::"));
                    deriving = false;
                }
            }
        }
    }
    types.sort();
    types
}

/// A new error type fails this until [`every_error`] builds it (and so checks its message).
#[test]
fn every_public_error_type_is_checked() {
    let declared = declared_error_types();
    assert!(declared.len() > 20, "the scan found {declared:?}");
    let built: std::collections::BTreeSet<&str> = every_error().iter().map(|e| e.ty).collect();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|t| !built.contains(t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "error types not built in every_error(): {missing:?}"
    );
}
