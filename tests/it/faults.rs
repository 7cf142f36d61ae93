//! Seeded fault runs: `install`, `sync` and `sync --prune` of the `xnat-cmd` binary through a
//! [`FaultProxy`] in front of both the real CNCF registry and the XNAT emulator, with faults
//! (resets before and after the upstream acted, 500/502/503, 429 + `Retry-After`, slow
//! answers, truncated bodies) chosen per request by a seed. After every run the emulator's
//! state must hold the invariants: the desired state, or exit 1 with an `error:` line; the
//! next clean run converges; never a duplicate command; never an update that loses a
//! wrapper's enablement; never a removal outside the `prune:` globs.
//!
//! One registry and one emulator per worker are reused across runs (state reset between
//! runs by deleting every command through the emulator's xapi). `XNAT_CMD_BACKOFF_MS=1`
//! keeps the client's retry waits short. A failing seed is printed; `XNAT_CMD_FAULT_SEED=N`
//! replays exactly that seed (and prints the faults it injected), `XNAT_CMD_FAULT_RUNS=M`
//! changes how many seeds the run covers (default [`RUNS`]), `XNAT_CMD_FAULT_LOG=1` prints
//! every seed's faults and stderr. A seed replays the same faults in any run: the proxy keys
//! its choice on the request path without query or ids (see `fault_proxy`).
//!
//! The runs use the default `--xnat-concurrency` (several commands written at once), so the
//! invariants hold for concurrent writes. Requests of two commands to paths that differ only in
//! ids share a key, so which command a replayed fault hits may change with arrival order;
//! `XNAT_CMD_FAULT_CONCURRENCY=1` replays a seed with one command after another.

use std::sync::Arc;

use serde_json::{json, Value};
use xnat_cmd_testkit::fault_proxy::{FaultPlan, FaultProxy};

use crate::support::emulator::Emulator;
use crate::support::images::{ImageBuilder, Target};
use crate::support::registry::{Mode, Registry};
use crate::support::Sandbox;

/// Seeded runs per CI run: half `install` (over nothing / over `lab/a:1`), a quarter each
/// `sync` and `sync --prune`.
const RUNS: u64 = 210;
/// Seeds kept as regression cases (run even when `XNAT_CMD_FAULT_RUNS` is lower), each with
/// the bug it caught when the fault runs were written.
const REGRESSIONS: &[(u64, &str)] = &[
    // A create whose answer was reset after XNAT stored it, sent again: XNAT's 400 "This
    // command duplicates a command already in the database" (the client now looks it up).
    (40, "lost create"),
    (44, "lost create"),
    // A DELETE of prune whose answer was lost: the retry's 404 means done.
    (47, "lost delete"),
    // A registry body cut off mid-answer (was not retried) and an update's answer cut off.
    (10, "registry body cut off; lost update"),
    // A site enablement whose answer was lost (the XNAT client had no retries at all).
    (24, "lost enable"),
    // A connection lost mid-run after retries: was "cannot reach XNAT … check --xnat".
    (62, "connection lost mid-run"),
];

/// Runs in parallel, each with its own emulator and proxies.
const WORKERS: u64 = 2;

/// Commands named `names`, each with one wrapper `<name>-w`; `version` tells tags apart.
fn label(names: &[&str], version: &str) -> String {
    Value::Array(
        names
            .iter()
            .map(|n| {
                json!({
                    "name": n, "version": version, "type": "docker",
                    "command-line": format!("run {n} {version}"),
                    "xnat": [{"name": format!("{n}-w"), "contexts": ["xnat:imageSessionData"],
                              "external-inputs": [{"name": "session", "type": "Session"}]}]
                })
            })
            .collect(),
    )
    .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// `install lab/a:2 --enable-site --enable-project DEMO` over nothing or over `lab/a:1`.
    Install { over_a1: bool },
    /// `sync` of a fleet with `lab/a:2` (site + DEMO) and `lab/b:1` (site) over `lab/a:1`
    /// (enabled) and `other/c:1`.
    Sync,
    /// `sync --prune` of `lab/a:2` (only `a1`) and `lab/b:1`, `prune: [<registry>/lab/*]`,
    /// over `lab/a:1`, `lab/d:1` and `other/c:1`.
    Prune,
}

impl Scenario {
    fn of(seed: u64) -> Self {
        match seed % 4 {
            0 => Scenario::Install { over_a1: false },
            1 => Scenario::Install { over_a1: true },
            2 => Scenario::Sync,
            _ => Scenario::Prune,
        }
    }
}

/// A command as the invariants see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cmd {
    id: u64,
    name: String,
    image: String,
    /// `(wrapper id, enabled site-wide, enabled in DEMO)`.
    wrappers: Vec<(u64, bool, bool)>,
}

fn snapshot(emu: &Emulator) -> Vec<Cmd> {
    let state = emu.state();
    // The state document: `site_enabled` {wrapper: flag}, `project_enabled` {project: {wrapper: flag}}.
    let flag = |w: u64, project: Option<&str>| {
        let w = w.to_string();
        match project {
            None => state["site_enabled"][&w] == true,
            Some(p) => state["project_enabled"][p][&w] == true,
        }
    };
    emu.commands()
        .iter()
        .map(|c| Cmd {
            id: c["id"].as_u64().unwrap_or(0),
            name: c["name"].as_str().unwrap_or("").to_string(),
            image: c["image"].as_str().unwrap_or("").to_string(),
            wrappers: c["xnat"]
                .as_array()
                .map(|ws| {
                    ws.iter()
                        .filter_map(|w| w["id"].as_u64())
                        .map(|w| {
                            let site = flag(w, None);
                            (w, site, site && flag(w, Some("DEMO")))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// One worker's services: an emulator, a proxy in front of it and one in front of the
/// shared registry, under one fault plan.
struct Rig {
    emu: Emulator,
    plan: Arc<FaultPlan>,
    xnat_proxy: FaultProxy,
    registry_proxy: FaultProxy,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    fn new(registry: &Registry) -> Rig {
        let emu = Emulator::start(&[]);
        let plan = FaultPlan::new();
        let emu_addr = emu
            .url
            .trim_start_matches("http://")
            .parse()
            .expect("emulator address");
        let reg_addr = registry.addr.parse().expect("registry address");
        Rig {
            xnat_proxy: FaultProxy::start("xnat", emu_addr, plan.clone()),
            registry_proxy: FaultProxy::start("registry", reg_addr, plan.clone()),
            emu,
            plan,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    fn image(&self, repo_tag: &str) -> String {
        format!("{}/{repo_tag}", self.registry_proxy.addr)
    }

    /// Delete every command straight on the emulator (no proxy, no faults).
    fn reset(&self) {
        let base = self.emu.url.clone();
        let ids: Vec<u64> = self
            .emu
            .commands()
            .iter()
            .filter_map(|c| c["id"].as_u64())
            .collect();
        self.rt.block_on(async {
            let http = reqwest::Client::new();
            for id in ids {
                let r = http
                    .delete(format!("{base}/xapi/commands/{id}"))
                    .basic_auth("admin", Some("admin"))
                    .send()
                    .await
                    .expect("delete a command");
                assert!(
                    r.status().is_success(),
                    "reset: DELETE {id}: {}",
                    r.status()
                );
            }
        });
        assert!(self.emu.commands().is_empty());
    }

    /// `xnat-cmd ARGS` through the XNAT proxy, in a fresh sandbox (no registry cache).
    fn xnat_cmd(&self, sb: &Sandbox) -> assert_cmd::Command {
        let mut c = sb.cmd();
        c.env("XNAT_HOST", format!("http://{}", self.xnat_proxy.addr))
            .env("XNAT_USER", "admin")
            .env("XNAT_PASS", "admin")
            .env("XNAT_CMD_BACKOFF_MS", "1");
        c
    }

    fn sync(&self, fleet_text: &str, extra: &[&str]) -> std::process::Output {
        let sb = Sandbox::new();
        let fleet = sb.path().join("fleet.yaml");
        std::fs::write(&fleet, fleet_text).expect("write fleet");
        let mut c = self.xnat_cmd(&sb);
        c.arg("sync").arg(&fleet).args(extra);
        concurrency(&mut c);
        c.output().expect("run xnat-cmd sync")
    }

    fn install(&self, repo_tag: &str) -> std::process::Output {
        let sb = Sandbox::new();
        let mut c = self.xnat_cmd(&sb);
        c.arg("install").arg(self.image(repo_tag)).args([
            "--enable-site",
            "--enable-project",
            "DEMO",
        ]);
        concurrency(&mut c);
        c.output().expect("run xnat-cmd install")
    }

    fn entry(&self, repo_tag: &str, extra: &str) -> String {
        format!("  - image: {}\n{extra}", self.image(repo_tag))
    }

    /// The fleet the scenario's run applies.
    fn fleet(&self, s: Scenario) -> String {
        let site_demo = "    enable: {site: true, projects: [DEMO]}\n";
        match s {
            Scenario::Sync => format!(
                "images:\n{}{}",
                self.entry("lab/a:2", site_demo),
                self.entry("lab/b:1", "    enable: {site: true}\n")
            ),
            Scenario::Prune => format!(
                "images:\n{}{}prune: [\"{}/lab/*\"]\n",
                self.entry("lab/a:2", &format!("    commands: [a1]\n{site_demo}")),
                self.entry("lab/b:1", "    enable: {site: true}\n"),
                self.registry_proxy.addr
            ),
            Scenario::Install { .. } => String::new(),
        }
    }

    /// Put the emulator in the scenario's starting state, with no faults.
    fn prepare(&self, s: Scenario) {
        self.plan.disarm();
        self.reset();
        let site_demo = "    enable: {site: true, projects: [DEMO]}\n";
        let before = match s {
            Scenario::Install { over_a1: false } => return,
            Scenario::Install { over_a1: true } => {
                format!("images:\n{}", self.entry("lab/a:1", site_demo))
            }
            Scenario::Sync => format!(
                "images:\n{}{}",
                self.entry("lab/a:1", site_demo),
                self.entry("other/c:1", "")
            ),
            Scenario::Prune => format!(
                "images:\n{}{}{}",
                self.entry("lab/a:1", site_demo),
                self.entry("lab/d:1", ""),
                self.entry("other/c:1", "")
            ),
        };
        let out = self.sync(&before, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "setup sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The scenario's run.
    fn act(&self, s: Scenario) -> std::process::Output {
        match s {
            Scenario::Install { .. } => self.install("lab/a:2"),
            Scenario::Sync => self.sync(&self.fleet(s), &[]),
            Scenario::Prune => self.sync(&self.fleet(s), &["--prune"]),
        }
    }

    /// Differences from the desired state (empty = reached).
    fn desired(&self, s: Scenario, after: &[Cmd]) -> Vec<String> {
        // (name, image tag, enabled in DEMO as well as site-wide, must be site-enabled)
        let want: Vec<(&str, &str, bool, bool)> = match s {
            Scenario::Install { .. } => {
                vec![("a1", "lab/a:2", true, true), ("a2", "lab/a:2", true, true)]
            }
            Scenario::Sync => vec![
                ("a1", "lab/a:2", true, true),
                ("a2", "lab/a:2", true, true),
                ("b1", "lab/b:1", false, true),
                ("c1", "other/c:1", false, false),
            ],
            Scenario::Prune => vec![
                ("a1", "lab/a:2", true, true),
                // No a2 (the fleet keeps only a1 of lab/a) and no d1: both pruned.
                ("b1", "lab/b:1", false, true),
                ("c1", "other/c:1", false, false),
            ],
        };
        let mut diffs = Vec::new();
        for (name, tag, demo, site) in &want {
            let found: Vec<&Cmd> = after.iter().filter(|c| c.name == *name).collect();
            let [c] = found[..] else {
                diffs.push(format!("{} commands named {name}", found.len()));
                continue;
            };
            if c.image != self.image(tag) {
                diffs.push(format!("{name} has image {} (want {tag})", c.image));
            }
            for (w, on_site, on_demo) in &c.wrappers {
                if *site && !on_site {
                    diffs.push(format!("{name}: wrapper {w} not enabled site-wide"));
                }
                if *demo && !on_demo {
                    diffs.push(format!("{name}: wrapper {w} not enabled in DEMO"));
                }
            }
        }
        let names: Vec<&str> = want.iter().map(|w| w.0).collect();
        for c in after {
            if !names.contains(&c.name.as_str()) {
                diffs.push(format!("{} (id {}) should not be installed", c.name, c.id));
            }
        }
        diffs
    }
}

/// Invariants that hold after any run, faulted or not, against the state before it.
fn invariants(s: Scenario, before: &[Cmd], after: &[Cmd]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut names: Vec<&str> = after.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let n = after.iter().filter(|c| c.name == name).count();
        if n > 1 {
            bad.push(format!("duplicate: {n} commands named {name}"));
        }
    }
    let prunable = |c: &Cmd| s == Scenario::Prune && (c.name == "a2" || c.name == "d1");
    for b in before {
        match after.iter().find(|a| a.id == b.id) {
            None if prunable(b) => {}
            None => bad.push(format!(
                "{} (id {}, {}) was removed, though no run of this scenario may remove it",
                b.name, b.id, b.image
            )),
            Some(a) => {
                for (w, site, demo) in &b.wrappers {
                    let now = a.wrappers.iter().find(|x| x.0 == *w);
                    match now {
                        None => {
                            bad.push(format!("{}: wrapper {w} disappeared in an update", b.name))
                        }
                        Some((_, s2, d2)) => {
                            if *site && !s2 {
                                bad.push(format!(
                                    "{}: wrapper {w} lost its site enablement",
                                    b.name
                                ));
                            }
                            if *demo && !d2 {
                                bad.push(format!(
                                    "{}: wrapper {w} lost its DEMO enablement",
                                    b.name
                                ));
                            }
                        }
                    }
                }
            }
        }
        // The same command re-created under a new id would have lost its enablement.
        if !prunable(b)
            && !after.iter().any(|a| a.id == b.id)
            && after.iter().any(|a| a.name == b.name)
        {
            bad.push(format!(
                "{} was replaced instead of updated in place",
                b.name
            ));
        }
    }
    bad
}

/// How many images `sync` says it could not read (`read 2 images (1 failed)`).
fn unread_images(out: &std::process::Output) -> u64 {
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("read ")?
                .split_once(" images (")?
                .1
                .strip_suffix(" failed)")
        })
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum()
}

/// What a failed run must have said: exit 1 and an `error:` line, never a panic.
fn clear_failure(out: &std::process::Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(1) {
        return Some(format!("exit {:?} (want 0 or 1)", out.status.code()));
    }
    if stderr.contains("panicked") {
        return Some("a panic".into());
    }
    // XNAT's answer to a create sent again after its first answer was lost: the client must
    // look the command up before it creates it again.
    if stderr.contains("duplicates a command already in the database") {
        return Some("a lost create was sent again blindly".into());
    }
    let said = stderr
        .lines()
        .chain(stdout.lines())
        .any(|l| l.trim_start().starts_with("error:") || l.contains("error:"));
    (!said).then(|| "no `error:` line".into())
}

/// What a seeded run that kept the invariants did.
struct Ran {
    /// Exit 0 despite the faults (retries absorbed them).
    succeeded: bool,
    faults: usize,
    /// The injected faults' kinds (`ResetAfter`, `Status`, …).
    kinds: Vec<String>,
    /// XNAT sessions the run left open (a login or logout whose answer was lost).
    leaked_sessions: u64,
}

fn sessions(emu: &Emulator) -> u64 {
    emu.state()["sessions"]["admin"].as_u64().unwrap_or(0)
}

/// One seeded run and its clean follow-up; the broken invariants, if any.
fn run_seed(rig: &Rig, seed: u64) -> Result<Ran, String> {
    let s = Scenario::of(seed);
    // 5, 10, 20 or 40 % of requests faulted (40 %: runs that fail mid-way are common).
    let rate = [5, 10, 20, 40][(seed / 4 % 4) as usize];
    rig.prepare(s);
    let before = snapshot(&rig.emu);
    let sessions_before = sessions(&rig.emu);
    rig.plan.arm(seed, rate);
    // Half the `sync --prune` runs (an eighth of all) with the registry mostly failing, so
    // images go unread and the site must not be pruned at all.
    let registry_down = s == Scenario::Prune && seed % 8 == 3;
    if registry_down {
        rig.plan.set_rate("registry", 70);
    }
    let out = rig.act(s);
    rig.plan.disarm();
    let leaked_sessions = sessions(&rig.emu).saturating_sub(sessions_before);
    let injected = rig.plan.injected();
    let after = snapshot(&rig.emu);
    let mut bad = invariants(s, &before, &after);
    if unread_images(&out) > 0 && after.len() < before.len() {
        bad.push("pruned although a declared image could not be read".into());
    }
    match out.status.code() {
        Some(0) => bad.extend(
            rig.desired(s, &after)
                .into_iter()
                .map(|d| format!("exit 0 but {d}")),
        ),
        _ => bad.extend(clear_failure(&out)),
    }
    // The next clean run converges.
    let clean = rig.act(s);
    let converged = snapshot(&rig.emu);
    if clean.status.code() != Some(0) {
        bad.push(format!(
            "the clean re-run failed: {}",
            String::from_utf8_lossy(&clean.stderr).trim()
        ));
    }
    bad.extend(
        invariants(s, &before, &converged)
            .into_iter()
            .map(|d| format!("after the clean re-run: {d}")),
    );
    bad.extend(
        rig.desired(s, &converged)
            .into_iter()
            .map(|d| format!("after the clean re-run: {d}")),
    );
    if std::env::var_os("XNAT_CMD_FAULT_SEED").is_some()
        || std::env::var_os("XNAT_CMD_FAULT_LOG").is_some()
    {
        eprintln!(
            "seed {seed} ({s:?}, {rate}% faults{}): exit {:?}\n  {}\n{}",
            if registry_down { ", registry 70%" } else { "" },
            out.status.code(),
            injected.join("\n  "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if bad.is_empty() {
        return Ok(Ran {
            succeeded: out.status.success(),
            faults: injected.len(),
            kinds: injected
                .iter()
                .filter_map(|l| l.rsplit("→ ").next())
                .map(|k| k.split(['(', ' ']).next().unwrap_or(k).to_string())
                .collect(),
            leaked_sessions,
        });
    }
    Err(format!(
        "seed {seed} ({s:?}, {rate}% faults{}): {}\n  faults injected:\n    {}\n  exit {:?}, stderr:\n{}\n  replay: XNAT_CMD_FAULT_SEED={seed} cargo test -p xnat-cmd --test it faults",
        if registry_down { ", registry 70%" } else { "" },
        bad.join("; "),
        injected.join("\n    "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// `--xnat-concurrency` from `XNAT_CMD_FAULT_CONCURRENCY` when set (a replay in order);
/// else the default.
fn concurrency(c: &mut assert_cmd::Command) {
    if let Some(n) = env_u64("XNAT_CMD_FAULT_CONCURRENCY") {
        c.args(["--xnat-concurrency", &n.to_string()]);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
    )
}

#[test]
fn seeded_fault_runs_of_install_and_sync_keep_the_invariants() {
    let registry = Registry::start(Mode::Plain);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let images = [
        ("lab/a", "1", label(&["a1", "a2"], "1")),
        ("lab/a", "2", label(&["a1", "a2"], "2")),
        ("lab/b", "1", label(&["b1"], "1")),
        ("lab/d", "1", label(&["d1"], "1")),
        ("other/c", "1", label(&["c1"], "1")),
    ];
    rt.block_on(async {
        for (repo, tag, commands) in &images {
            let img = ImageBuilder::new()
                .label("org.nrg.commands", commands)
                .build();
            registry.push(repo, tag, Target::Image(&img)).await;
        }
    });
    let seeds: Vec<u64> = match env_u64("XNAT_CMD_FAULT_SEED") {
        Some(seed) => vec![seed],
        None => {
            let runs = env_u64("XNAT_CMD_FAULT_RUNS").unwrap_or(RUNS);
            let mut seeds: Vec<u64> = (1..=runs).collect();
            seeds.extend(REGRESSIONS.iter().map(|r| r.0).filter(|s| *s > runs));
            seeds
        }
    };
    let replay = seeds.len() == 1;
    let started = std::time::Instant::now();
    let (failures, ran): (Vec<String>, Vec<Ran>) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS.min(seeds.len() as u64))
            .map(|w| {
                let mine: Vec<u64> = seeds
                    .iter()
                    .copied()
                    .filter(|s| s % WORKERS == w || replay)
                    .collect();
                let registry = &registry;
                scope.spawn(move || {
                    let rig = Rig::new(registry);
                    let mut failed = Vec::new();
                    let mut ran = Vec::new();
                    for seed in mine {
                        match run_seed(&rig, seed) {
                            Ok(r) => ran.push(r),
                            Err(e) => failed.push(e),
                        }
                    }
                    (failed, ran)
                })
            })
            .collect();
        let mut all = (Vec::new(), Vec::new());
        for w in workers {
            let (f, r) = w.join().expect("worker");
            all.0.extend(f);
            all.1.extend(r);
        }
        all
    });
    eprintln!(
        "fault runs: {} seeds in {:.1} s; {} faults injected; {} runs exited 0 despite faults, {} exited 1 with a clear message; {} broke an invariant",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        ran.iter().map(|r| r.faults).sum::<usize>(),
        ran.iter().filter(|r| r.succeeded && r.faults > 0).count(),
        ran.iter().filter(|r| !r.succeeded).count(),
        failures.len()
    );
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for k in ran.iter().flat_map(|r| &r.kinds) {
        *kinds.entry(k).or_default() += 1;
    }
    eprintln!(
        "fault runs: faults by kind {kinds:?}; XNAT sessions left open: {}",
        ran.iter().map(|r| r.leaked_sessions).sum::<u64>()
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeded runs broke an invariant:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}
