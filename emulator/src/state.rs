//! The emulator's in-memory XNAT: users, tokens, sessions, stored commands, wrapper
//! enablement, request log and fault switches (§7.1), plus the [`Emulator`] handle tests use.
//! It is seeded from the configuration or a state document ([`Snapshot`]) and dumped back as
//! one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Level, Token, User};
use crate::faults::Faults;
use crate::snapshot::{self, Access, Counters, Snapshot, TokenEntry, UserEntry};

// The state document's access words and the levels permission checks compare.
impl From<Access> for Level {
    fn from(a: Access) -> Level {
        match a {
            Access::Owner => Level::Delete,
            Access::Member => Level::Edit,
            Access::Collaborator => Level::Read,
        }
    }
}

impl From<Level> for Access {
    fn from(l: Level) -> Access {
        match l {
            Level::Delete => Access::Owner,
            Level::Edit => Access::Member,
            Level::Read => Access::Collaborator,
        }
    }
}

/// One request as the emulator saw it (path relative to the context path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

#[derive(Debug)]
pub(crate) struct State {
    pub users: BTreeMap<String, User>,
    pub tokens: HashMap<String, Token>,
    /// JSESSIONID → user name.
    pub sessions: HashMap<String, String>,
    /// project id → user → level.
    pub projects: BTreeMap<String, HashMap<String, Level>>,
    /// Command id → stored (normalised) command; ids ascend, so this is insertion order.
    pub commands: BTreeMap<u64, Value>,
    pub next_command_id: u64,
    pub next_wrapper_id: u64,
    /// Site records: absent = no record (disabled).
    pub site_enabled: HashMap<u64, Option<bool>>,
    pub project_enabled: HashMap<(String, u64), Option<bool>>,
    /// Input/output configuration of a site record (XNAT keeps it in the same config
    /// document as the record's `enabled`; split here so enable/disable cannot touch it).
    pub site_config: HashMap<u64, Value>,
    /// The same for project records.
    pub project_config: HashMap<(String, u64), Value>,
    pub log: Vec<LoggedRequest>,
    /// Writes (POST/PUT/DELETE under /xapi) seen so far, including failed ones.
    pub writes: u64,
    pub faults: Faults,
}

impl State {
    pub(crate) fn new(config: &Config) -> Self {
        let mut projects = BTreeMap::new();
        for p in &config.projects {
            let access: HashMap<String, Level> = p.access.iter().cloned().collect();
            projects.insert(p.id.clone(), access);
        }
        let mut st = State {
            users: config
                .users
                .iter()
                .map(|u| (u.name.clone(), u.clone()))
                .collect(),
            tokens: config
                .tokens
                .iter()
                .map(|t| (t.alias.clone(), t.clone()))
                .collect(),
            sessions: HashMap::new(),
            projects,
            commands: BTreeMap::new(),
            next_command_id: 1,
            next_wrapper_id: 1,
            site_enabled: HashMap::new(),
            project_enabled: HashMap::new(),
            site_config: HashMap::new(),
            project_config: HashMap::new(),
            log: Vec::new(),
            writes: 0,
            faults: config.faults.clone(),
        };
        if let Some(seed) = &config.state {
            st.load(seed);
        }
        st
    }

    /// Replace everything but the request log and faults with a state document's content.
    pub(crate) fn load(&mut self, s: &Snapshot) {
        self.users = s
            .users
            .iter()
            .map(|(name, u)| {
                let roles: Vec<&str> = u.roles.iter().map(String::as_str).collect();
                let mut user = User::new(name, &u.password, &roles);
                user.enabled = u.enabled;
                user.password_expired = u.password_expired;
                (name.clone(), user)
            })
            .collect();
        self.tokens = s
            .tokens
            .iter()
            .map(|(alias, t)| {
                let token = Token {
                    alias: alias.clone(),
                    secret: t.secret.clone(),
                    user: t.user.clone(),
                };
                (alias.clone(), token)
            })
            .collect();
        self.projects = s
            .projects
            .iter()
            .map(|(id, access)| {
                let levels: HashMap<String, Level> = access
                    .iter()
                    .map(|(u, a)| (u.clone(), Level::from(*a)))
                    .collect();
                (id.clone(), levels)
            })
            .collect();
        self.commands = s
            .commands
            .iter()
            .filter_map(|c| Some((c.get("id").and_then(Value::as_u64)?, c.clone())))
            .collect();
        let max_command = self.commands.keys().max().copied().unwrap_or(0);
        let max_wrapper = s
            .commands
            .iter()
            .flat_map(snapshot::wrapper_ids)
            .filter_map(|(_, w)| u64::try_from(w?).ok())
            .max()
            .unwrap_or(0);
        self.next_command_id = s.counters.next_command_id.max(max_command + 1);
        self.next_wrapper_id = s.counters.next_wrapper_id.max(max_wrapper + 1);
        self.writes = s.counters.writes;
        self.site_enabled = s.site_enabled.iter().map(|(w, e)| (*w, *e)).collect();
        self.project_enabled = s
            .project_enabled
            .iter()
            .flat_map(|(p, ws)| ws.iter().map(move |(w, e)| ((p.clone(), *w), *e)))
            .collect();
        self.site_config = s.site_config.iter().map(|(w, c)| (*w, c.clone())).collect();
        self.project_config = s
            .project_config
            .iter()
            .flat_map(|(p, ws)| ws.iter().map(move |(w, c)| ((p.clone(), *w), c.clone())))
            .collect();
        self.sessions = s
            .sessions
            .iter()
            .map(|(id, u)| (id.clone(), u.clone()))
            .collect();
    }

    /// The store as a state document; `render` turns a stored command into what GET returns.
    pub(crate) fn snapshot(&self, render: impl Fn(&Value) -> Value) -> Snapshot {
        let mut project_enabled: BTreeMap<String, BTreeMap<u64, Option<bool>>> = BTreeMap::new();
        for ((p, w), e) in &self.project_enabled {
            project_enabled.entry(p.clone()).or_default().insert(*w, *e);
        }
        let mut project_config: BTreeMap<String, BTreeMap<u64, Value>> = BTreeMap::new();
        for ((p, w), c) in &self.project_config {
            project_config
                .entry(p.clone())
                .or_default()
                .insert(*w, c.clone());
        }
        Snapshot {
            users: self
                .users
                .iter()
                .map(|(name, u)| {
                    let entry = UserEntry {
                        password: u.password.clone(),
                        roles: u.roles.clone(),
                        enabled: u.enabled,
                        password_expired: u.password_expired,
                    };
                    (name.clone(), entry)
                })
                .collect(),
            tokens: self
                .tokens
                .iter()
                .map(|(alias, t)| {
                    let entry = TokenEntry {
                        secret: t.secret.clone(),
                        user: t.user.clone(),
                    };
                    (alias.clone(), entry)
                })
                .collect(),
            projects: self
                .projects
                .iter()
                .map(|(id, access)| {
                    let words = access
                        .iter()
                        .map(|(u, l)| (u.clone(), Access::from(*l)))
                        .collect();
                    (id.clone(), words)
                })
                .collect(),
            commands: self.commands.values().map(render).collect(),
            site_enabled: self.site_enabled.iter().map(|(w, e)| (*w, *e)).collect(),
            project_enabled,
            site_config: self
                .site_config
                .iter()
                .map(|(w, c)| (*w, c.clone()))
                .collect(),
            project_config,
            sessions: self
                .sessions
                .iter()
                .map(|(id, u)| (id.clone(), u.clone()))
                .collect(),
            counters: Counters {
                next_command_id: self.next_command_id,
                next_wrapper_id: self.next_wrapper_id,
                writes: self.writes,
            },
        }
    }

    /// Site enabled = a record exists and it is not `false` (§1.3).
    pub fn site_is_enabled(&self, wrapper: u64) -> bool {
        matches!(self.site_enabled.get(&wrapper), Some(flag) if *flag != Some(false))
    }

    /// Project enabled = site enabled AND the project record says `true`.
    pub fn project_is_enabled(&self, project: &str, wrapper: u64) -> bool {
        self.site_is_enabled(wrapper)
            && self.project_enabled.get(&(project.to_string(), wrapper)) == Some(&Some(true))
    }

    pub fn sessions_of(&self, user: &str) -> usize {
        self.sessions.values().filter(|u| *u == user).count()
    }

    pub fn alloc_wrapper_id(&mut self) -> u64 {
        let id = self.next_wrapper_id;
        self.next_wrapper_id += 1;
        id
    }
}

/// Configuration plus mutable state, shared by every handler.
#[derive(Debug)]
pub(crate) struct Inner {
    pub config: Config,
    state: Mutex<State>,
}

impl Inner {
    /// Lock the state; a handler that panicked while holding the lock leaves the data usable,
    /// so a poisoned lock is simply taken over.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Path prefix of every URL the emulator hands out (`""` or `/xnat`).
    pub fn base(&self) -> &str {
        &self.config.context_path
    }
}

/// Test access to a running emulator's state and counters.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl Emulator {
    pub(crate) fn new(config: Config) -> Self {
        let state = Mutex::new(State::new(&config));
        Emulator {
            inner: Arc::new(Inner { config, state }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Create a project, as an XNAT user would in the UI (for tests of `projects: all`).
    pub fn add_project(&self, id: &str) {
        self.inner
            .state()
            .projects
            .entry(id.to_string())
            .or_default();
    }

    /// Set a wrapper's own enablement record site-wide (`project` None) or in a project, as
    /// an administrator would in the UI (for tests of changes made outside xnat-cmd).
    pub fn set_enabled(&self, project: Option<&str>, wrapper: u64, on: bool) {
        let mut st = self.inner.state();
        match project {
            None => {
                st.site_enabled.insert(wrapper, Some(on));
            }
            Some(p) => {
                st.project_enabled
                    .insert((p.to_string(), wrapper), Some(on));
            }
        }
    }

    /// Every request so far (test hooks excluded), oldest first.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.inner.state().log.clone()
    }

    /// Writes (POST/PUT/DELETE under `/xapi`) so far.
    pub fn writes(&self) -> u64 {
        self.inner.state().writes
    }

    /// Forget the request log and write counter (state is kept).
    pub fn reset_log(&self) {
        let mut st = self.inner.state();
        st.log.clear();
        st.writes = 0;
    }

    pub fn set_faults(&self, faults: Faults) {
        self.inner.state().faults = faults;
    }

    /// Stored commands as GET would return them, by id.
    pub fn commands(&self) -> Vec<Value> {
        let st = self.inner.state();
        st.commands
            .values()
            .map(|c| crate::commands::render(&self.inner.config, c))
            .collect()
    }

    pub fn site_enabled(&self, wrapper: u64) -> bool {
        self.inner.state().site_is_enabled(wrapper)
    }

    pub fn project_enabled(&self, project: &str, wrapper: u64) -> bool {
        self.inner.state().project_is_enabled(project, wrapper)
    }

    pub fn session_count(&self, user: &str) -> usize {
        self.inner.state().sessions_of(user)
    }

    /// The whole state as a document (also `GET /__emulator/state`); loading it with
    /// `--state` (or [`Config::state`]) gives the same state back.
    pub fn snapshot(&self) -> Snapshot {
        let config = &self.inner.config;
        self.inner
            .state()
            .snapshot(|c| crate::commands::render(config, c))
    }

    /// [`Emulator::snapshot`] as JSON.
    pub fn dump(&self) -> Value {
        self.snapshot().to_json()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn counters_are_raised_past_loaded_ids_and_the_document_comes_back() {
        let s = Snapshot::from_str_named(
            r#"{"users": {"a": {"password": "p"}},
                "commands": [{"id": 7, "xnat": [{"id": 9}]}],
                "site_enabled": {"9": null}, "project_enabled": {"P": {"9": true}},
                "counters": {"next_command_id": 2}}"#,
            Path::new("s.json"),
        )
        .unwrap();
        let mut st = State::new(&Config::default());
        st.load(&s);
        assert_eq!((st.next_command_id, st.next_wrapper_id), (8, 10));
        // A site record without a flag counts as enabled (§1.3).
        assert!(st.site_is_enabled(9) && st.project_is_enabled("P", 9));
        let back = st.snapshot(Value::clone);
        let mut want = s.clone();
        want.counters.next_command_id = 8;
        want.counters.next_wrapper_id = 10;
        assert_eq!(back, want);
    }
}
