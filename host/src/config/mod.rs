//! Configuration: flags over environment variables over an optional TOML file (`--config`)
//! over defaults, resolved and validated once at start.
//!
//! The staging is deliberate: [`spec`] lists every setting once; [`sources`] finds each
//! setting's raw text and remembers where it came from; [`Config::resolve`] parses and
//! cross-checks the lot and returns the first problem with the flag, variable or file key to
//! fix. Nothing else in the host reads the environment.

mod listen;
mod machine;
mod otlp;
mod parse;
mod rollout;
pub use rollout::RolloutPolicy;
pub mod profile;
mod redacted;
pub mod sources;
pub mod spec;
mod tls;

use listen::shares_port;
pub use listen::status_addr;
pub use otlp::{OtlpConfig, OtlpWire};
pub use tls::{Pem, TlsConfig};

use sources::{Raw, Sources};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// A configuration problem; the process exits with code 2 on any of them.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value did not parse or failed validation.
    #[error("{origin}={value}: {reason}")]
    Invalid {
        /// The flag, variable or file key the value came from.
        origin: String,
        /// The offending text (redacted for secrets).
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The `--config` file could not be read or parsed, or holds an unknown key.
    #[error("config file {}: {reason}", path.display())]
    File {
        /// The file given with `--config`.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Settings that are valid alone but not together.
    #[error("{0}")]
    Conflict(String),
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// How a workflow type moves between worker versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versioning {
    /// A run stays on the build it started on; a new build only gets new runs.
    #[default]
    Pinned,
    /// A run moves to the current build at its next workflow task (its code must replay the
    /// old history: patch it).
    AutoUpgrade,
}

impl Versioning {
    /// Parses `pinned` or `auto-upgrade` (also `auto_upgrade`, any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "pinned" => Some(Versioning::Pinned),
            "auto-upgrade" => Some(Versioning::AutoUpgrade),
            _ => None,
        }
    }

    /// The name used in settings, manifests and `/status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Versioning::Pinned => "pinned",
            Versioning::AutoUpgrade => "auto-upgrade",
        }
    }
}

/// The resolved configuration of a worker host. Every field names its flag and variable; the
/// defaults are those of `spec::SPECS`.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Temporal frontend (`--address`, `TEMPORAL_ADDRESS`/`TEMPORAL_SERVER_URL`, default
    /// `localhost:7233`). `https` when TLS is on.
    pub address: Url,
    /// Namespace (`--namespace`, `TEMPORAL_NAMESPACE`, default `default`).
    pub namespace: String,
    /// Task queue (`--task-queue`, `TEMPORAL_TASK_QUEUE`, default `apex-ingestion-queue`).
    pub task_queue: String,
    /// Build ID, the prefix of content-derived IDs (`--build-id`, `TEMPORAL_WORKER_BUILD_ID`,
    /// default `v1.0.0`).
    pub build_id: String,
    /// Worker deployment name (`--deployment-name`, `TEMPORAL_DEPLOYMENT_NAME`, default
    /// `wasm-worker`).
    pub deployment_name: String,
    /// Metrics/health listener (`--metrics-bind`/`WASM_WORKER_METRICS_BIND`, default `0.0.0.0`;
    /// `--metrics-port`/`TEMPORAL_METRICS_PORT`, default 8078).
    pub metrics_addr: SocketAddr,
    /// `/status`'s own listener (`--status-bind`, default `127.0.0.1`; `--status-port`,
    /// default 8079); `None` when it shares the metrics port (both binds agree, or both are
    /// loopback).
    pub status_addr: Option<SocketAddr>,
    /// Workflow task slots (`--max-concurrent-workflow-tasks`, default 100).
    pub max_concurrent_workflow_tasks: usize,
    /// Activity slots (`--max-concurrent-activities`, default 100).
    pub max_concurrent_activities: usize,
    /// Sticky cache size (`--max-cached-workflows`, default 1000).
    pub max_cached_workflows: usize,
    /// Bytes of guest memory all cached workflow runs may hold together
    /// (`--workflow-memory-budget`, default a quarter of the machine's memory).
    pub workflow_memory_budget: u64,
    /// Host memory all activity attempts may spend converting arguments at once
    /// (`--conversion-budget`, default 512 MiB).
    pub conversion_budget: u64,
    /// Manifests may grant folders outside the plugins folder without a warning
    /// (`--allow-absolute-grants`, default false).
    pub allow_absolute_grants: bool,
    /// Plugins folder (`--plugins`, `WASM_WORKER_PLUGINS_DIR`, default `./plugins`).
    pub plugins_dir: PathBuf,
    /// Time in-flight tasks get after a shutdown signal (`--shutdown-grace`, default 30s).
    pub shutdown_grace: Duration,
    /// Compiled components persist here (`--compile-cache`, `WASM_WORKER_COMPILE_CACHE`,
    /// default `~/.cache/wasm-worker/compiled`); `None` when `off`.
    pub compile_cache: Option<PathBuf>,
    /// Secrets plugins name in `env_from_host`, as `KEY=VALUE` lines (`--secrets-file`,
    /// `WASM_WORKER_SECRETS_FILE`); the host's environment is asked first.
    pub secrets_file: Option<PathBuf>,
    /// Versioning behaviour of workflow types whose manifest does not say
    /// (`--default-versioning-behavior`, default `pinned`).
    pub default_versioning: Versioning,
    /// How a new plugin set goes live (`--rollout`, `WASM_WORKER_ROLLOUT`, default
    /// `immediate`).
    pub rollout: RolloutPolicy,
    /// Rollouts are decided by the deployment's coordinator workflow, for every host at once
    /// (`--fleet`, `WASM_WORKER_FLEET`, default false): this host reports its builds and
    /// outcomes and never changes the deployment's routing itself.
    pub fleet: bool,
    /// A workflow the coordinator runs pinned to each new build before any traffic moves
    /// (`--gate-workflow` with `--gate-input`); fleet rollouts only.
    pub gate: Option<crate::fleet::policy::Gate>,
    /// A replaced generation stops after this long even if not drained (`--drain-limit`,
    /// `WASM_WORKER_DRAIN_LIMIT`, default 1h).
    pub drain_limit: Duration,
    /// Give up connecting after this long; `None` retries forever (`--connect-timeout`,
    /// default 5m).
    pub connect_timeout: Option<Duration>,
    /// Refresh period of the backlog gauge and the reachability check (`--status-interval`,
    /// default 10s).
    pub status_interval: Duration,
    /// Log filter (`--log-level`, `RUST_LOG`, default `info`).
    pub log_filter: String,
    /// Log format (`--log-format`, `WASM_WORKER_LOG_FORMAT`, default text).
    pub log_format: LogFormat,
    /// OTLP metrics export (`--otlp-endpoint`); `None` keeps core's metrics on `/metrics`.
    pub otlp: Option<OtlpConfig>,
    /// TLS settings; `None` for plain text.
    pub tls: Option<TlsConfig>,
    /// Temporal Cloud API key (`--api-key`, `TEMPORAL_API_KEY`); never logged.
    pub api_key: Option<String>,
    /// gRPC metadata sent on every call (the Temporal profile's `grpc_meta` and
    /// `TEMPORAL_GRPC_META_*`); values never logged.
    pub grpc_meta: std::collections::BTreeMap<String, String>,
    /// Temporal's client config file the connection settings were completed from, if any
    /// (never granted to plugins: it may hold an API key).
    pub temporal_config_file: Option<PathBuf>,
    /// The `--config` file these settings came from, if any (never granted to plugins).
    pub config_file: Option<PathBuf>,
}

/// Settings that only `wasm-worker dev` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevConfig {
    /// The `temporal` CLI (`--temporal-cli`, `TEMPORAL_CLI`, default `temporal` on PATH).
    pub temporal_cli: PathBuf,
    /// Web UI port; `None` means the CLI's default (server port + 1000), `Some(0)` no UI.
    pub ui_port: Option<u16>,
    /// SQLite file that keeps the dev server's state across restarts; in memory when `None`.
    pub db_file: Option<PathBuf>,
}

impl Config {
    /// Resolves every worker setting from `sources`, checking each value and the combinations.
    pub fn resolve(src: &Sources) -> Result<Self, ConfigError> {
        let get = |key: &str| required(src, key);
        let opt = |key: &str| src.get(key);

        let max_cached_workflows = parse::count(&get("max_cached_workflows")?, 0)?;
        let wft = get("max_concurrent_workflow_tasks")?;
        let max_concurrent_workflow_tasks = parse::count(&wft, 1)?;
        if max_cached_workflows > 0 && max_concurrent_workflow_tasks < 2 {
            return Err(wft.invalid(
                "must be at least 2 while max cached workflows is above 0 (sticky queues need a second slot)",
            ));
        }

        let (tls, api_key) = tls::resolve(src)?;

        let mut address = parse::address(&get("address")?)?;
        if tls.is_some() && address.scheme() == "http" {
            address
                .set_scheme("https")
                .map_err(|()| ConfigError::Conflict("cannot switch the address to https".into()))?;
        }

        let plugins = get("plugins_dir")?;
        let plugins_dir = PathBuf::from(plugins.value.trim());
        check_dir(&plugins, &plugins_dir)?;

        let log_format = {
            let raw = get("log_format")?;
            match raw.value.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(raw.invalid("must be `text` or `json`")),
            }
        };
        let status_raw = get("status_interval")?;
        let status_interval = parse::duration(&status_raw)?;
        if status_interval < Duration::from_millis(100) {
            return Err(status_raw.invalid("must be at least 100ms"));
        }

        let metrics_addr = SocketAddr::new(
            parse::ip(&get("metrics_bind")?)?,
            parse::port(&get("metrics_port")?)?,
        );
        let status_bind = parse::ip(&get("status_bind")?)?;
        let status_addr = (!shares_port(metrics_addr.ip(), status_bind))
            .then(|| {
                Ok::<_, ConfigError>(SocketAddr::new(
                    status_bind,
                    parse::port(&get("status_port")?)?,
                ))
            })
            .transpose()?;
        let fleet = parse::boolean(&get("fleet")?)?;
        let rollout_raw = get("rollout")?;
        let rollout = parse::rollout(
            &rollout_raw,
            &get("ramp_promote_after")?,
            &get("ramp_max_failure_rate")?,
        )?;
        if matches!(rollout, RolloutPolicy::Progressive { .. }) && !fleet {
            return Err(rollout_raw.invalid(
                "progressive rollouts are decided for all hosts together: also set fleet = true",
            ));
        }
        if rollout == RolloutPolicy::Manual && fleet {
            return Err(rollout_raw.invalid(
                "manual rollouts leave routing to someone else; fleet = true would let the coordinator route: choose one",
            ));
        }
        let gate = opt("gate_workflow")
            .map(|w| parse::gate(&w, &get("gate_input")?, fleet))
            .transpose()?;
        Ok(Config {
            address,
            namespace: parse::name(&get("namespace")?)?,
            task_queue: parse::name(&get("task_queue")?)?,
            build_id: parse::build_id(&get("build_id")?)?,
            deployment_name: parse::name(&get("deployment_name")?)?,
            metrics_addr,
            status_addr,
            max_concurrent_workflow_tasks,
            max_concurrent_activities: parse::count(&get("max_concurrent_activities")?, 1)?,
            max_cached_workflows,
            workflow_memory_budget: parse::memory_budget(&get("workflow_memory_budget")?)?,
            allow_absolute_grants: parse::boolean(&get("allow_absolute_grants")?)?,
            conversion_budget: parse::memory_budget(&get("conversion_budget")?)?,
            plugins_dir,
            shutdown_grace: parse::duration(&get("shutdown_grace")?)?,
            drain_limit: parse::duration(&get("drain_limit")?)?,
            compile_cache: parse::cache_dir(&get("compile_cache")?)?,
            secrets_file: opt("secrets_file")
                .map(|r| parse::readable_file(&r))
                .transpose()?,
            default_versioning: parse::versioning(&get("default_versioning_behavior")?)?,
            rollout,
            fleet,
            gate,
            connect_timeout: parse::limit(&get("connect_timeout")?)?,
            status_interval,
            log_filter: parse::log_filter(&get("log_level")?)?,
            log_format,
            otlp: otlp::resolve(src)?,
            tls,
            api_key,
            grpc_meta: src
                .profile()
                .map(|p| p.grpc_meta.clone())
                .unwrap_or_default(),
            temporal_config_file: src.profile().and_then(|p| p.file.clone()),
            config_file: src.file().map(Path::to_path_buf),
        })
    }

    /// `host:port` of the server, as the Temporal CLI writes it.
    pub fn host_port(&self) -> String {
        let host = self.address.host_str().unwrap_or("localhost");
        match self.address.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// A configuration for tests and embedding: defaults everywhere, no environment, the given
    /// server and task queue, metrics on a free loopback port.
    pub fn for_server(
        address: &str,
        task_queue: &str,
        plugins_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let flags = [
            ("address", address.to_string()),
            ("task_queue", task_queue.to_string()),
            ("plugins_dir", plugins_dir.display().to_string()),
            ("metrics_port", "0".to_string()),
            ("metrics_bind", IpAddr::from([127, 0, 0, 1]).to_string()),
        ]
        .into_iter()
        .collect();
        Self::resolve(&Sources::new(flags, |_| None, None)?)
    }
}

impl DevConfig {
    /// Resolves the dev-mode settings.
    pub fn resolve(src: &Sources) -> Result<Self, ConfigError> {
        let cli = required(src, "temporal_cli")?;
        Ok(DevConfig {
            temporal_cli: PathBuf::from(parse::name(&cli)?),
            ui_port: src
                .get("dev_ui_port")
                .map(|r| parse::port(&r))
                .transpose()?,
            db_file: src
                .get("dev_db_file")
                .map(|r| PathBuf::from(r.value.trim())),
        })
    }
}

/// A setting that has a default in the table, so some layer always provides it.
pub(super) fn required(src: &Sources, key: &str) -> Result<Raw, ConfigError> {
    src.get(key)
        .ok_or_else(|| ConfigError::Conflict(format!("internal: setting `{key}` has no default")))
}

/// The plugins folder must be a readable directory: a typo should fail the start, not leave a
/// worker that silently serves nothing.
fn check_dir(raw: &Raw, path: &Path) -> Result<(), ConfigError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|_| ())
            .map_err(|e| raw.invalid(format!("cannot read the folder: {e}"))),
        Ok(_) => Err(raw.invalid("is not a folder")),
        Err(e) => Err(raw.invalid(format!("no such folder: {e}"))),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bounds;
#[cfg(test)]
mod tests_profile;
#[cfg(test)]
mod tests_security;
