//! Every cap on bytes read and every deadline on a network call or a subprocess, in one place,
//! each with the reason for its number. The code that enforces a limit imports it from here;
//! docs/fleet-and-operations.md "Reliability and security" lists the same numbers and what the user
//! sees when one is hit. Also the capped file read every local file goes through, so a file
//! that is not what it claims (a log, `/dev/zero`, a FIFO) costs at most its cap in memory.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

// ---- body caps ----------------------------------------------------------------------------

/// Default cap on one JSON document of an image (manifest, index, config — the label lives in
/// the config), from any source; `--max-json-bytes` changes it. Real configs are a few KB and
/// the largest label seen in the corpus is under 1 MB; 16 MiB leaves room for odd images and
/// still bounds memory when a registry or archive sends something else.
pub const DEFAULT_MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Cap on a registry token-server response: a token is a few KB (a JWT with its claims);
/// 1 MiB is generous and bounds a misconfigured realm that serves a web page or a stream.
pub const MAX_TOKEN_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Cap on a registry error body read to explain a failure (the `{"errors":[...]}` envelope or
/// a proxy's page); only its first line is shown, so 64 KiB is plenty.
pub const MAX_REGISTRY_ERROR_BYTES: u64 = 64 * 1024;

/// Cap on one XNAT response. The largest is `GET /xapi/commands` on a busy site: a few hundred
/// commands of 5–50 KB each, so a few MB; 10 MiB leaves a margin and still stops a misrouted
/// URL that streams (a proxy, a file download) from filling memory. The list is held as JSON
/// objects that keep their key order, ~16× its text (a 33 MB list took 550 MB, a 16 MiB one
/// 273 MB in a release build), so the cap was lowered from 32 MiB to stay under 200 MB
/// (issue 19).
pub const MAX_XNAT_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// Cap on a docker credential helper's stdout and on its stderr: its answer is one small JSON
/// object (`{"Username":…,"Secret":…}`).
pub const MAX_HELPER_OUTPUT_BYTES: u64 = 64 * 1024;

/// Cap on the daemon's `/version` answer (and a version refusal): a few hundred bytes; anything
/// near this is not the Engine API.
pub const MAX_DAEMON_VERSION_BYTES: u64 = 64 * 1024;

/// Cap on one line of the daemon's pull progress stream and on a daemon error body; progress
/// lines are ~200 bytes.
pub const MAX_DAEMON_LINE_BYTES: u64 = 1024 * 1024;

/// Cap on a secret file (`--password-file`, `--registry-password-file`): passwords and tokens
/// are short; a mounted file this large is the wrong file.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Cap on a cosign public key file (`--verify-key`, `verify:` in a fleet file): a PEM P-256
/// key is 178 bytes; 64 KiB bounds `/dev/zero`-like mistakes and allows a bundle of a few.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Cap on a command JSON file (`validate`, `label`, `install FILE`): it becomes a label, so the
/// label cap is its natural bound.
pub const MAX_COMMAND_FILE_BYTES: u64 = MAX_LABEL_BYTES;

/// Cap on the `org.nrg.commands` label (inside the config, which may be larger). The largest
/// real command is 13 KB (corpus), so 4 MiB is ~300 of the largest. Commands cost ~17× their
/// text in memory (JSON objects keeping key order), and `install` holds them twice (read and
/// planned): a 16 MiB label took 620 MB, a 4 MiB one stays under 200 MB (issue 19).
pub const MAX_LABEL_BYTES: u64 = 4 * 1024 * 1024;

/// Cap on a fleet file (`sync`, `status`): a few KB per site and image; 1 MiB is thousands of
/// images. Its tree of located nodes costs ~50× the text (a 4 MiB file of 226,000 one-line
/// entries took 213 MB to parse), so the cap was lowered from 4 MiB (issue 19).
pub const MAX_FLEET_FILE_BYTES: u64 = 1024 * 1024;

/// Entries in a fleet file's `images:`: each is read concurrently (a registry read in flight
/// costs ~14 KB; 226,000 of them took 3 GB), and a fleet of thousands of images is already
/// far beyond any site's.
pub const MAX_FLEET_IMAGES: usize = 4096;

/// Cap on a credentials file (docker `config.json`, podman `auth.json`, a Kubernetes pull
/// secret, `~/.netrc`) and a PEM CA bundle (`--ca-cert`): the system's whole CA bundle is
/// ~200 KB; 4 MiB bounds a wrong path without refusing any real file.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Cap on one tar extension header (GNU long name or long link, pax header) in an archive: the
/// `tar` crate reads these whole, and a header may claim any size (1 GiB in a 1 MB `.tar.gz`).
/// Archive entry names are under 200 bytes (`blobs/sha256/<64 hex>`), pax records a few
/// hundred; 64 KiB is far beyond both.
pub const MAX_TAR_EXTENSION_BYTES: u64 = 64 * 1024;

/// The JSON documents of one compressed archive together may use this many times the JSON cap:
/// a gzipped archive is read in one pass, so its small files are kept as they stream by; an
/// image has a handful of them, and a hostile archive of many small files stops here.
pub const ARCHIVE_JSON_BUDGET_FACTOR: u64 = 4;

/// Characters of outside text (an error body, a helper's output, an echoed input value) a
/// message quotes (`crate::summary`); longer text ends in `… (N bytes)`. 200 is two lines of
/// a terminal: enough for any real server message, and a 1 MB page or a 15 MB name stays one
/// short line.
pub const MAX_SUMMARY_CHARS: usize = 200;

/// Characters of one message line (an error, a cause, a hint) as printed: messages quote paths
/// and values, so they may be longer than a summary, but an input echoed whole (a 15 MB name)
/// stops here with `… (N bytes)`.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Characters of one line of a human-readable report (`validate`, `install`, `list`, …): rows
/// with many wrappers run to a few hundred; a name or image from a label echoed whole stops
/// here with `… (N bytes)`.
pub const MAX_OUTPUT_LINE_CHARS: usize = 4096;

/// The most of a Pushgateway error body kept for the message (the gateway's are one line).
pub const MAX_PUSHGATEWAY_ERROR_BYTES: u64 = 1024;

/// Most scopes asked for in one registry token request: the token (a JWT listing every grant)
/// travels in each request's `Authorization` header, which servers cap at 8–16 KiB; 16
/// repositories keep it near 2 KiB.
pub const MAX_BATCH_SCOPES: usize = 16;

/// Redirects followed for one registry request: a blob redirect to a CDN is one, a CDN's own
/// hop a second; more is a loop.
pub const MAX_REDIRECTS: usize = 5;

/// Deepest nesting of lists and objects in command JSON (labels, command files, the emulator's
/// bodies; `lenient_json`). Real commands nest about 5 deep; 512 is far beyond any of them and
/// still shallow enough for a 2 MiB thread stack in a debug build. (Jackson 2.13, XNAT's
/// reader, has no limit.)
pub const MAX_JSON_DEPTH: usize = 512;

/// Cosign signature manifests of one image (referrers) and layers of one signature manifest,
/// at most: each costs a request, and more is not a signed image but an attack on the reader.
/// Cosign adds one layer per `cosign sign`.
pub const MAX_SIGNATURE_MANIFESTS: usize = 16;
pub const MAX_SIGNATURE_LAYERS: usize = 64;

/// Cap on one cosign signature payload (a layer blob of a `.sig` manifest): a simple-signing
/// payload is a few hundred bytes of JSON; 1 MiB is far beyond any, and bounds a layer that
/// names an image layer instead.
pub const MAX_SIGNATURE_PAYLOAD_BYTES: u64 = 1024 * 1024;

/// Cap on the distinct signature payloads of one image together (each blob fetched and held
/// once, however many layers name it): 16 manifests × 64 layers of a few hundred bytes is
/// under 1 MiB; 8 MiB bounds 1,024 layers naming large blobs (it was 1 GiB).
pub const MAX_SIGNATURE_PAYLOADS_BYTES: u64 = 8 * 1024 * 1024;

/// Image indexes nested in an OCI layout: real ones nest once (an index of manifests), rarely
/// twice; deeper is a loop or a crafted archive.
pub const MAX_INDEX_DEPTH: usize = 4;

/// Distinct manifests one `--all-platforms` read follows through its indexes (registry or
/// layout; each digest once however often it is named): a multi-arch image has a dozen
/// platforms plus as many attestations; 256 is far beyond that and bounds an index naming
/// thousands, or indexes nested `MAX_INDEX_DEPTH` deep × 40.
pub const MAX_INDEX_MANIFESTS: usize = 256;

// ---- bounds on parsed structure (issue 19) -------------------------------------------------

/// Deepest nesting of lists and mappings in a fleet file. A real one nests 5 deep (top →
/// `images` → an image → `enable` → `projects`); the tree builder recurses once per level, so a
/// 40 KB `- - - … x` 20,000 deep overflowed the stack before this bound.
pub const MAX_FLEET_DEPTH: usize = 64;

/// Bytes that YAML anchors and aliases in a fleet file may copy in all (each node counts its
/// text plus 64 bytes). An alias is expanded by copying its anchored subtree, so 9 levels of
/// 9 aliases (472 bytes) or a 1 MiB scalar aliased 3,000 times reached gigabytes; with this
/// budget a file of anchors holds no more than the largest file written out would. Anchors are
/// kept (they share an `enable:` block between images) rather than refused.
pub const MAX_FLEET_ALIAS_WEIGHT: usize = MAX_FLEET_FILE_BYTES as usize;

/// Longest `prune:` glob in a fleet file. A glob names repositories, which docker caps at 255
/// characters; matching costs glob length × repository length, so a longer glob is refused.
pub const MAX_PRUNE_GLOB_BYTES: usize = 1024;

// ---- concurrency ---------------------------------------------------------------------------

/// Default requests in flight at once to one registry (`--registry-concurrency`; 0 counts as
/// 1). A registry across the internet answers in tens of milliseconds, and with 8 a 40-image
/// run spent most of its time queued (`scripts/bench-sync.sh` with its 30 ms proxy: 428 ms at
/// 8, 205 ms at 32; loopback runs unchanged).
pub const DEFAULT_REGISTRY_CONCURRENCY: usize = 32;

/// Default commands applied at once on one XNAT site (`--xnat-concurrency`, `install` and
/// `sync`; 0 counts as 1, and 1 applies them one after another). Each command's own requests
/// stay in order (create or update, enable site-wide, enable in projects, read back: about 8
/// for a new command enabled in one project); the commands are independent. XNAT (Tomcat)
/// serves requests at once, and one that answers in 50–300 ms leaves a one-at-a-time client
/// waiting for the sum. Measured with `scripts/bench-sync.sh` (40 new commands, site and one
/// project, 30 ms added to every XNAT request; 2 busy cores, 2026-12-05): 10.6 s at 1, 1.85 s
/// at 8, 1.16–1.34 s at 16, 1.06 s at 32 (1.06–1.13 s at 16 on a quiet machine once the
/// harness set TCP_NODELAY). 16 meets the goal of 1.5 s with room, at half the load on XNAT of
/// 32 for a quarter less time.
pub const DEFAULT_XNAT_CONCURRENCY: usize = 16;

/// Sites a fleet run (`sync`, `status`) works on at once (sites on one host and port still go
/// one after the other). Sites are separate servers, so they overlap freely; the bound keeps a
/// fleet of many sites from opening all its sessions and connections (up to
/// [`DEFAULT_XNAT_CONCURRENCY`] per site) at the same moment. Measured as above: 5 sites cold
/// took 2.50 s with 4 at once (two rounds) and 1.29–1.65 s with 8, against 1.16–1.22 s for one
/// site.
pub const SITES_IN_FLIGHT: usize = 8;

// ---- deadlines ----------------------------------------------------------------------------

/// TCP (+TLS) connect to a registry, XNAT or a daemon over TCP: a reachable host on any network
/// answers within a few seconds; waiting longer only delays the message.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default deadline for reading one image from a registry, every request, retry and wait
/// included; `--registry-timeout` changes it. Reads are a few small documents, so minutes
/// mean the registry is stuck.
pub const DEFAULT_REGISTRY_IMAGE_DEADLINE: Duration = Duration::from_secs(120);

/// Retries of one request (registry or XNAT; so up to 4 tries in all) after a connection
/// error, a cut-off body, a 5xx or a 429, as [`crate::http::Policy`] decides; the waits are
/// 0.4, 0.8 and 1.6 s ([`DEFAULT_BACKOFF_BASE`] doubled each try). An XNAT create is never
/// retried blind: it is looked up first.
pub const MAX_RETRIES: u32 = 3;

/// Longest `Retry-After` honoured on a 429; a longer one is reported, not waited out.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The base of the waits before retries: retry n waits base × 2^n (n capped at 5), so 400 ms,
/// 800 ms and 1.6 s: long enough for a proxy or a restarting pod to come back, short enough
/// that the 3 retries cost under 3 s. The
/// seeded fault runs set 1 ms through `XNAT_CMD_BACKOFF_MS` (resolved in the CLI's settings)
/// to make hundreds of runs quickly; users have no reason to change it.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);

/// A registry token's lifetime when its answer gives none, and the shortest one honoured (the
/// token spec's 60 seconds); tokens are refreshed 5 seconds early.
pub const DEFAULT_TOKEN_SECONDS: u64 = 60;

/// Longest a registry token is kept when its answer's `expires_in` is past what the clock can
/// hold (`18446744073709551615`): a run is minutes, and the token is refetched on a 401 anyway.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Deadline for one XNAT request, body included: the slowest real call (a command list on a
/// loaded site) takes seconds.
pub const XNAT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Deadline for one Pushgateway push (`status --pushgateway`): a push is one small request; a
/// gateway that has not answered in this time is not going to.
pub const PUSHGATEWAY_TIMEOUT: Duration = Duration::from_secs(30);

/// Deadline for a docker credential helper: the common helpers answer in milliseconds, a
/// desktop keychain asking the user in seconds; one still running after this is stuck
/// (waiting on a prompt nobody sees, a hung network call) and is stopped.
pub const HELPER_DEADLINE: Duration = Duration::from_secs(30);

/// Deadline for one daemon request other than a pull (`/_ping`, `/version`, image inspect),
/// answer and body included: these are local lookups that take milliseconds.
pub const DAEMON_REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// Longest silence in a daemon pull's progress stream: a pull of a large layer reports
/// progress every second or so; five minutes without a line is a stuck pull.
pub const DAEMON_PULL_IDLE: Duration = Duration::from_secs(300);

// ---- the capped file read -----------------------------------------------------------------

/// Open `path` for reading, refusing anything but a regular file (a FIFO, a device, a socket,
/// a directory) with `InvalidInput` naming what it is. Opened with `O_NONBLOCK` and checked
/// with `fstat` on the open descriptor, so opening a FIFO nobody writes to returns at once
/// instead of blocking forever, and the file checked is the file read (no race with a rename).
/// `O_NONBLOCK` changes nothing for reads of a regular file. Every local file the library
/// reads is opened here (a test greps for other opens); stdin (`-`) is read by the caller.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; give the path of a file"),
    ))
}

/// The whole file, refusing it (`InvalidData`, naming the cap) once it passes `cap` bytes; never
/// reads more than `cap + 1`, and refuses what is not a regular file ([`open_regular`]). Its
/// error reads like `std::fs::read`'s, so callers keep their messages (`failed to read fleet
/// file `x`: …`).
pub fn read_file(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    read_capped(open_regular(path)?, cap)
}

/// Everything `reader` gives, refusing it (`InvalidData`, naming the cap) once it passes `cap`
/// bytes; never reads more than `cap + 1`. For stdin and files opened with [`open_regular`].
pub fn read_capped(reader: impl std::io::Read, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is larger than the {cap}-byte limit for it"),
        ));
    }
    Ok(buf)
}

/// [`read_file`] as UTF-8 text (`InvalidData` otherwise, as `std::fs::read_to_string`), without
/// a leading byte order mark ([`strip_bom`]).
pub fn read_text(path: &Path, cap: u64) -> std::io::Result<String> {
    let mut text = String::from_utf8(read_file(path, cap)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        )
    })?;
    let bom = text.len() - strip_bom(&text).len();
    text.drain(..bom);
    Ok(text)
}

/// The UTF-8 byte order mark (U+FEFF) that Windows tools (PowerShell 5.1, Notepad) put at the
/// start of a file.
pub const BOM: char = '\u{feff}';

/// `text` without a leading byte order mark: the one rule for every text input — fleet files,
/// command files, credentials files, netrc (all read through [`read_text`]), and text parsed
/// from elsewhere. A fleet file with one was refused as "unknown key `images` … did you mean
/// `images`?".
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_reads_stop_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        let cases: [(u64, Option<&str>); 3] = [(5, Some("12345")), (10, Some("12345")), (4, None)];
        for (cap, want) in cases {
            match (read_text(&p, cap), want) {
                (Ok(t), Some(w)) => assert_eq!(t, w, "cap {cap}"),
                (Err(e), None) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
                    assert!(e.to_string().contains(&format!("{cap}-byte")), "{e}");
                }
                (got, want) => panic!("cap {cap}: got {got:?}, want {want:?}"),
            }
        }
        // An endless stream is refused after cap + 1 bytes, not read to the end.
        let e = read_capped(std::io::repeat(0), 1024).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(read_text(&p, 10).unwrap_err().to_string().contains("UTF-8"));
    }

    #[test]
    fn fifos_devices_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        // No writer: a plain open() would block here forever.
        let cases = [
            (
                fifo.as_path(),
                "it is a FIFO (named pipe), not a regular file; give the path of a file",
            ),
            (
                Path::new("/dev/zero"),
                "it is a device, not a regular file; give the path of a file",
            ),
            (
                dir.path(),
                "it is a directory, not a regular file; give the path of a file",
            ),
        ];
        for (p, want) in cases {
            let e = read_file(p, 1024).unwrap_err();
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::InvalidInput,
                "{}",
                p.display()
            );
            assert_eq!(e.to_string(), want);
            assert_eq!(read_text(p, 1024).unwrap_err().to_string(), want);
        }
        assert_eq!(
            read_file(&dir.path().join("missing"), 1)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
    }

    /// Every local file goes through [`open_regular`]: no other open or whole-file read in the
    /// library or the binary outside test code (a FIFO would block it, `/dev/zero` fill memory).
    #[test]
    fn no_file_is_opened_around_the_capped_reader() {
        let files = crate::source_files::rust_files(&[]);
        let banned = [
            "File::open(",
            "fs::read(",
            "read_to_string(",
            "OpenOptions::new()",
        ];
        let mut found = Vec::new();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if name == "limits.rs" || name.ends_with("tests.rs") || name == "atomic.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (i, line) in code.lines().enumerate() {
                if banned.iter().any(|b| line.contains(b)) && !line.trim_start().starts_with("//") {
                    found.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "open files with limits::open_regular / read_file:\n{}",
            found.join("\n")
        );
    }

    /// A fleet file saved by PowerShell 5.1 starts with a BOM; every text read drops it (and
    /// only a leading one).
    #[test]
    fn text_reads_drop_a_leading_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        for (bytes, want) in [
            (&b"\xEF\xBB\xBFimages: []"[..], "images: []"),
            (b"images: []", "images: []"),
            (b"a\xEF\xBB\xBF", "a\u{feff}"),
            (b"\xEF\xBB\xBF", ""),
        ] {
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_text(&p, 64).unwrap(), want);
        }
        assert_eq!(strip_bom("\u{feff}\u{feff}x"), "\u{feff}x");
    }
}
