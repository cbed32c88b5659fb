//! The table of every setting: its TOML key, flag, environment variables and default.
//!
//! One table drives the command line (`cli.rs` builds its flags from it), the environment
//! lookup, the TOML file's allowed keys and the README's configuration table, so the four can
//! never disagree.

/// Where a subcommand uses a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every command that runs a worker (`run`, `dev`).
    Worker,
    /// Only `wasm-worker dev`.
    Dev,
}

/// One configurable setting.
#[derive(Debug)]
pub struct Spec {
    /// Key in the TOML file, also the internal name.
    pub key: &'static str,
    /// Long flag, without the leading `--`.
    pub flag: &'static str,
    /// Environment variables, first match wins.
    pub env: &'static [&'static str],
    /// Default as text, parsed like any other source; `None` means unset.
    pub default: Option<&'static str>,
    /// Placeholder shown in `--help`.
    pub value_name: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    /// Which subcommands accept it.
    pub scope: Scope,
    /// Secrets are never echoed back in errors or logs.
    pub secret: bool,
}

const fn spec(
    key: &'static str,
    flag: &'static str,
    env: &'static [&'static str],
    default: Option<&'static str>,
    value_name: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        key,
        flag,
        env,
        default,
        value_name,
        help,
        scope: Scope::Worker,
        secret: false,
    }
}

/// Every setting, in the order `--help` and the README list them.
pub static SPECS: &[Spec] = &[
    spec(
        "address",
        "address",
        &["TEMPORAL_ADDRESS", "TEMPORAL_SERVER_URL"],
        Some("localhost:7233"),
        "HOST:PORT",
        "Temporal frontend address (host:port or http[s]://host:port)",
    ),
    spec(
        "namespace",
        "namespace",
        &["TEMPORAL_NAMESPACE"],
        Some("default"),
        "NAME",
        "Temporal namespace",
    ),
    spec(
        "task_queue",
        "task-queue",
        &["TEMPORAL_TASK_QUEUE"],
        Some("apex-ingestion-queue"),
        "NAME",
        "Task queue the worker polls",
    ),
    spec(
        "build_id",
        "build-id",
        &["TEMPORAL_WORKER_BUILD_ID"],
        Some("v1.0.0"),
        "ID",
        "Worker build ID (the prefix of content-derived IDs once plugins load; with --rollout manual, the build ID itself)",
    ),
    spec(
        "deployment_name",
        "deployment-name",
        &["TEMPORAL_DEPLOYMENT_NAME"],
        Some("wasm-worker"),
        "NAME",
        "Worker deployment name for Temporal worker versioning",
    ),
    spec(
        "metrics_port",
        "metrics-port",
        &["TEMPORAL_METRICS_PORT"],
        Some("8078"),
        "PORT",
        "Port for /metrics, /healthz and /readyz (0 picks a free port)",
    ),
    spec(
        "metrics_bind",
        "metrics-bind",
        &["WASM_WORKER_METRICS_BIND"],
        Some("0.0.0.0"),
        "IP",
        "Address the metrics/health port binds to",
    ),
    spec(
        "status_bind",
        "status-bind",
        &["WASM_WORKER_STATUS_BIND"],
        Some("127.0.0.1"),
        "IP",
        "Address /status binds to (it names files, digests and paths: loopback unless you choose otherwise); the metrics port when both binds agree",
    ),
    spec(
        "status_port",
        "status-port",
        &["WASM_WORKER_STATUS_PORT"],
        Some("8079"),
        "PORT",
        "Port for /status when it does not share the metrics port (0 picks a free port)",
    ),
    spec(
        "max_concurrent_workflow_tasks",
        "max-concurrent-workflow-tasks",
        &["TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS"],
        Some("100"),
        "N",
        "Workflow tasks processed at once (at least 2 while workflows are cached)",
    ),
    spec(
        "max_concurrent_activities",
        "max-concurrent-activities",
        &["TEMPORAL_MAX_CONCURRENT_ACTIVITIES"],
        Some("100"),
        "N",
        "Activities executed at once",
    ),
    spec(
        "max_cached_workflows",
        "max-cached-workflows",
        &["TEMPORAL_MAX_CACHED_WORKFLOWS"],
        Some("1000"),
        "N",
        "Workflow runs kept in memory between tasks (0 disables the sticky cache)",
    ),
    spec(
        "workflow_memory_budget",
        "workflow-memory-budget",
        &["WASM_WORKER_WORKFLOW_MEMORY_BUDGET"],
        Some("auto"),
        "SIZE|auto",
        "Guest memory all cached workflow runs may hold together (e.g. 2GiB); least recently used runs are evicted beyond it. auto: a quarter of the machine's memory",
    ),
    spec(
        "conversion_budget",
        "conversion-budget",
        &["WASM_WORKER_CONVERSION_BUDGET"],
        Some("512MiB"),
        "SIZE",
        "Host memory all activity calls may spend converting arguments at once (calls beyond it wait)",
    ),
    spec(
        "plugins_dir",
        "plugins",
        &["WASM_WORKER_PLUGINS_DIR"],
        Some("./plugins"),
        "DIR",
        "Folder of *.wasm plugins",
    ),
    spec(
        "shutdown_grace",
        "shutdown-grace",
        &["WASM_WORKER_SHUTDOWN_GRACE"],
        Some("30s"),
        "DURATION",
        "How long in-flight tasks may run after SIGINT/SIGTERM",
    ),
    spec(
        "compile_cache",
        "compile-cache",
        &["WASM_WORKER_COMPILE_CACHE"],
        Some("~/.cache/wasm-worker/compiled"),
        "DIR|off",
        "Folder of compiled plugins kept across restarts (pruned to 2 GiB; `off` disables)",
    ),
    spec(
        "allow_absolute_grants",
        "allow-absolute-grants",
        &["WASM_WORKER_ALLOW_ABSOLUTE_GRANTS"],
        Some("false"),
        "BOOL",
        "Let manifests grant folders outside the plugins folder without a warning",
    ),
    spec(
        "secrets_file",
        "secrets-file",
        &["WASM_WORKER_SECRETS_FILE"],
        None,
        "FILE",
        "KEY=VALUE lines: secrets plugins name in env_from_host (the environment wins; re-read on SIGHUP)",
    ),
    spec(
        "default_versioning_behavior",
        "default-versioning-behavior",
        &["WASM_WORKER_DEFAULT_VERSIONING_BEHAVIOR"],
        Some("pinned"),
        "pinned|auto-upgrade",
        "Versioning behaviour of workflow types whose plugin manifest does not choose one",
    ),
    spec(
        "rollout",
        "rollout",
        &["WASM_WORKER_ROLLOUT"],
        Some("immediate"),
        "immediate|manual|ramp:N%|progressive:STEPS",
        "How a new plugin set goes live: current at once, ramping to N% of new runs first, (fleet only) through steps like 1%/2m,10%/5m, or manual: exactly --build-id, routing left to others",
    ),
    spec(
        "fleet",
        "fleet",
        &["WASM_WORKER_FLEET"],
        Some("false"),
        "BOOL",
        "Let the deployment's coordinator workflow decide every rollout for all hosts; this host only reports",
    ),
    spec(
        "gate_workflow",
        "gate-workflow",
        &["WASM_WORKER_GATE_WORKFLOW"],
        None,
        "TYPE",
        "Fleet only: a workflow that must succeed, pinned to a new build, before any traffic moves to it",
    ),
    spec(
        "gate_input",
        "gate-input",
        &["WASM_WORKER_GATE_INPUT"],
        Some("null"),
        "JSON",
        "The gate workflow's argument",
    ),
    spec(
        "ramp_promote_after",
        "ramp-promote-after",
        &["WASM_WORKER_RAMP_PROMOTE_AFTER"],
        Some("20"),
        "N",
        "A ramping version becomes current after this many workflow runs completed on it",
    ),
    spec(
        "ramp_max_failure_rate",
        "ramp-max-failure-rate",
        &["WASM_WORKER_RAMP_MAX_FAILURE_RATE"],
        Some("0.1"),
        "FRACTION",
        "Roll a ramping version back when this share of its workflow tasks and activities fail",
    ),
    spec(
        "drain_limit",
        "drain-limit",
        &["WASM_WORKER_DRAIN_LIMIT"],
        Some("1h"),
        "DURATION",
        "Stop a replaced generation after this long even if pinned workflows still run on it",
    ),
    spec(
        "connect_timeout",
        "connect-timeout",
        &["WASM_WORKER_CONNECT_TIMEOUT"],
        Some("5m"),
        "DURATION|forever",
        "Give up connecting to the server after this long",
    ),
    spec(
        "status_interval",
        "status-interval",
        &["WASM_WORKER_STATUS_INTERVAL"],
        Some("10s"),
        "DURATION",
        "How often the task-queue backlog and server reachability are refreshed",
    ),
    spec(
        "log_level",
        "log-level",
        &["RUST_LOG"],
        Some("info"),
        "FILTER",
        "Log filter (a level or tracing directives such as wasm_worker=debug)",
    ),
    spec(
        "log_format",
        "log-format",
        &["WASM_WORKER_LOG_FORMAT"],
        Some("text"),
        "text|json",
        "Log output format",
    ),
    spec(
        "otlp_endpoint",
        "otlp-endpoint",
        &[
            "WASM_WORKER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ],
        None,
        "URL",
        "Export core's and the host's metrics by OTLP to this collector (core's series then leave /metrics)",
    ),
    spec(
        "otlp_protocol",
        "otlp-protocol",
        &[
            "WASM_WORKER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        ],
        Some("grpc"),
        "grpc|http/protobuf",
        "OTLP wire format (an HTTP endpoint without a path gets /v1/metrics)",
    ),
    spec(
        "otlp_interval",
        "otlp-interval",
        &["WASM_WORKER_OTLP_INTERVAL"],
        Some("10s"),
        "DURATION",
        "Time between OTLP metric exports",
    ),
    spec(
        "tls",
        "tls",
        &["TEMPORAL_TLS"],
        None,
        "BOOL",
        "Use TLS (implied by any other TLS setting or an API key)",
    ),
    spec(
        "tls_client_cert_path",
        "tls-client-cert-path",
        &["TEMPORAL_TLS_CLIENT_CERT_PATH"],
        None,
        "FILE",
        "PEM client certificate for mTLS",
    ),
    spec(
        "tls_client_key_path",
        "tls-client-key-path",
        &["TEMPORAL_TLS_CLIENT_KEY_PATH"],
        None,
        "FILE",
        "PEM client private key for mTLS",
    ),
    spec(
        "tls_server_ca_cert_path",
        "tls-server-ca-cert-path",
        &["TEMPORAL_TLS_SERVER_CA_CERT_PATH"],
        None,
        "FILE",
        "PEM CA certificate that signed the server's certificate",
    ),
    spec(
        "tls_server_name",
        "tls-server-name",
        &["TEMPORAL_TLS_SERVER_NAME"],
        None,
        "NAME",
        "Server name to verify the certificate against",
    ),
    Spec {
        secret: true,
        ..spec(
            "api_key",
            "api-key",
            &["TEMPORAL_API_KEY"],
            None,
            "KEY",
            "API key for Temporal Cloud (enables TLS)",
        )
    },
    spec(
        "tls_client_cert_data",
        "tls-client-cert-data",
        &["TEMPORAL_TLS_CLIENT_CERT_DATA"],
        None,
        "PEM",
        "PEM client certificate for mTLS, inline (instead of the path)",
    ),
    Spec {
        secret: true,
        ..spec(
            "tls_client_key_data",
            "tls-client-key-data",
            &["TEMPORAL_TLS_CLIENT_KEY_DATA"],
            None,
            "PEM",
            "PEM client private key for mTLS, inline (instead of the path)",
        )
    },
    spec(
        "tls_server_ca_cert_data",
        "tls-server-ca-cert-data",
        &["TEMPORAL_TLS_SERVER_CA_CERT_DATA"],
        None,
        "PEM",
        "PEM CA certificate of the server, inline (instead of the path)",
    ),
    spec(
        "profile",
        "profile",
        &["TEMPORAL_PROFILE"],
        None,
        "NAME",
        "Profile of Temporal's client config file to fill unset connection settings from (default `default`)",
    ),
    spec(
        "temporal_config_file",
        "temporal-config-file",
        &["TEMPORAL_CONFIG_FILE"],
        None,
        "FILE",
        "Temporal's client config file (default ~/.config/temporalio/temporal.toml)",
    ),
    Spec {
        scope: Scope::Dev,
        ..spec(
            "temporal_cli",
            "temporal-cli",
            &["TEMPORAL_CLI"],
            Some("temporal"),
            "PATH",
            "dev: the temporal CLI that runs the embedded dev server",
        )
    },
    Spec {
        scope: Scope::Dev,
        ..spec(
            "dev_ui_port",
            "dev-ui-port",
            &["WASM_WORKER_DEV_UI_PORT"],
            None,
            "PORT",
            "dev: port of the dev server's web UI (default: server port + 1000; 0 = no UI)",
        )
    },
    Spec {
        scope: Scope::Dev,
        ..spec(
            "dev_db_file",
            "dev-db-file",
            &["WASM_WORKER_DEV_DB_FILE"],
            None,
            "FILE",
            "dev: persist the dev server's state in this SQLite file (default: in memory)",
        )
    },
];

/// Looks a setting up by key.
pub fn find(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_flags_and_env_vars_are_unique() {
        let mut keys = HashSet::new();
        let mut flags = HashSet::new();
        let mut envs = HashSet::new();
        for s in SPECS {
            assert!(keys.insert(s.key), "duplicate key {}", s.key);
            assert!(flags.insert(s.flag), "duplicate flag {}", s.flag);
            for e in s.env {
                assert!(envs.insert(*e), "duplicate env {e}");
            }
        }
    }
}

#[cfg(test)]
mod readme {
    use super::*;

    /// The README's configuration table lists every setting with its variables, flag and
    /// default, so the documentation cannot drift from the code.
    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../../README.md");
        for s in SPECS {
            let envs: Vec<String> = s.env.iter().map(|e| format!("`{e}`")).collect();
            let default = s.default.map_or("—".to_string(), |d| format!("`{d}`"));
            let row = format!(
                "| `{}` | {} | `--{}` | {} | {} |",
                s.key,
                envs.join(", "),
                s.flag,
                default,
                s.help
            );
            assert!(readme.contains(&row), "README.md lacks the row:\n{row}");
        }
    }
}
