//! Table tests of the fleet file: the issue's example, JSON, every located error, the globs.

use super::*;

/// The example of issue 9, as written there.
const EXAMPLE: &str = "\
images:
  - image: ghcr.io/lab/tool:1.2          # any SOURCE form install accepts
    platform: linux/amd64                # optional
    commands: [tool-session]             # optional filter; default: every command of the label
    pin-digest: true                     # optional: install under repo@sha256 of what was read
    sites: [prod]                        # optional: only these sites (default: every site)
    enable:
      site: true
      projects: [P1, P2]                 # or: all  (every project, including ones created later)
prune:                                   # optional: repositories this file owns (globs)
  - ghcr.io/lab/*
sites:                                   # optional; without it: one site from --xnat / XNAT_HOST
  staging: {url: https://xnat-staging.example.org/xnat}
  prod:    {url: https://xnat.example.org, user-env: PROD_XNAT_USER, password-env: PROD_XNAT_PASS}
";

fn example_fleet() -> Fleet {
    Fleet {
        images: vec![FleetImage {
            image: "ghcr.io/lab/tool:1.2".to_string(),
            command_file: None,
            platform: Some(Platform::linux_amd64()),
            commands: Some(vec!["tool-session".to_string()]),
            pin_digest: true,
            sites: Some(vec!["prod".to_string()]),
            enable: Enable {
                site: true,
                projects: Projects::List(vec!["P1".to_string(), "P2".to_string()]),
                wrappers: Vec::new(),
            },
            verify: Vec::new(),
            line: 2,
        }],
        prune: vec!["ghcr.io/lab/*".to_string()],
        has_prune: true,
        sites: vec![
            Site {
                name: "staging".to_string(),
                url: "https://xnat-staging.example.org/xnat".to_string(),
                user_env: None,
                password_env: None,
            },
            Site {
                name: "prod".to_string(),
                url: "https://xnat.example.org".to_string(),
                user_env: Some("PROD_XNAT_USER".to_string()),
                password_env: Some("PROD_XNAT_PASS".to_string()),
            },
        ],
    }
}

#[test]
fn the_issue_example_parses() {
    assert_eq!(parse("fleet.yml", EXAMPLE), Ok(example_fleet()));
}

#[test]
fn the_json_form_parses() {
    let json = r#"{
  "images": [
    {
      "image": "ghcr.io/lab/tool:1.2",
      "platform": "linux/amd64",
      "commands": ["tool-session"],
      "pin-digest": true,
      "sites": ["prod"],
      "enable": {"site": true, "projects": ["P1", "P2"]}
    }
  ],
  "prune": ["ghcr.io/lab/*"],
  "sites": {
    "staging": {"url": "https://xnat-staging.example.org/xnat"},
    "prod": {"url": "https://xnat.example.org", "user-env": "PROD_XNAT_USER", "password-env": "PROD_XNAT_PASS"}
  }
}"#;
    let mut expected = example_fleet();
    expected.images[0].line = 3; // the `{` of the entry
    assert_eq!(parse("fleet.json", json), Ok(expected));
    // Compact JSON, on one line, tab-indented JSON.
    let compact = r#"{"images":[{"image":"xnat/tool:1","enable":{"projects":"all"}}]}"#;
    let fleet = parse("f.json", compact).unwrap();
    assert_eq!(fleet.images[0].enable.projects, Projects::All);
    assert!(parse("f.json", "{\n\t\"images\": [{\"image\": \"x\"}]\n}").is_ok());
}

#[test]
fn defaults_and_optional_keys() {
    let fleet = parse(
        "f.yml",
        "images:\n- image: ' xnat/tool:1 '\n  platform:\n  commands:\n- image: oci:./dir:v1\n  enable: {projects: all}\nprune: []\n",
    )
    .unwrap();
    let first = &fleet.images[0];
    assert_eq!(
        (
            first.image.as_str(),
            &first.platform,
            &first.commands,
            first.pin_digest
        ),
        ("xnat/tool:1", &None, &None, false)
    );
    assert_eq!(
        (&first.sites, &first.enable, first.line),
        (&None, &Enable::default(), 2)
    );
    assert_eq!(fleet.images[1].enable.projects, Projects::All);
    assert_eq!(fleet.images[1].line, 5);
    assert!(fleet.has_prune && fleet.prune.is_empty() && fleet.sites.is_empty());
    // `prune:` with nothing after it still says the file owns its (no) repositories.
    let fleet = parse("f.yml", "images: [{image: a}]\nprune:\n").unwrap();
    assert!(fleet.has_prune && fleet.prune.is_empty());
    let fleet = parse("f.yml", "images: [{image: a}]\n").unwrap();
    assert!(!fleet.has_prune);
    // A project id that looks like a number is kept as written.
    let fleet = parse(
        "f.yml",
        "images: [{image: a, enable: {projects: [001, P2]}}]",
    )
    .unwrap();
    assert_eq!(
        fleet.images[0].enable.projects,
        Projects::List(vec!["001".to_string(), "P2".to_string()])
    );
}

#[test]
fn every_mistake_is_located() {
    const IMAGE_KEYS_MSG: &str =
        "(allowed: `image`, `command-file`, `platform`, `commands`, `pin-digest`, `sites`, `enable`, `verify`)";
    let cases: &[(&str, usize, usize, &str)] = &[
        // Syntax and shape.
        ("images: [a\n", 2, 1, "invalid YAML:"),
        ("", 1, 1, "missing key `images` (the list of images to install): the file is empty"),
        ("- image: a\n", 1, 1, "a fleet file is a mapping with `images:`, found a list"),
        ("images: [{image: a}]\n---\nimages: []\n", 2, 1, "more than one YAML document: a fleet file is one document"),
        ("images: [{image: a}]\nimages: [{image: b}]\n", 2, 1, "duplicate key `images` (first at line 1)"),
        // Unknown keys at every level.
        (
            "images: [{image: a}]\nprunes: []\n",
            2,
            1,
            "unknown key `prunes` at the top level (allowed: `images`, `prune`, `sites`, `verify`); did you mean `prune`?",
        ),
        (
            "images:\n  - image: a\n    pin_digest: true\n",
            3,
            5,
            &*format!("unknown key `pin_digest` in an image entry {IMAGE_KEYS_MSG}; did you mean `pin-digest`?"),
        ),
        (
            "images:\n  - image: a\n    enable: {site: true, project: [P1]}\n",
            3,
            26,
            "unknown key `project` in `enable` (allowed: `site`, `projects`, `wrappers`); did you mean `projects`?",
        ),
        (
            "images: [{image: a}]\nsites:\n  prod: {url: 'https://x.org', token-env: T}\n",
            3,
            32,
            "unknown key `token-env` in site `prod` (allowed: `url`, `user-env`, `password-env`)",
        ),
        // Wrong types.
        ("images:\n  - image: a\n    pin-digest: yes please\n", 3, 17, "`pin-digest` must be true or false, found the string `yes please`"),
        ("images: {}\n", 1, 9, "`images` must be a list of image entries, found a mapping"),
        ("images:\n  - ghcr.io/lab/tool:1\n", 2, 5, "an image entry must be a mapping with `image:`, found the string `ghcr.io/lab/tool:1`"),
        ("images:\n  - image: [a]\n", 2, 12, "`image` must be a string, found a list"),
        ("images:\n  - image: a\n    enable: true\n", 3, 13, "`enable` must be a mapping, found the boolean `true`"),
        ("images:\n  - image: a\n    enable: {site: 1}\n", 3, 20, "`enable.site` must be true or false, found the number `1`"),
        ("images:\n  - image: a\n    commands: tool\n", 3, 15, "`commands` must be a list, found the string `tool`"),
        ("images:\n  - {image: a, commands: [true]}\n", 2, 27, "a command in `commands` must be a string, found the boolean `true`"),
        // Empty or missing images.
        ("prune: []\n", 1, 1, "missing key `images` (the list of images to install)"),
        ("images: []\n", 1, 9, "`images` is empty: list at least one image"),
        ("images:\nprune: []\n", 1, 1, "`images` is empty: list at least one image"),
        ("images:\n  - platform: linux/amd64\n", 2, 5, "image entry without `image` (the SOURCE to read, e.g. ghcr.io/lab/tool:1.2)"),
        ("images:\n  - image: '  '\n", 2, 12, "`image` is empty"),
        // Duplicate images.
        (
            "images:\n  - image: ghcr.io/lab/tool:1\n  - image: ghcr.io/lab/tool:1 \n",
            3,
            12,
            "duplicate image `ghcr.io/lab/tool:1`: first at line 2",
        ),
        (
            "images:\n  - image: lab/tool:1\n  - image: b\n  - image: docker.io/lab/tool:1\n",
            4,
            12,
            "duplicate image `docker.io/lab/tool:1` (the same image as `lab/tool:1`): first at line 2",
        ),
        (
            "images:\n  - image: ubuntu\n  - image: docker://index.docker.io/library/ubuntu:latest\n",
            3,
            12,
            "duplicate image `docker://index.docker.io/library/ubuntu:latest` (the same image as `ubuntu`): first at line 2",
        ),
        // Bad references and sources.
        ("images:\n  - image: Lab/Tool:1\n", 2, 12, "invalid reference `Lab/Tool:1`: repository name `Tool` must be lowercase"),
        ("images:\n  - image: lab/tool:-1\n", 2, 12, "invalid reference `lab/tool:-1`: bad tag `-1` (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)"),
        ("images:\n  - image: 'podman:lab/tool'\n", 2, 12, "unknown transport `podman` in `podman:lab/tool`: use docker://, docker-daemon:, docker-archive:, oci:, oci-archive: or a plain image reference"),
        ("images:\n  - image: 'oci:'\n", 2, 12, "empty path in `oci:`"),
        // Platform.
        ("images:\n  - image: a\n    platform: linux\n", 3, 15, "invalid platform `linux`: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"),
        // Projects.
        ("images:\n  - image: a\n    enable: {projects: All}\n", 3, 24, "`projects` must be a list of project ids or `all`, found the string `All`"),
        ("images:\n  - image: a\n    enable: {projects: {P1: true}}\n", 3, 24, "`projects` must be a list of project ids or `all`, found a mapping"),
        ("images:\n  - image: a\n    enable: {projects: [P1, [P2]]}\n", 3, 29, "a project id in `projects` must be a string, found a list"),
        ("images:\n  - image: a\n    enable:\n      projects: [P1, P1]\n", 4, 22, "duplicate project `P1` in `projects` (first at line 4)"),
        // Sites named by images.
        (
            "images:\n  - image: a\n    sites: [qa]\nsites:\n  prod: {url: 'https://x.org'}\n  staging: {url: 'https://s.x.org'}\n",
            3,
            13,
            "`sites` names `qa`, which the file does not define (defined: `prod`, `staging`)",
        ),
        ("images:\n  - image: a\n    sites: [prod]\n", 3, 5, "`sites` on an image needs a top-level `sites:` key that defines the sites"),
        ("images:\n  - image: a\n    sites: []\nsites: {prod: {url: 'https://x.org'}}\n", 3, 12, "`sites` is empty: list at least one site, or drop the key"),
        ("images:\n  - image: a\n    sites: [prod, prod]\nsites: {prod: {url: 'https://x.org'}}\n", 3, 19, "duplicate site `prod` in `sites` (first at line 3)"),
        // Site entries.
        ("images: [{image: a}]\nsites:\n  prod: {user-env: U}\n", 3, 3, "site `prod` has no `url`"),
        ("images: [{image: a}]\nsites:\n  prod: https://x.org\n", 3, 9, "site `prod` must be a mapping with `url:`, found the string `https://x.org`"),
        ("images: [{image: a}]\nsites:\n  prod: {url: 'xnat.example.org'}\n", 3, 15, "site `prod`: invalid url `xnat.example.org`: relative URL without a base"),
        ("images: [{image: a}]\nsites:\n  prod: {url: 'ftp://x.org'}\n", 3, 15, "site `prod`: url `ftp://x.org` must start with http:// or https://"),
        ("images: [{image: a}]\nsites:\n  prod: {url: 'https://x.org', user-env: ''}\n", 3, 42, "`user-env` of site `prod` is empty"),
        ("images: [{image: a}]\nsites: {}\n", 2, 8, "`sites` is empty: define at least one site, or drop the key"),
        ("images: [{image: a}]\nsites: [prod]\n", 2, 8, "`sites` (site names to `{url: …}`) must be a mapping, found a list"),
        (
            "images:\n  - {image: a, sites: [prod]}\nsites:\n",
            2,
            16,
            "`sites` on an image needs a top-level `sites:` key that defines the sites",
        ),
        // Commands.
        ("images:\n  - image: a\n    commands: []\n", 3, 15, "`commands` is empty: list at least one command, or drop the key"),
        ("images:\n  - image: a\n    commands: [x, y, x]\n", 3, 22, "duplicate command `x` in `commands` (first at line 3)"),
        // Prune.
        ("images: [{image: a}]\nprune: ['ghcr.io/lab/*', '']\n", 2, 26, "a glob in `prune` is empty"),
        ("images: [{image: a}]\nprune: ghcr.io/lab/*\n", 2, 8, "`prune` must be a list of repository globs, found the string `ghcr.io/lab/*`"),
    ];
    let mut failures = Vec::new();
    for (text, line, column, message) in cases {
        let got = parse("fleet.yml", text);
        let ok = matches!(&got, Err(e) if e.file == "fleet.yml"
            && (e.line, e.column) == (*line, *column)
            && (e.message == *message || (message.ends_with(':') && e.message.starts_with(message))));
        if !ok {
            failures.push(format!(
                "{text:?}\n  want {line}:{column}: {message}\n  got  {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_error_shows_file_line_and_column() {
    let e = parse("fleets/prod.yml", "images: []\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "fleets/prod.yml:1:9: `images` is empty: list at least one image"
    );
}

#[test]
fn image_sources_do_not_depend_on_the_current_directory() {
    // `src` exists in the crate's directory (where tests run); as a fleet entry it is the
    // Docker Hub repository `library/src`, as it would be anywhere else.
    assert!(std::path::Path::new("src").is_dir());
    assert!(parse("f.yml", "images: [{image: src}]").is_ok());
}

#[test]
fn glob_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("ghcr.io/lab/*", "ghcr.io/lab/tool", true),
        ("ghcr.io/lab/*", "ghcr.io/lab/tool:1.2", true),
        ("ghcr.io/lab/*", "ghcr.io/lab/sub/tool", false),
        ("ghcr.io/lab/**", "ghcr.io/lab/sub/tool", true),
        ("ghcr.io/**/tool", "ghcr.io/tool", true),
        ("ghcr.io/**/tool", "ghcr.io/a/b/tool", true),
        ("ghcr.io/lab/*", "ghcr.io/other/tool", false),
        ("ghcr.io/lab/*", "docker.io/lab/tool", false),
        ("ghcr.io/lab/tool-?", "ghcr.io/lab/tool-a", true),
        ("ghcr.io/lab/tool-?", "ghcr.io/lab/tool-ab", false),
        ("ghcr.io/lab?tool", "ghcr.io/lab/tool", false),
        // Docker Hub: written short or long, matched against either.
        ("docker.io/xnat/*", "xnat/tool", true),
        ("xnat/*", "xnat/tool", true),
        ("xnat/*", "docker.io/xnat/tool", true),
        ("index.docker.io/xnat/*", "xnat/tool:1", true),
        ("xnat/*", "ghcr.io/xnat/tool", false),
        ("docker.io/library/*", "ubuntu", true),
        ("library/*", "ubuntu:22.04", true),
        ("ubuntu", "docker.io/library/ubuntu", true),
        ("*", "ubuntu", true),
        ("*", "xnat/tool", false),
        ("**", "ghcr.io/lab/tool", true),
        ("localhost:5000/*", "localhost:5000/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true),
        ("localhost:5000/*", "localhost:5001/tool", false),
        // Everything but `*`, `**` and `?` is literal.
        ("ghcr.io/lab/[ab]", "ghcr.io/lab/a", false),
        ("ghcr.io/lab/tool", "ghcr.io/lab/tool", true),
        ("ghcr.io/lab/tool", "ghcr.io/lab/tools", false),
    ];
    let wrong: Vec<_> = cases
        .iter()
        .filter(|(g, r, want)| glob_matches(g, r) != *want)
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn verify_keys_resolve_against_the_file_and_an_image_own_replaces_the_file_one() {
    let text = "\
verify: {key: site.pub}
images:
  - image: ghcr.io/lab/a:1
  - image: ghcr.io/lab/b:1
    verify: {key: [/etc/keys/b.pub, team.pub]}
";
    let keys = |file: &str, text: &str| -> Vec<Vec<String>> {
        parse(file, text)
            .unwrap()
            .images
            .iter()
            .map(|i| i.verify.iter().map(|p| p.display().to_string()).collect())
            .collect()
    };
    assert_eq!(
        keys("conf/fleet.yaml", text),
        vec![
            vec!["conf/site.pub".to_string()],
            vec!["/etc/keys/b.pub".to_string(), "conf/team.pub".to_string()],
        ]
    );
    // A fleet file in the current directory: keys named as written.
    assert_eq!(keys("fleet.yaml", text)[0], vec!["site.pub".to_string()]);
    // No `verify:` anywhere: no keys.
    assert_eq!(
        keys("fleet.yaml", "images: [{image: ghcr.io/lab/a:1}]\n"),
        vec![Vec::<String>::new()]
    );
    // The file's key applies to a daemon image too: refused where the image is named.
    let e = parse(
        "fleet.yaml",
        "verify: {key: k.pub}\nimages:\n  - image: docker-daemon:lab/c:1\n",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (3, 12), "{e}");
    assert!(e
        .message
        .starts_with("`verify` checks cosign signatures of registry images only"));
}

#[test]
fn every_mistake_of_a_file_is_reported_in_one_run_in_file_order() {
    // One mistake per kind of place: top-level key, site entry, image keys (two in one entry),
    // a bad entry among good ones, a duplicate, enable, prune.
    let text = "\
images:
  - image: ghcr.io/lab/a:1
    pin_digest: true
    platform: linux
  - image: Lab/B:1
    sites: [qa]
  - image: ghcr.io/lab/c:1
    enable: {site: yes please, projects: [P1, P1]}
  - image: ghcr.io/lab/a:1
sites:
  prod: {url: 'ftp://x.org'}
prunes: []
prune: ['']
";
    let errors = parse_all("f.yaml", text).unwrap_err();
    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        vec![
            "f.yaml:3:5: unknown key `pin_digest` in an image entry (allowed: `image`, `command-file`, `platform`, `commands`, `pin-digest`, `sites`, `enable`, `verify`); did you mean `pin-digest`?",
            "f.yaml:4:15: invalid platform `linux`: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8",
            "f.yaml:5:12: invalid reference `Lab/B:1`: repository name `B` must be lowercase",
            "f.yaml:6:13: `sites` names `qa`, which the file does not define (defined: `prod`)",
            "f.yaml:8:20: `enable.site` must be true or false, found the string `yes please`",
            "f.yaml:8:47: duplicate project `P1` in `projects` (first at line 8)",
            "f.yaml:11:15: site `prod`: url `ftp://x.org` must start with http:// or https://",
            "f.yaml:12:1: unknown key `prunes` at the top level (allowed: `images`, `prune`, `sites`, `verify`); did you mean `prune`?",
            "f.yaml:13:9: a glob in `prune` is empty",
        ]
    );
    // `parse` gives the first of them.
    assert_eq!(parse("f.yaml", text).unwrap_err(), errors[0]);
    // The first entry was bad, so the last one is no duplicate of it; a duplicate of a good
    // entry is reported while the entries after it are still checked.
    let text = "images:\n  - image: a\n  - image: a\n  - image: b\n    platform: x\n";
    let got = all_errors("f", text);
    assert_eq!(
        got,
        vec![
            "f:3:12: duplicate image `a`: first at line 2",
            "f:5:15: invalid platform `x`: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8",
        ]
    );
}

#[test]
fn projects_resolve_table() {
    let every = vec!["A".to_string(), "B".to_string()];
    let cases = [
        (Projects::None, vec![]),
        (Projects::List(vec!["B".into(), "X".into()]), vec!["B", "X"]),
        (Projects::All, vec!["A", "B"]),
    ];
    for (projects, want) in cases {
        assert_eq!(projects.resolve(&every), want, "{projects:?}");
    }
    assert_eq!(Projects::All.resolve(&[]), Vec::<String>::new());
}

#[test]
fn wrapper_overrides_parse_in_file_order() {
    let text = "\
images:
  - image: lab/tool:1
    enable:
      site: true
      projects: [P1, P2]
      wrappers:
        tool-scan: {site: false, projects: []}
        tool-qc: {projects: all}
        tool-x: {}
";
    let fleet = parse("f.yml", text).unwrap();
    let over = |name: &str, site, projects| WrapperEnable {
        name: name.to_string(),
        site,
        projects,
    };
    assert_eq!(
        fleet.images[0].enable,
        Enable {
            site: true,
            projects: Projects::List(vec!["P1".into(), "P2".into()]),
            wrappers: vec![
                over("tool-scan", Some(false), Some(Projects::List(vec![]))),
                over("tool-qc", None, Some(Projects::All)),
                over("tool-x", None, None),
            ],
        }
    );
    // An image-level empty list still means no project, as before.
    let fleet = parse("f.yml", "images: [{image: a, enable: {projects: []}}]").unwrap();
    assert_eq!(fleet.images[0].enable.projects, Projects::List(vec![]));
    // `wrappers:` with nothing after it is no key, as for every optional key.
    let fleet = parse(
        "f.yml",
        "images:\n  - image: a\n    enable:\n      wrappers:\n",
    )
    .unwrap();
    assert_eq!(fleet.images[0].enable.wrappers, vec![]);
}

#[test]
fn command_file_entries_resolve_against_the_file_and_keep_image_as_written() {
    let text = "\
images:
  - command-file: commands/tool-edited.json
    image: lab/tool:1
    commands: [tool]
    enable: {site: true}
    sites: [prod]
  - image: lab/tool:1
  - command-file: /abs/tool.json
    image: ghcr.io/lab/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  - command-file: commands/tool-edited.json
    image: lab/tool:2
sites:
  prod: {url: 'https://x.org'}
";
    let fleet = parse("conf/fleet.yaml", text).unwrap();
    let entries: Vec<(Option<String>, &str, String)> = fleet
        .images
        .iter()
        .map(|i| {
            (
                i.command_file.as_ref().map(|p| p.display().to_string()),
                i.image.as_str(),
                i.source(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                Some("conf/commands/tool-edited.json".into()),
                "lab/tool:1",
                "conf/commands/tool-edited.json".into()
            ),
            // The same reference read as an image is another entry.
            (None, "lab/tool:1", "lab/tool:1".into()),
            (
                Some("/abs/tool.json".into()),
                "ghcr.io/lab/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "/abs/tool.json".into()
            ),
            // The same file under another reference too.
            (
                Some("conf/commands/tool-edited.json".into()),
                "lab/tool:2",
                "conf/commands/tool-edited.json".into()
            ),
        ]
    );
    let first = &fleet.images[0];
    assert_eq!(first.commands, Some(vec!["tool".to_string()]));
    assert_eq!(first.sites, Some(vec!["prod".to_string()]));
    assert!(first.enable.site);
    assert_eq!(
        (&first.platform, first.pin_digest, &first.verify, first.line),
        (&None, false, &Vec::new(), 2)
    );
}

#[test]
fn every_new_mistake_is_located() {
    let cases: &[(&str, usize, usize, &str)] = &[
        // `enable.wrappers`.
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {w: {site: true, project: [P1]}}\n",
            4,
            34,
            "unknown key `project` in wrapper `w` in `enable.wrappers` (allowed: `site`, `projects`); did you mean `projects`?",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {w: true}\n",
            4,
            21,
            "wrapper `w` in `enable.wrappers` must be a mapping with `site:` and/or `projects:`, found the boolean `true`",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers:\n        w:\n",
            5,
            9,
            "wrapper `w` in `enable.wrappers` must be a mapping with `site:` and/or `projects:`, found nothing",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: [w]\n",
            4,
            17,
            "`enable.wrappers` (wrapper names to `{site, projects}`) must be a mapping, found a list",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {}\n",
            4,
            17,
            "`enable.wrappers` is empty: name at least one wrapper, or drop the key",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers:\n        w: {}\n        w: {site: true}\n",
            6,
            9,
            "duplicate key `w` (first at line 5)",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers:\n        w: {}\n        ' w ': {site: true}\n",
            6,
            9,
            "duplicate wrapper `w` in `enable.wrappers` (first at line 5)",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {'  ': {}}\n",
            4,
            18,
            "a wrapper name in `enable.wrappers` is empty",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {true: {}}\n",
            4,
            18,
            "a wrapper name in `enable.wrappers` must be a string, found the boolean `true`",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {w: {site: 1}}\n",
            4,
            28,
            "`site` of wrapper `w` in `enable.wrappers` must be true or false, found the number `1`",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {w: {projects: All}}\n",
            4,
            32,
            "`projects` must be a list of project ids or `all`, found the string `All`",
        ),
        (
            "images:\n  - image: a\n    enable:\n      wrappers: {w: {projects: [P1, P1]}}\n",
            4,
            37,
            "duplicate project `P1` in `projects` (first at line 4)",
        ),
        // `command-file` entries.
        (
            "images:\n  - command-file: ' '\n    image: lab/t:1\n",
            2,
            19,
            "`command-file` is empty",
        ),
        (
            "images:\n  - command-file: [a.json]\n    image: lab/t:1\n",
            2,
            19,
            "`command-file` must be a string, found a list",
        ),
        (
            "images:\n  - command-file: t.json\n",
            2,
            5,
            "`command-file` entry without `image` (the reference its commands are installed under, e.g. ghcr.io/lab/tool:1.2)",
        ),
        (
            "images:\n  - command-file: t.json\n    image: lab/t\n",
            3,
            12,
            "`lab/t` has no tag or digest, and the `image` of a `command-file` entry is the reference XNAT runs its commands with: name a tag (e.g. `lab/t:1.2`) or a digest",
        ),
        (
            "images:\n  - command-file: t.json\n    image: 'oci:/tmp/t:1'\n",
            3,
            12,
            "`oci:/tmp/t:1` is a SOURCE to read, and the `image` of a `command-file` entry is the reference its commands are installed under: write a registry reference such as ghcr.io/lab/tool:1.2",
        ),
        (
            "images:\n  - command-file: t.json\n    image: docker://lab/t:1\n",
            3,
            12,
            "`docker://lab/t:1` is a SOURCE to read, and the `image` of a `command-file` entry is the reference its commands are installed under: write a registry reference such as ghcr.io/lab/tool:1.2",
        ),
        (
            "images:\n  - command-file: t.json\n    image: Lab/T:1\n",
            3,
            12,
            "invalid reference `Lab/T:1`: repository name `T` must be lowercase",
        ),
        (
            "images:\n  - command-file: t.json\n    image: lab/t:1\n    platform: linux/amd64\n",
            4,
            5,
            "`platform` applies to an image read from a source, and a `command-file` entry's commands are read from the file: drop `platform`",
        ),
        (
            "images:\n  - command-file: t.json\n    image: lab/t:1\n    pin-digest: false\n",
            4,
            5,
            "`pin-digest` applies to an image read from a source, and a `command-file` entry's commands are read from the file: drop `pin-digest`",
        ),
        (
            "images:\n  - command-file: t.json\n    image: lab/t:1\n    verify: {key: k.pub}\n",
            4,
            5,
            "`verify` applies to an image read from a source, and a `command-file` entry's commands are read from the file: drop `verify`",
        ),
        (
            "verify: {key: k.pub}\nimages:\n  - command-file: t.json\n    image: lab/t:1\n",
            3,
            19,
            "the top-level `verify` checks the cosign signature of every entry, and a `command-file` entry has none: give the image entries their own `verify` instead",
        ),
        (
            "images:\n  - command-file: ./c/t.json\n    image: lab/t:1\n  - command-file: c/t.json\n    image: docker.io/lab/t:1\n",
            4,
            19,
            "duplicate command file `c/t.json` installed under `docker.io/lab/t:1` (the same image as `lab/t:1`): first at line 2",
        ),
    ];
    let mut failures = Vec::new();
    for (text, line, column, message) in cases {
        let got = parse("fleet.yml", text);
        let ok = matches!(&got, Err(e) if e.file == "fleet.yml"
            && (e.line, e.column) == (*line, *column)
            && e.message == *message);
        if !ok {
            failures.push(format!(
                "{text:?}\n  want {line}:{column}: {message}\n  got  {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Null keys count as absent in a `command-file` entry too.
    assert!(parse(
        "f",
        "images:\n  - command-file: t.json\n    image: lab/t:1\n    platform:\n    pin-digest:\n"
    )
    .is_ok());
}

#[test]
fn the_new_mistakes_are_reported_with_the_others_in_one_run() {
    let text = "\
verify: {key: k.pub}
images:
  - image: ghcr.io/lab/a:1
    enable:
      wrappers:
        a-w: {site: yes, projets: all}
        '': {}
  - command-file: t.json
    image: lab/t
    platform: linux/amd64
    enable: {wrappers: {t-w: [P1]}}
  - image: ghcr.io/lab/b:1
    pin_digest: true
";
    let got = all_errors("f.yaml", text);
    assert_eq!(
        got,
        vec![
            "f.yaml:6:21: `site` of wrapper `a-w` in `enable.wrappers` must be true or false, found the string `yes`",
            "f.yaml:6:26: unknown key `projets` in wrapper `a-w` in `enable.wrappers` (allowed: `site`, `projects`); did you mean `projects`?",
            "f.yaml:7:9: a wrapper name in `enable.wrappers` is empty",
            "f.yaml:8:19: the top-level `verify` checks the cosign signature of every entry, and a `command-file` entry has none: give the image entries their own `verify` instead",
            "f.yaml:9:12: `lab/t` has no tag or digest, and the `image` of a `command-file` entry is the reference XNAT runs its commands with: name a tag (e.g. `lab/t:1.2`) or a digest",
            "f.yaml:10:5: `platform` applies to an image read from a source, and a `command-file` entry's commands are read from the file: drop `platform`",
            "f.yaml:11:30: wrapper `t-w` in `enable.wrappers` must be a mapping with `site:` and/or `projects:`, found a list",
            "f.yaml:13:5: unknown key `pin_digest` in an image entry (allowed: `image`, `command-file`, `platform`, `commands`, `pin-digest`, `sites`, `enable`, `verify`); did you mean `pin-digest`?",
        ]
    );
}

/// Every mistake `parse_all` reports for `text`, as shown.
fn all_errors(file: &str, text: &str) -> Vec<String> {
    parse_all(file, text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}
