//! The emulator's in-memory XNAT: users, tokens, sessions, stored commands, wrapper
//! enablement, request log and fault switches (§7.1), plus the [`Emulator`] handle tests use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;

use crate::config::{Config, Level, Token, User};
use crate::faults::Faults;

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
    fn new(config: &Config) -> Self {
        let mut projects = BTreeMap::new();
        for p in &config.projects {
            let access: HashMap<String, Level> = p.access.iter().cloned().collect();
            projects.insert(p.id.clone(), access);
        }
        State {
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

    /// A JSON dump of commands, enablement and session counts (also `GET /__emulator/state`).
    pub fn dump(&self) -> Value {
        let st = self.inner.state();
        let commands: Vec<Value> = st
            .commands
            .values()
            .map(|c| crate::commands::render(&self.inner.config, c))
            .collect();
        let mut site: Vec<(u64, Option<bool>)> =
            st.site_enabled.iter().map(|(k, v)| (*k, *v)).collect();
        site.sort();
        let mut project: Vec<(String, u64, Option<bool>)> = st
            .project_enabled
            .iter()
            .map(|((p, w), v)| (p.clone(), *w, *v))
            .collect();
        project.sort();
        let mut sessions: BTreeMap<String, usize> = BTreeMap::new();
        for u in st.sessions.values() {
            *sessions.entry(u.clone()).or_default() += 1;
        }
        serde_json::json!({
            "commands": commands,
            "site-enabled": site.iter().map(|(w, e)| serde_json::json!({"wrapper": w, "enabled": e})).collect::<Vec<_>>(),
            "project-enabled": project.iter().map(|(p, w, e)| serde_json::json!({"project": p, "wrapper": w, "enabled": e})).collect::<Vec<_>>(),
            "sessions": sessions,
            "writes": st.writes,
        })
    }
}
