//! The bad-input catalogue: one table of bad inputs — CLI arguments, command files, labels,
//! archives, fleet files, registry answers, XNAT answers — each with the exit code and the
//! fragment of the message a user sees. Every row must end in exit 1 or 2 with one `error:`
//! line naming the problem, no panic, no secret in the output, and nothing written to XNAT
//! (checked on the emulator's own counters and state). Registry rows use the real CNCF
//! registry where it can show the fault, and `server` for answers it cannot give.

mod server;

use std::path::Path;

use serde_json::{json, Value};

use crate::support::emulator::Emulator;
use crate::support::images::{write_docker_archive, BuiltImage, Compress, ImageBuilder, Saved};
use crate::support::registry::{Mode, Registry};
use crate::support::Sandbox;
use server::QuirkServer;

/// The XNAT password of every row: it must never appear in any output.
const PASSWORD: &str = "cat-alogue-s3cret";

/// One bad input and what the user must see.
struct Row {
    name: String,
    args: Vec<String>,
    /// Point the run at this XNAT (with `admin` / [`PASSWORD`] in the environment).
    xnat: Option<String>,
    /// What stdin holds (none: it is empty).
    stdin: Option<Vec<u8>>,
    /// Extra environment.
    env: Vec<(String, String)>,
    code: i32,
    says: String,
}

fn row(name: &str, args: &[&str], code: i32, says: &str) -> Row {
    Row {
        name: name.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        xnat: None,
        stdin: None,
        env: Vec::new(),
        code,
        says: says.to_string(),
    }
}

impl Row {
    fn at(mut self, xnat: impl Into<String>) -> Row {
        self.xnat = Some(xnat.into());
        self
    }

    fn env(mut self, key: &str, value: &str) -> Row {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn stdin(mut self, bytes: Vec<u8>) -> Row {
        self.stdin = Some(bytes);
        self
    }
}

/// A valid command with one wrapper, as most rows start from.
fn good_commands() -> Value {
    json!([{"name": "cat-tool", "version": "1", "type": "docker", "command-line": "run",
            "xnat": [{"name": "cat-tool-session", "contexts": ["xnat:imageSessionData"],
                      "external-inputs": [{"name": "session", "type": "Session"}]}]}])
}

fn image_with_label(label: &str) -> BuiltImage {
    ImageBuilder::new().label("org.nrg.commands", label).build()
}

/// A `docker save` archive of `image` as `reference`; its SOURCE text.
fn archive(dir: &Path, file: &str, reference: &str, image: &BuiltImage) -> String {
    let p = dir.join(file);
    write_docker_archive(&p, &[Saved::new(image, &[reference])], Compress::None)
        .expect("write archive");
    format!("docker-archive:{}", p.display())
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write file");
    p.display().to_string()
}

/// A sparse file of `len` zero bytes (no disk used): a regular file past a cap.
fn sparse(dir: &Path, name: &str, len: u64) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
    p.display().to_string()
}

fn push(reg: &Registry, repo: &str, image: &BuiltImage) {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(reg.push_image_to(repo, "1", image));
}

// The row tables are kept one row a line: they are read as tables, not as code.

#[rustfmt::skip]
fn cli_rows(d: &Path, emu: &str, archive_src: &str) -> Vec<Row> {
    let empty = file(d, "empty-secret", b"");
    let big = file(d, "big-secret", &vec![b'x'; 70 * 1024]);
    let not_pem = file(d, "not-a-ca.pem", b"hello, not a certificate\n");
    let pw = file(d, "pw", b"pw\n");
    let dir = d.to_str().unwrap_or("/");
    vec![
        row("no subcommand", &[], 2, "Usage:"),
        row("unknown subcommand", &["instal"], 2, "unrecognized subcommand 'instal'"),
        row("unknown flag", &["inspect", "--jsn", "x"], 2, "unexpected argument '--jsn'"),
        row("inspect without a source", &["inspect"], 2, "required arguments were not provided"),
        row("uppercase repository", &["inspect", "Lab/Tool:1"], 2, "repository name `Tool` must be lowercase"),
        row("reference with a space", &["inspect", "lab/tool:a b"], 2, "bad tag `a b`"),
        row("digest too short", &["inspect", "lab/tool@sha256:abc"], 2, "bad digest `sha256:abc`"),
        row("tag too long", &["inspect", &format!("lab/tool:{}", "t".repeat(129))], 2, "up to 128"),
        row("empty docker-archive path", &["inspect", "docker-archive:"], 2, "docker-archive"),
        row("unknown transport", &["inspect", "ftp://lab/tool:1"], 2, "unknown transport `ftp`"),
        row("bad platform", &["inspect", "--platform", "linux/", "lab/tool:1"], 2, "platform"),
        row("platform with four parts", &["inspect", "--platform", "linux/arm/v7/x", "lab/tool:1"], 2, "platform"),
        row("platform and all-platforms", &["inspect", "--platform", "linux/amd64", "--all-platforms", "lab/tool:1"], 2, "cannot be used with"),
        row("max-json-bytes not a number", &["inspect", "--max-json-bytes", "lots", "lab/tool:1"], 2, "invalid value 'lots'"),
        row("registry-timeout negative", &["inspect", "--registry-timeout", "-1", "lab/tool:1"], 2, "unexpected argument '-1'"),
        row("registry user without a password", &["inspect", "--registry-user", "bob", "lab/tool:1"], 2, "--registry-user needs --registry-password-stdin or --registry-password-file"),
        row("password file missing", &["inspect", "--registry-user", "bob", "--registry-password-file", "/nonexistent/pw", "lab/tool:1"], 2, "--registry-password-file: failed to read the secret file `/nonexistent/pw`"),
        row("password file empty", &["inspect", "--registry-user", "bob", "--registry-password-file", &empty, "lab/tool:1"], 2, "is empty"),
        row("password file too large", &["inspect", "--registry-user", "bob", "--registry-password-file", &big, "lab/tool:1"], 2, "larger than 65536 bytes"),
        row("password file is /dev/zero", &["inspect", "--registry-user", "bob", "--registry-password-file", "/dev/zero", "lab/tool:1"], 2, "it is a device, not a regular file"),
        row("password file is a directory", &["inspect", "--registry-user", "bob", "--registry-password-file", dir, "lab/tool:1"], 2, "failed to read the secret file"),
        row("password stdin a 200 KB line", &["inspect", "--registry-user", "bob", "--registry-password-stdin", "lab/tool:1"], 2, "--registry-password-stdin: the first line of stdin is longer than 65536 bytes").stdin(vec![b'x'; 200 * 1024]),
        row("password stdin empty", &["inspect", "--registry-user", "bob", "--registry-password-stdin", "lab/tool:1"], 2, "stdin gave an empty password"),
        row("XNAT password stdin a 200 KB line", &["list", "--user", "admin", "--password-stdin"], 2, "--password-stdin: the first line of stdin is longer than 65536 bytes").stdin(vec![b'x'; 200 * 1024]).at(emu),
        row("password stdin and file", &["inspect", "--registry-user", "bob", "--registry-password-stdin", "--registry-password-file", &pw, "lab/tool:1"], 2, "cannot be used with"),
        row("install without XNAT", &["install", archive_src], 2, "no XNAT URL"),
        row("XNAT URL with ftp scheme", &["list", "--xnat", "ftp://xnat.example.org"], 2, "the scheme must be http or https"),
        row("XNAT URL with credentials", &["list", "--xnat", "https://admin:hunter2-in-url@xnat.example.org"], 2, "credentials in the URL"),
        row("XNAT URL with credentials: the flag is in the hint", &["list", "--xnat", "https://admin:hunter2-in-url@xnat.example.org"], 2, "leak into logs\nhint: use XNAT_USER/XNAT_PASS, --password-stdin or ~/.netrc\n"),
        row("XNAT URL unparsable", &["list", "--xnat", "http://[::1"], 2, "invalid XNAT URL"),
        row("XNAT CA file not PEM", &["list", "--ca-cert", &not_pem], 2, "PEM").at(emu),
        row("XNAT CA file is /dev/zero", &["list", "--ca-cert", "/dev/zero"], 2, "it is a device, not a regular file").at(emu),
        row("XNAT password file missing", &["list", "--password-file", "/nonexistent/xnat-pw"], 2, "/nonexistent/xnat-pw").at(emu),
        row("uninstall without a target", &["uninstall"], 2, "required"),
        row("uninstall id not a number", &["uninstall", "--id", "seven"], 2, "invalid value 'seven'").at(emu),
        row("uninstall of an unknown id", &["uninstall", "--id", "99999"], 1, "99999").at(emu),
        row("label without files", &["label"], 2, "required arguments"),
        row("install of a command file", &["install", &file(d, "ok.json", good_commands().to_string().as_bytes())], 2, "is a file, not an image reference").at(emu),
        row("sync of a missing fleet file", &["sync", "/nonexistent/fleet.yaml"], 2, "failed to read fleet file `/nonexistent/fleet.yaml`").at(emu),
        row("status with all-platforms", &["status", "--all-platforms", "lab/tool:1"], 2, "--platform instead of --all-platforms").at(emu),
    ]
}

#[rustfmt::skip]
fn command_file_rows(d: &Path) -> Vec<Row> {
    let mut deep = "[".repeat(5000);
    deep.push_str(&"]".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"name: tool\n".to_vec(), "not valid JSON at line 1, column 1: Unrecognized token 'name'"),
        ("empty file", b"".to_vec(), "No content to map due to end-of-input"),
        ("a number", b"42".to_vec(), "found a number"),
        ("null", b"null".to_vec(), "found null"),
        ("an empty list", b"[]".to_vec(), "the list holds no command"),
        ("invalid UTF-8", b"[{\"name\":\"caf\xe9\"}]".to_vec(), "UTF-8"),
        ("trailing comma", b"{\"name\":\"a\",}".to_vec(), "trailing comma"),
        ("nested 5000 deep", deep.into_bytes(), "nesting deeper than 512"),
        ("command without a name", br#"{"command-line":"run","type":"docker"}"#.to_vec(), "name"),
        ("unknown command type", br#"{"name":"a","type":"kubernetes","command-line":"run"}"#.to_vec(), "kubernetes"),
        ("wrapper input for a missing command input", br#"{"name":"a","command-line":"run #X#","xnat":[{"name":"w","contexts":["xnat:projectData"],"external-inputs":[{"name":"p","type":"Project","provides-value-for-command-input":"nope"}]}]}"#.to_vec(), "nope"),
        ("a list holding a string", br#"["tool"]"#.to_vec(), "element 0 of the list is a string"),
        ("name is a number", br#"{"name":7,"command-line":"run"}"#.to_vec(), "name"),
        ("two commands of one name", br#"[{"name":"a","version":"1","image":"lab/t:1","command-line":"run"},{"name":"a","version":"2","image":"lab/t:1","command-line":"run"}]"#.to_vec(), "command `a` is also command 0 of this list (version `1`, here `2`)"),
    ];
    let mut rows = Vec::new();
    for (i, (what, bytes, says)) in cases.into_iter().enumerate() {
        let f = file(d, &format!("cmd-{i}.json"), &bytes);
        rows.push(row(&format!("command file: {what}"), &["validate", &f], 1, says));
        if i < 6 {
            rows.push(row(&format!("label of a command file: {what}"), &["label", &f], 1, says));
        }
    }
    // The same command name in two files of one label (each file valid alone).
    let one = file(d, "twin-1.json", br#"{"name":"t","version":"1","image":"lab/t:1","command-line":"run"}"#);
    let two = file(d, "twin-2.json", br#"{"name":"t","version":"1","image":"lab/u:1","command-line":"run"}"#);
    rows.push(row("label of two files with one command name", &["label", &one, &two], 1, "twin-2.json: command `t` version `1` is also command 0 of this list"));
    rows.push(row("command file missing", &["validate", "/nonexistent/cmd.json"], 1, "/nonexistent/cmd.json"));
    rows.push(row("command file past its cap", &["label", &sparse(d, "huge.json", 4 * 1024 * 1024 + 1)], 1, "4194304-byte limit"));
    rows.push(row("command file is /dev/zero", &["label", "/dev/zero"], 1, "it is a device, not a regular file"));
    rows.push(row("command file is a directory", &["label", d.to_str().unwrap_or("/")], 1, "failed to read"));
    rows
}

#[rustfmt::skip]
fn label_rows(d: &Path, emu: &str) -> Vec<Row> {
    let mut deep = "[".repeat(5000);
    deep.push_str(&"]".repeat(5000));
    let invalid = json!([{"command-line": "run", "type": "docker"}]);
    let labels: Vec<(&str, String, &str)> = vec![
        ("label not JSON", "[{name: tool}]".into(), "label is not valid JSON at line 1, column 3"),
        ("label empty", String::new(), "the `org.nrg.commands` label is empty"),
        ("label a number", "42".into(), "label must be a JSON list of command objects, found a number"),
        ("label nested 5000 deep", deep, "nesting deeper than 512"),
        ("label with an invalid command", invalid.to_string(), "name"),
        ("label of 4 MiB + 1 byte", format!("[{}]", " ".repeat(4 * 1024 * 1024 - 1)), "the `org.nrg.commands` label is 4194305 bytes, more than the 4194304-byte limit for a label"),
        ("label with two commands of one name", json!([good_commands()[0], good_commands()[0]]).to_string(), "command `cat-tool` version `1` is also command 0 of this list, for the same image: XNAT refuses the second (This command duplicates a command already in the database.)"),
    ];
    let mut rows = Vec::new();
    for (i, (what, label, says)) in labels.into_iter().enumerate() {
        let src = archive(d, &format!("label-{i}.tar"), "lab/tool:1", &image_with_label(&label));
        rows.push(row(what, &["validate", &src], 1, says));
        rows.push(row(&format!("install: {what}"), &["install", &src], 1, says).at(emu));
    }
    let no_label = archive(d, "no-label.tar", "lab/tool:1", &ImageBuilder::new().build());
    rows.push(row("image without the label", &["install", &no_label], 1, "the image has no `org.nrg.commands` label").at(emu));
    let raw = |name: &str, config: &[u8]| {
        archive(d, name, "lab/tool:1", &ImageBuilder::new().raw_config(config).build())
    };
    rows.push(row("config not JSON", &["inspect", &raw("cfg-text.tar", b"not json")], 1, "is not valid JSON"));
    rows.push(row("config a JSON array", &["inspect", &raw("cfg-array.tar", b"[]")], 1, "no `org.nrg.commands` label"));
    rows.push(row("config labels a string", &["inspect", &raw("cfg-labels.tar", br#"{"config":{"Labels":"org.nrg.commands"}}"#)], 1, "expected a map"));
    // Archives that are not archives.
    let junk = file(d, "junk.tar", b"this is not a tar file at all, just text that goes on");
    let gz = file(d, "junk.tar.gz", &crate::support::images::gzip(b"not a tar inside"));
    let empty = file(d, "empty.tar", b"");
    rows.push(row("docker-archive of text", &["inspect", &format!("docker-archive:{junk}")], 1, "junk.tar"));
    rows.push(row("docker-archive of gzipped text", &["inspect", &format!("docker-archive:{gz}")], 1, "junk.tar.gz"));
    rows.push(row("docker-archive empty", &["inspect", &format!("docker-archive:{empty}")], 1, "empty.tar"));
    rows.push(row("docker-archive missing", &["inspect", "docker-archive:/nonexistent/a.tar"], 1, "/nonexistent/a.tar"));
    rows.push(row("oci dir without index.json", &["inspect", &format!("oci:{}", d.display())], 1, "index.json"));
    rows.push(row("oci-archive of text", &["inspect", &format!("oci-archive:{junk}")], 1, "junk.tar"));
    let good = archive(d, "good.tar", "lab/tool:1", &image_with_label(&good_commands().to_string()));
    rows.push(row("archive tag not in it", &["inspect", &format!("{good}:lab/other:2")], 1, "lab/other:2"));
    rows.push(row("config over --max-json-bytes", &["inspect", "--max-json-bytes", "16", &good], 1, "16"));
    rows
}

/// 9 levels of 9 aliases: 472 bytes that expanded to 9^9 nodes.
fn alias_bomb() -> Vec<u8> {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 9].join(", ")
        ));
    }
    text.push_str("images: []\n");
    text.into_bytes()
}

#[rustfmt::skip]
fn fleet_rows(d: &Path, emu: &str) -> Vec<Row> {
    let good = archive(d, "fleet-good.tar", "lab/tool:1", &image_with_label(&good_commands().to_string()));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not YAML", b"images: [unclosed\n".to_vec(), ":2:1: invalid YAML"),
        ("empty", b"".to_vec(), "images"),
        ("a list at the top", b"- image: lab/tool:1\n".to_vec(), "mapping"),
        ("unknown key", format!("images:\n  - image: {good}\nimagez: []\n").into_bytes(), "imagez"),
        ("images a number", b"images: 42\n".to_vec(), "images"),
        ("image without image", b"images:\n  - enable: {site: true}\n".to_vec(), "image"),
        ("bad image reference", b"images:\n  - image: Lab/Tool:1\n".to_vec(), "Lab/Tool:1"),
        ("site without url", format!("images:\n  - image: {good}\nsites:\n  prod: {{user-env: U}}\n").into_bytes(), "url"),
        ("image for an unknown site", format!("images:\n  - image: {good}\n    sites: [nowhere]\nsites:\n  prod: {{url: 'http://127.0.0.1:9'}}\n").into_bytes(), "nowhere"),
        ("enable with a typo", format!("images:\n  - image: {good}\n    enable: {{sight: true}}\n").into_bytes(), "sight"),
        ("tab indentation", b"images:\n\t- image: lab/tool:1\n".to_vec(), ":2:2: invalid YAML"),
        ("invalid UTF-8", b"images:\n  - image: caf\xe9\n".to_vec(), "UTF-8"),
        ("duplicate key", format!("images:\n  - image: {good}\nimages: []\n").into_bytes(), "images"),
        // Issue 19: each of these took gigabytes, minutes or the whole stack.
        ("an alias bomb of 9 × 9", alias_bomb(), ":4:9: anchors and aliases expand to more than 1048576 bytes"),
        ("a 512 KiB scalar aliased 3,000 times", format!("s: &s {}\nt: [{}]\nimages: []\n", "y".repeat(1 << 19), vec!["*s"; 3000].join(", ")).into_bytes(), ":2:5: anchors and aliases expand to more than 1048576 bytes"),
        ("block nesting 20,000 deep", format!("{}x\n", "- ".repeat(20_000)).into_bytes(), ":1:129: nesting deeper than 64 levels"),
        ("4,097 images", format!("images:\n{}", (0..4097).map(|i| format!("  - image: lab/t{i}\n")).collect::<String>()).into_bytes(), ":2:3: `images` holds 4097 entries, more than 4096"),
        ("empty sites: the flag is in the hint", format!("images:\n  - image: {good}\nsites: {{}}\n").into_bytes(), ":3:8: `sites` is empty: define at least one site, or drop the key\nhint: without `sites`, the one site is --xnat / XNAT_HOST\n"),
        ("a prune glob of 2,000 bytes", format!("images:\n  - image: {good}\nprune: ['{}']\n", "*a".repeat(1000)).into_bytes(), ":3:9: a glob in `prune` is longer than 1024 bytes"),
    ];
    let mut rows = Vec::new();
    for (i, (what, bytes, says)) in cases.into_iter().enumerate() {
        let f = file(d, &format!("fleet-{i}.yaml"), &bytes);
        rows.push(row(&format!("fleet file: {what}"), &["sync", &f], 2, says).at(emu));
        // CI's offline check says the same, with no XNAT.
        rows.push(row(&format!("validate of a fleet file: {what}"), &["validate", &f], 2, says));
        if i < 3 {
            rows.push(row(&format!("status of a fleet file: {what}"), &["status", &f], 2, says).at(emu));
        }
    }
    let f = file(d, "fleet-noprune.yaml", format!("images:\n  - image: {good}\n").as_bytes());
    rows.push(row("prune without a prune key", &["sync", &f, "--prune"], 2, "--prune needs a `prune:` key").at(emu));
    rows.push(row("fleet file past its cap", &["sync", &sparse(d, "huge-fleet.yaml", 1024 * 1024 + 1)], 2, "1048576-byte limit").at(emu));
    rows.push(row("fleet file is /dev/zero", &["sync", "/dev/zero"], 2, "it is a device, not a regular file").at(emu));
    rows
}

/// `validate FLEET`, CI's offline check, beyond the file mistakes `fleet_rows` gives it.
#[rustfmt::skip]
fn validate_fleet_rows(d: &Path) -> Vec<Row> {
    let good = archive(d, "vfleet-good.tar", "lab/tool:1", &image_with_label(&good_commands().to_string()));
    let mut rows = Vec::new();
    let f = file(d, "fleet-unreadable.yaml", b"images:\n  - image: docker-archive:/nonexistent/gone.tar\n");
    rows.push(row("validate of a fleet file: an image that cannot be read", &["validate", &f], 1, "/nonexistent/gone.tar"));
    let f = file(d, "fleet-nosuchcommand.yaml", format!("images:\n  - image: {good}\n    commands: [nope]\n").as_bytes());
    rows.push(row("validate of a fleet file: a command the label lacks", &["validate", &f], 1, "the label has no command named nope"));
    rows.push(row("validate of a fleet file with a command file", &["validate", &f, &file(d, "cmd.json", good_commands().to_string().as_bytes())], 2, "is not a fleet file"));
    rows.push(row("validate of a fleet file with --image", &["validate", "--image", "lab/x:1", &f], 2, "--image does not apply to a fleet file"));
    rows.push(row("validate of a missing fleet file", &["validate", "/nonexistent/fleet.yml"], 2, "failed to read fleet file `/nonexistent/fleet.yml`"));
    rows
}

#[rustfmt::skip]
fn registry_rows(d: &Path, q: &QuirkServer, reg: &Registry, emu: &str, auth: &Registry) -> Vec<Row> {
    let h = q.host();
    let r = |quirk: &str| format!("{h}/q-{quirk}:1");
    let mut rows = Vec::new();
    let mut add = |name: &str, quirk: &str, says: &str| {
        rows.push(row(&format!("registry: {name}"), &["inspect", "--no-registry-cache", "--registry-timeout", "20", &r(quirk)], 1, says));
    };
    add("an HTML page for a manifest", "html", "HTML page");
    add("an HTML error page", "html-error", "HTML page");
    add("a manifest of an unknown media type", "unknownmedia", "application/vnd.example.thing+json");
    add("a schema1 manifest", "schema1", "schema");
    add("a manifest that is not JSON", "notjson", "JSON");
    add("a manifest that is an array", "array", "is neither an image index nor an image manifest");
    add("a manifest without its config", "emptyobj", "is JSON but not the document expected: missing field `config`");
    add("an endless manifest", "endless", "larger than 16777216 bytes");
    add("a truncated manifest", "truncated", "q-truncated");
    add("a redirect loop", "loop", "redirect");
    add("a redirect to an SSO page", "sso", "HTML");
    add("500 on every try", "always500", "500");
    add("an endless 404 error body", "endless404", "failed with HTTP 404");
    add("an endless 401 body", "endless401", "needs credentials and none were found");
    add("401 without a challenge", "nochallenge", "needs credentials and none were found");
    add("a challenge without a realm", "badchallenge", "needs credentials and none were found");
    add("a token server answering HTML", "tokenhtml", "token");
    add("an endless token response", "tokenendless", "larger than 1048576 bytes");
    add("a token response that is not JSON", "tokennotjson", "token");
    add("a config blob with the wrong digest", "badblob", "digest");
    add("an endless config blob", "endlessblob", "larger than 16777216 bytes");
    add("a missing config blob", "blob404", "blob unknown");
    add("a config blob redirect loop", "blobloop", "redirect");
    let other = format!("sha256:{}", "ab".repeat(32));
    let not_json = file(d, "not-json-auth", b"hello, not JSON\n");
    rows.push(row("registry: auth file is /dev/zero", &["inspect", "--no-registry-cache", "--registry-auth-file", "/dev/zero", &r("plain")], 1, "it is a device, not a regular file"));
    rows.push(row("registry: auth file not JSON", &["inspect", "--no-registry-cache", "--registry-auth-file", &not_json, &r("plain")], 1, "not-json-auth"));
    // Issue 19: serde_norway expanded aliases by copying (a 1 MiB scalar × 3,000 took 3 GB).
    let bomb = format!("s: &s {}\nauths: [{}]\n", "y".repeat(256 * 1024), vec!["*s"; 3000].join(", "));
    let bomb = file(d, "alias-auth.yaml", bomb.as_bytes());
    rows.push(row("registry: auth file with a YAML alias bomb", &["inspect", "--no-registry-cache", "--registry-auth-file", &bomb, &r("plain")], 1, "alias-auth.yaml` are malformed: it uses a YAML alias (`*name`), which a credentials file has no use for"));
    rows.push(row("registry: a manifest that is not the digest asked for", &["inspect", "--no-registry-cache", &format!("{h}/q-plain@{other}")], 1, "digest"));
    // The real registry.
    let a = &reg.addr;
    rows.push(row("registry: unknown tag", &["inspect", "--no-registry-cache", &format!("{a}/cat/good:nope")], 1, "nope"));
    rows.push(row("registry: unknown repository", &["inspect", "--no-registry-cache", &format!("{a}/cat/missing:1")], 1, "cat/missing"));
    rows.push(row("registry: unknown digest", &["inspect", "--no-registry-cache", &format!("{a}/cat/good@{other}")], 1, "cat/good"));
    rows.push(row("registry: image with a bad label, installed", &["install", "--no-registry-cache", &format!("{a}/cat/badlabel:1")], 1, "label is not valid JSON").at(emu));
    rows.push(row("registry: wrong basic password", &["install", "--no-registry-cache", "--registry-user", "bob", "--registry-password-file", "PWFILE", &format!("{}/cat/good:1", auth.addr)], 1, "refused the credentials from --registry-user").at(emu));
    // A credential helper that never stops talking.
    let helpers = d.join("helpers");
    let docker = d.join("helper-docker");
    std::fs::create_dir_all(&helpers).expect("helpers dir");
    std::fs::create_dir_all(&docker).expect("docker dir");
    let helper = helpers.join("docker-credential-chatty");
    std::fs::write(&helper, "#!/bin/sh\nexec yes\n").expect("helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::write(docker.join("config.json"), r#"{"credsStore":"chatty"}"#).expect("config.json");
    let path = format!("{}:{}", helpers.display(), std::env::var("PATH").unwrap_or_default());
    rows.push(row("registry: a credential helper with endless output", &["inspect", "--no-registry-cache", &format!("{}/cat/good:1", auth.addr)], 1, "its output is larger than 65536 bytes")
        .env("PATH", &path).env("DOCKER_CONFIG", &docker.display().to_string()));
    rows.push(row("registry: no credentials for a basic registry", &["inspect", "--no-registry-cache", &format!("{}/cat/good:1", auth.addr)], 1, "cat/good"));
    rows
}

/// An OCI layout whose index names `n` distinct manifests (none of them present: the walk
/// must stop before it reads them); its SOURCE text.
fn fanout_layout(dir: &Path, n: usize) -> String {
    use xnat_cmd::digest::Digest;
    let root = dir.join("fanout-layout");
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("layout dir");
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
    let entries: Vec<Value> = (0..n)
        .map(|i| json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{i:064x}"), "size": 2,
                        "platform": {"os": "linux", "architecture": "amd64"}}))
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}).to_string();
    let digest = Digest::sha256_of(index.as_bytes());
    std::fs::write(blobs.join(digest.hex()), &index).expect("index blob");
    let top = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest.to_string(),
                     "size": index.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(root.join("index.json"), top.to_string()).expect("index.json");
    format!("oci:{}:v1", root.display())
}

/// Inputs that used to cost unbounded memory or time, or block: they must now stop at once.
#[rustfmt::skip]
fn bound_rows(d: &Path, emu: &str, archive_src: &str) -> Vec<Row> {
    let fifo = d.join("a-fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success(), "mkfifo");
    let fifo = fifo.display().to_string();
    let fanout = fanout_layout(d, xnat_cmd::limits::MAX_INDEX_MANIFESTS + 1);
    // A tar whose first entry is a GNU long name claiming 1 GiB (its data sparse zeros): the
    // tar crate read it whole (1 GiB) before the guard.
    let long_name = d.join("long-name.tar");
    let mut h = tar::Header::new_gnu();
    h.set_path("././@LongLink").expect("name");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(1 << 30);
    h.set_cksum();
    let f = std::fs::File::create(&long_name).expect("tar");
    std::io::Write::write_all(&mut &f, h.as_bytes()).expect("header");
    f.set_len(512 + (1 << 30) + 1024).expect("sparse");
    let long_name = format!("docker-archive:{}", long_name.display());
    vec![
        row("key file is /dev/zero", &["inspect", "--verify-key", "/dev/zero", archive_src], 2, "failed to read key file `/dev/zero`"),
        row("key file is a FIFO", &["inspect", "--verify-key", &fifo, archive_src], 2, "it is a FIFO (named pipe), not a regular file"),
        row("XNAT password file is a FIFO", &["list", "--password-file", &fifo], 2, "it is a FIFO (named pipe), not a regular file").at(emu),
        row("fleet file is a FIFO", &["sync", &fifo], 2, "it is a FIFO (named pipe), not a regular file").at(emu),
        row("index of 257 distinct manifests, all platforms", &["inspect", "--all-platforms", &fanout], 1, "leads to more than 256 manifests"),
        row("archive with a 1 GiB GNU long name", &["inspect", &long_name], 1, "holds a tar extension header (long name or pax) of 1073741824 bytes, over the 65536-byte limit"),
    ]
}

#[rustfmt::skip]
fn xnat_rows(q: &QuirkServer, src: &str) -> Vec<Row> {
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("login200", vec!["list"], "HTML page"),
        ("sso302", vec!["list"], "redirected to https://sso.example.org/idp/login"),
        ("all401", vec!["list"], "did not accept the credentials"),
        ("jsession-html", vec!["list"], "HTML page"),
        ("jsession-empty", vec!["list"], "session id"),
        ("whoami-garbage", vec!["install", src], "hello there"),
        ("plugins-without-cs", vec!["install", src], "Container Service"),
        ("plugins-array", vec!["install", src], "plugins"),
        ("roles-object", vec!["install", src], "roles"),
        ("projects-array", vec!["install", src, "--enable-project", "DEMO"], "data/projects"),
        ("list-html-json", vec!["list"], "not JSON"),
        ("list-login200", vec!["install", src], "HTML page"),
        ("list-badutf8", vec!["list"], "not UTF-8"),
        ("list-object", vec!["install", src], "expected a JSON list"),
        ("list-empty", vec!["list"], "not JSON"),
        ("list-endless", vec!["install", src], "more than 10485760 bytes"),
        ("list-truncated", vec!["list"], "the answer was cut off"),
        ("list-500-html", vec!["install", src], "failed with 500: HTTP Status 500 – Internal Server Error java.lang.NullPointerException"),
        ("list-sso302", vec!["install", src], "redirected to https://sso.example.org"),
        ("list-id-null", vec!["install", src], "command `cat-tool` (element 0) has no integer id (found null)"),
        ("list-xnat-string", vec!["install", src], "command `cat-tool` (element 0) has `xnat` as a string, not a list of wrappers"),
        ("list-wrapper-id-null", vec!["install", src], "wrapper 0 of command `cat-tool` (element 0) has no integer id (found null)"),
        ("enabled-array", vec!["install", src, "--enable-project", "DEMO"], "enabled"),
        ("enabled-string", vec!["install", src, "--enable-site"], "enabled"),
    ];
    cases
        .into_iter()
        .map(|(quirk, args, says)| row(&format!("XNAT: {quirk}"), &args, 1, says).at(q.xnat(quirk)))
        .collect()
}

#[test]
fn every_bad_input_gets_one_clear_line_and_no_write() {
    let sb = Sandbox::new();
    let d = sb.path();
    let user = format!("admin:{PASSWORD}:Administrator,ContainerManager");
    let emu = Emulator::start(&["--project", "DEMO", "--user", &user]);
    let good = image_with_label(&good_commands().to_string());
    let good_src = archive(d, "installed.tar", "lab/installed:1", &good);
    // Installed beforehand, so re-installs read its enablement (the `enabled-*` rows).
    let out = emu
        .xnat_cmd_as(&sb, "admin", PASSWORD)
        .args(["install", &good_src])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reg = Registry::start(Mode::Plain);
    push(&reg, "cat/good", &good);
    push(&reg, "cat/badlabel", &image_with_label("{not json"));
    let auth = Registry::start(Mode::Basic {
        user: "bob".into(),
        password: "right-password".into(),
    });
    push(&auth, "cat/good", &good);
    let quirks = QuirkServer::start(&emu.url, good.clone());
    let wrong_pw = file(d, "wrong-pw", b"wrong-password\n");

    let mut rows = cli_rows(d, &emu.url, &good_src);
    rows.extend(command_file_rows(d));
    rows.extend(label_rows(d, &emu.url));
    rows.extend(fleet_rows(d, &emu.url));
    rows.extend(validate_fleet_rows(d));
    rows.extend(registry_rows(d, &quirks, &reg, &emu.url, &auth));
    rows.extend(xnat_rows(&quirks, &good_src));
    rows.extend(bound_rows(d, &emu.url, &good_src));
    assert!(rows.len() >= 80, "the catalogue has {} rows", rows.len());

    let before = (emu.writes(), emu.state()["commands"].clone());
    let mut failures = Vec::new();
    for r in &rows {
        let args: Vec<String> = r
            .args
            .iter()
            .map(|a| {
                if a == "PWFILE" {
                    wrong_pw.clone()
                } else {
                    a.clone()
                }
            })
            .collect();
        let mut cmd = match &r.xnat {
            Some(url) => {
                let mut c = sb.cmd();
                c.env("XNAT_HOST", url)
                    .env("XNAT_USER", "admin")
                    .env("XNAT_PASS", PASSWORD);
                c
            }
            None => sb.cmd(),
        };
        cmd.envs(r.env.iter().map(|(k, v)| (k, v)));
        if let Some(bytes) = &r.stdin {
            cmd.write_stdin(bytes.clone());
        }
        let out = cmd.args(&args).output().expect("run xnat-cmd");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let code = out.status.code();
        // `XNAT_CMD_CATALOGUE_SHOW=1`: print what each row shows, to review the messages.
        if std::env::var_os("XNAT_CMD_CATALOGUE_SHOW").is_some() {
            eprintln!("[{}] exit {code:?}\n{stderr}", r.name);
        }
        let mut wrong = Vec::new();
        if code != Some(r.code) {
            wrong.push(format!("exit {code:?}, want {}", r.code));
        }
        if !matches!(code, Some(1 | 2)) {
            wrong.push("exit code outside {1, 2}".into());
        }
        if stderr.contains("panicked") {
            wrong.push("a panic".into());
        }
        // `validate` reports findings on stdout, as data; everything else on stderr.
        if !stderr.contains(&r.says) && !stdout.contains(&r.says) {
            wrong.push(format!("the output lacks `{}`", r.says));
        }
        // One `error:` line (clap's usage errors start the same way); a bare invocation
        // prints the help instead.
        // `install` closes a failed run with its own summary line, which is not a second error.
        let errors = stderr
            .lines()
            .filter(|l| l.starts_with("error:") && !l.contains("nothing was written to XNAT"))
            .count();
        let report = r.args.first().is_some_and(|a| a == "validate") && !stdout.is_empty();
        if !r.args.is_empty() && errors != 1 && !(report && errors == 0) {
            wrong.push(format!("{errors} `error:` lines"));
        }
        if stderr.contains(PASSWORD) || stdout.contains(PASSWORD) || stderr.contains("hunter2") {
            wrong.push("a secret in the output".into());
        }
        let now = (emu.writes(), emu.state()["commands"].clone());
        if now != before {
            wrong.push(format!("XNAT was written to ({} writes)", now.0 - before.0));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "[{}] {}\n    args: {:?}\n    stderr: {}\n    stdout: {}",
                r.name,
                wrong.join("; "),
                r.args,
                stderr.trim_end().replace('\n', "\n            "),
                stdout.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
