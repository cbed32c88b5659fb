//! The optional per-plugin manifest, `NAME.toml` beside `NAME.wasm`: activity type renames and
//! the capabilities and limits the sandbox grants that plugin. Everything absent is denied or
//! defaulted; an unknown key is an error, so a typo never silently grants nothing.
//!
//! ```toml
//! memory_limit_mib = 128          # default 64
//! max_call_time = "2m"            # default: the host maximum (10m)
//! env = { GREETING = "Hi" }       # default: empty environment
//!
//! [rename]                        # WIT function name = Temporal activity type
//! greet-activity = "greet"
//!
//! [[dir]]                         # default: no files at all
//! host = "data"                   # relative to the plugins folder
//! guest = "/data"
//! writable = false
//!
//! # Network grants, secrets and their limits: see `outbound.rs`.
//! allowed_outbound_hosts = ["https://api.example.com"]   # default: nowhere
//! env_from_host = ["APEX_API_TOKEN"]                      # default: no secrets
//!
//! # Workflow plugins: how their workflow types move between builds.
//! versioning = "pinned"           # default: the host's --default-versioning-behavior
//! [versioning_by_type]            # per workflow type, over `versioning`
//! ApprovalWorkflow = "auto-upgrade"
//!
//! # WIT-typed workflow plugins: at most this many of its runs stay cached (default: no
//! # bound of its own), and options for the activities of an imported interface (see
//! # `activity_defaults.rs`).
//! max_cached_runs = 100
//! [activity_defaults."example:hello-activity/orders"]
//! start_to_close = "30s"
//! ```

mod activity_defaults;
mod dirs;
mod outbound;

pub use activity_defaults::ActivityOptions;
pub use dirs::GrantPolicy;
pub use outbound::{Outbound, OutboundLimits};

use crate::config::Versioning;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default memory limit of an activity instance.
pub const DEFAULT_MEMORY_LIMIT_MIB: u64 = 64;
/// Longest any activity call may run, whatever its timeouts say.
pub const HOST_MAX_CALL_TIME: Duration = Duration::from_secs(600);

/// A directory the plugin may see.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantedDir {
    /// Host path; relative paths are resolved against the plugins folder.
    pub host: PathBuf,
    /// Path the guest sees.
    pub guest: String,
    /// Read-write when true; read-only by default.
    #[serde(default)]
    pub writable: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    memory_limit_mib: Option<u64>,
    max_call_time: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(default)]
    dir: Vec<GrantedDir>,
    versioning: Option<String>,
    #[serde(default)]
    versioning_by_type: BTreeMap<String, String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    ca_files: Vec<PathBuf>,
    outbound: Option<outbound::RawLimits>,
    #[serde(default)]
    env_from_host: Vec<String>,
    isolation: Option<String>,
    max_cached_runs: Option<u64>,
    #[serde(default)]
    activity_defaults: BTreeMap<String, activity_defaults::RawDefaults>,
}

/// A plugin's manifest, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Memory limit per instance, bytes.
    pub memory_limit: u64,
    /// Longest one call may run.
    pub max_call_time: Duration,
    /// Environment variables the plugin sees.
    pub env: BTreeMap<String, String>,
    /// WIT function name → activity type.
    pub rename: BTreeMap<String, String>,
    /// Granted directories, host paths resolved.
    pub dirs: Vec<GrantedDir>,
    /// Versioning behaviour of this plugin's workflow types; `None` takes the host default.
    pub versioning: Option<Versioning>,
    /// Per workflow type, over `versioning`.
    pub versioning_by_type: BTreeMap<String, Versioning>,
    /// Where the plugin may connect, and how much.
    pub outbound: Outbound,
    /// Names of the host's secrets the plugin sees as environment variables (values are
    /// never part of the manifest, its digest or the build ID).
    pub env_from_host: Vec<String>,
    /// Whether activity calls get a fresh instance each (the default) or reuse kept ones.
    pub isolation: Isolation,
    /// A workflow plugin's bound on its cached runs (beyond it the least recently active
    /// are evicted and replay on their next task); `None`: only the host's bounds.
    pub max_cached_runs: Option<usize>,
    /// A WIT-typed workflow's activity options per imported interface.
    pub activity_defaults: BTreeMap<String, ActivityOptions>,
    /// SHA-256 of the manifest file, hex; `None` without one. Part of the build ID: a changed
    /// manifest changes what the plugin may do, so it is a new version like changed code.
    pub sha256: Option<String>,
    /// What the loader should warn about (grants outside the plugins folder).
    pub warnings: Vec<String>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            memory_limit: DEFAULT_MEMORY_LIMIT_MIB << 20,
            max_call_time: HOST_MAX_CALL_TIME,
            env: BTreeMap::new(),
            rename: BTreeMap::new(),
            dirs: Vec::new(),
            versioning: None,
            versioning_by_type: BTreeMap::new(),
            outbound: Outbound::default(),
            env_from_host: Vec::new(),
            isolation: Isolation::Fresh,
            max_cached_runs: None,
            activity_defaults: BTreeMap::new(),
            sha256: None,
            warnings: Vec::new(),
        }
    }
}

/// What one activity call may see of the calls before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// A fresh instance per call: nothing one call leaves behind reaches another.
    Fresh,
    /// Instances are kept and reused after calls that returned normally: faster (an
    /// interpreter starts once, not per call), but globals and caches persist between calls.
    /// For plugins written to be stateless.
    Reuse,
}

/// Why a manifest was refused; the message names the setting and the value where one is at
/// fault.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A folder, FIFO or device named like a manifest: reading a FIFO would block the loader.
    #[error("not a regular file (a folder, FIFO or device)")]
    NotAFile,
    /// The file exists but cannot be read.
    #[error("cannot read the manifest: {0}")]
    Unreadable(std::io::Error),
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("invalid manifest{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Syntax {
        /// The line at fault, when the parser knows it.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A well-typed value that is not allowed.
    #[error("{setting}: {reason}")]
    Invalid {
        /// The setting as written, `key = value`.
        setting: String,
        /// What is allowed instead.
        reason: String,
    },
}

/// A parser message with the quoted values it echoes replaced by `"…"`: a manifest error
/// reaches the log and the unauthenticated `/status`, and a misplaced value may be a token
/// (`env = "TOKEN=…"`). Keys and expected types stay.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        let (head, quoted) = rest.split_at(start + "string ".len());
        out.push_str(head);
        match quoted[1..].find('"') {
            Some(end) => {
                out.push_str("\"…\"");
                rest = &quoted[end + 2..];
            }
            None => {
                out.push_str(quoted);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        setting: setting.into(),
        reason: reason.into(),
    }
}

impl Manifest {
    /// Reads `path` if it exists; `Ok(None)` when there is no manifest.
    pub fn load(
        path: &Path,
        plugins_dir: &Path,
        policy: &GrantPolicy,
    ) -> Result<Option<Manifest>, ManifestError> {
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => return Err(ManifestError::NotAFile),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ManifestError::Unreadable(e)),
        };
        let mut manifest = Self::parse_with(&text, plugins_dir, policy)?;
        manifest.sha256 = Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            text.as_bytes(),
        )));
        Ok(Some(manifest))
    }

    /// Parses and validates manifest text under the default [`GrantPolicy`].
    pub fn parse(text: &str, plugins_dir: &Path) -> Result<Manifest, ManifestError> {
        Self::parse_with(text, plugins_dir, &GrantPolicy::default())
    }

    /// Parses and validates manifest text; folder grants are judged by `policy`.
    pub fn parse_with(
        text: &str,
        plugins_dir: &Path,
        policy: &GrantPolicy,
    ) -> Result<Manifest, ManifestError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            // The line says where, for messages (type errors) that do not name the key.
            line: e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            message: without_values(e.message()),
        })?;
        let mut m = Manifest::default();
        if let Some(mib) = raw.memory_limit_mib {
            let max = crate::engine::MAX_MEMORY_BYTES >> 20;
            if mib == 0 || mib > max {
                return Err(invalid(
                    format!("memory_limit_mib = {mib}"),
                    format!("must be between 1 and {max}"),
                ));
            }
            m.memory_limit = mib << 20;
        }
        if let Some(t) = raw.max_call_time {
            let setting = format!("max_call_time = {t:?}");
            let d = humantime::parse_duration(&t).map_err(|e| invalid(&setting, e.to_string()))?;
            if d.is_zero() || d > HOST_MAX_CALL_TIME {
                return Err(invalid(
                    setting,
                    format!("must be above 0 and at most {HOST_MAX_CALL_TIME:?}"),
                ));
            }
            m.max_call_time = d;
        }
        for (from, to) in &raw.rename {
            if to.trim().is_empty() {
                return Err(invalid(
                    format!("rename.{from}"),
                    "the activity type must not be empty",
                ));
            }
        }
        for d in raw.dir {
            let (granted, warning) = dirs::check(d, plugins_dir, policy)?;
            m.dirs.push(granted);
            m.warnings.extend(warning);
        }
        let versioning = |field: &str, v: &str| {
            Versioning::parse(v).ok_or_else(|| {
                invalid(
                    format!("{field} = {v:?}"),
                    "must be \"pinned\" or \"auto-upgrade\"",
                )
            })
        };
        m.versioning = raw
            .versioning
            .as_deref()
            .map(|v| versioning("versioning", v))
            .transpose()?;
        for (ty, v) in &raw.versioning_by_type {
            m.versioning_by_type.insert(
                ty.clone(),
                versioning(&format!("versioning_by_type.{ty}"), v)?,
            );
        }
        for name in raw.env.keys() {
            outbound::env_name("env", name)?;
        }
        for name in &raw.env_from_host {
            outbound::env_name("env_from_host", name)?;
            if raw.env.contains_key(name) {
                return Err(invalid(
                    format!("env_from_host {name:?}"),
                    "also set in `env`: a secret comes from the host, not from the manifest",
                ));
            }
        }
        m.outbound = Outbound::parse(
            &raw.allowed_outbound_hosts,
            raw.ca_files,
            raw.outbound,
            plugins_dir,
        )?;
        m.isolation = match raw.isolation.as_deref() {
            None | Some("fresh") => Isolation::Fresh,
            Some("reuse") => Isolation::Reuse,
            Some(other) => {
                return Err(invalid(
                    format!("isolation = {other:?}"),
                    "must be \"fresh\" (a new instance per call, the default) or \"reuse\" (instances kept between calls)",
                ));
            }
        };
        if let Some(n) = raw.max_cached_runs {
            if n == 0 {
                return Err(invalid(
                    "max_cached_runs = 0",
                    "must be at least 1 (leave it out for no bound of the plugin's own)",
                ));
            }
            m.max_cached_runs = Some(usize::try_from(n).unwrap_or(usize::MAX));
        }
        m.activity_defaults = activity_defaults::parse(raw.activity_defaults)?;
        m.env_from_host = raw.env_from_host;
        m.env = raw.env;
        m.rename = raw.rename;
        Ok(m)
    }
}

#[cfg(test)]
mod tests;
