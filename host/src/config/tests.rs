//! Unit tests of the layering and of every refusal; the real binary's exit code is tested in
//! the integration suite.

use super::*;
use std::collections::HashMap;
use std::io::Write;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Resolves with `flags`, `env` and an optional TOML text; the plugins folder defaults to a
/// fresh empty directory unless a layer sets it.
pub(super) fn resolve(
    flags: &[(&'static str, &str)],
    env: &[(&'static str, &str)],
    toml: Option<&str>,
) -> Result<Config, ConfigError> {
    let plugins = dir();
    let mut flags: HashMap<&'static str, String> =
        flags.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sets_plugins = env.contains_key("WASM_WORKER_PLUGINS_DIR")
        || toml.is_some_and(|t| t.contains("plugins_dir"));
    if !sets_plugins {
        flags
            .entry("plugins_dir")
            .or_insert_with(|| plugins.path().display().to_string());
    }
    let file = toml.map(|text| {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    });
    let whole = env.clone();
    let src = Sources::new(
        flags,
        move |k| env.get(k).cloned(),
        file.as_ref().map(|f| f.path()),
    )?
    .with_temporal_profile(&whole, false)?;
    Config::resolve(&src)
}

pub(super) fn err(
    flags: &[(&'static str, &str)],
    env: &[(&'static str, &str)],
    toml: Option<&str>,
) -> String {
    resolve(flags, env, toml)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn defaults_match_the_documented_table() {
    let c = resolve(&[], &[], None).expect("defaults resolve");
    assert_eq!(c.address.as_str(), "http://localhost:7233/");
    assert_eq!(c.host_port(), "localhost:7233");
    assert_eq!(c.namespace, "default");
    assert_eq!(c.task_queue, "apex-ingestion-queue");
    assert_eq!(c.build_id, "v1.0.0");
    assert_eq!(c.deployment_name, "wasm-worker");
    assert_eq!(c.metrics_addr, "0.0.0.0:8078".parse().expect("addr"));
    assert_eq!(c.max_concurrent_workflow_tasks, 100);
    assert_eq!(c.max_concurrent_activities, 100);
    assert_eq!(c.max_cached_workflows, 1000);
    assert_eq!(c.shutdown_grace, Duration::from_secs(30));
    assert_eq!(c.connect_timeout, Some(Duration::from_secs(300)));
    assert_eq!(c.log_filter, "info");
    assert_eq!(c.log_format, LogFormat::Text);
    assert!(c.tls.is_none());
    assert!(c.api_key.is_none());
}

#[test]
fn default_plugins_dir_is_relative_plugins() {
    let spec = spec::find("plugins_dir").expect("spec");
    assert_eq!(spec.default, Some("./plugins"));
    assert_eq!(spec.env, ["WASM_WORKER_PLUGINS_DIR"]);
}

#[test]
fn every_setting_is_read_from_its_env_var() {
    let plugins = dir();
    let p = plugins.path().display().to_string();
    let c = resolve(
        &[],
        &[
            ("TEMPORAL_ADDRESS", "temporal.example:7000"),
            ("TEMPORAL_NAMESPACE", "ns1"),
            ("TEMPORAL_TASK_QUEUE", "q1"),
            ("TEMPORAL_WORKER_BUILD_ID", "v2.3.4"),
            ("TEMPORAL_DEPLOYMENT_NAME", "dep1"),
            ("TEMPORAL_METRICS_PORT", "9100"),
            ("WASM_WORKER_METRICS_BIND", "127.0.0.1"),
            ("TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", "7"),
            ("TEMPORAL_MAX_CONCURRENT_ACTIVITIES", "9"),
            ("TEMPORAL_MAX_CACHED_WORKFLOWS", "11"),
            ("WASM_WORKER_PLUGINS_DIR", &p),
            ("WASM_WORKER_SHUTDOWN_GRACE", "1m 5s"),
            ("WASM_WORKER_CONNECT_TIMEOUT", "forever"),
            ("WASM_WORKER_STATUS_INTERVAL", "2s"),
            ("RUST_LOG", "debug"),
            ("WASM_WORKER_LOG_FORMAT", "json"),
        ],
        None,
    )
    .expect("env resolves");
    assert_eq!(c.host_port(), "temporal.example:7000");
    assert_eq!(c.namespace, "ns1");
    assert_eq!(c.task_queue, "q1");
    assert_eq!(c.build_id, "v2.3.4");
    assert_eq!(c.deployment_name, "dep1");
    assert_eq!(c.metrics_addr, "127.0.0.1:9100".parse().expect("addr"));
    assert_eq!(c.max_concurrent_workflow_tasks, 7);
    assert_eq!(c.max_concurrent_activities, 9);
    assert_eq!(c.max_cached_workflows, 11);
    assert_eq!(c.plugins_dir, PathBuf::from(&p));
    assert_eq!(c.shutdown_grace, Duration::from_secs(65));
    assert_eq!(c.connect_timeout, None);
    assert_eq!(c.status_interval, Duration::from_secs(2));
    assert_eq!(c.log_filter, "debug");
    assert_eq!(c.log_format, LogFormat::Json);
}

#[test]
fn server_url_is_accepted_and_address_wins_over_it() {
    let c = resolve(&[], &[("TEMPORAL_SERVER_URL", "http://a:1")], None).expect("url");
    assert_eq!(c.host_port(), "a:1");
    let c = resolve(
        &[],
        &[("TEMPORAL_SERVER_URL", "a:1"), ("TEMPORAL_ADDRESS", "b:2")],
        None,
    )
    .expect("both");
    assert_eq!(c.host_port(), "b:2");
}

#[test]
fn flags_beat_env_beat_file_beat_defaults() {
    let toml = "namespace = \"from-file\"\ntask_queue = \"file-q\"\nmetrics_port = 9001\n";
    let c = resolve(
        &[("namespace", "from-flag")],
        &[
            ("TEMPORAL_NAMESPACE", "from-env"),
            ("TEMPORAL_TASK_QUEUE", "env-q"),
        ],
        Some(toml),
    )
    .expect("layers");
    assert_eq!(c.namespace, "from-flag");
    assert_eq!(c.task_queue, "env-q");
    assert_eq!(c.metrics_addr.port(), 9001);
    assert_eq!(c.build_id, "v1.0.0");
}

#[test]
fn empty_env_var_counts_as_unset() {
    let c = resolve(&[], &[("TEMPORAL_NAMESPACE", "")], None).expect("empty");
    assert_eq!(c.namespace, "default");
}

#[test]
fn bad_port_names_the_variable_and_the_reason() {
    let e = err(&[], &[("TEMPORAL_METRICS_PORT", "abc")], None);
    assert!(
        e.starts_with("TEMPORAL_METRICS_PORT=abc: not a port number"),
        "{e}"
    );
    let e = err(&[("metrics_port", "70000")], &[], None);
    assert!(
        e.starts_with("--metrics-port=70000: not a port number"),
        "{e}"
    );
}

#[test]
fn zero_concurrency_is_refused() {
    let e = err(&[], &[("TEMPORAL_MAX_CONCURRENT_ACTIVITIES", "0")], None);
    assert_eq!(
        e,
        "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=0: must be at least 1"
    );
    let e = err(
        &[],
        &[("TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", "0")],
        None,
    );
    assert_eq!(
        e,
        "TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS=0: must be at least 1"
    );
    let e = err(
        &[],
        &[("TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", "1")],
        None,
    );
    assert!(
        e.contains("must be at least 2 while max cached workflows"),
        "{e}"
    );
    resolve(
        &[],
        &[
            ("TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS", "1"),
            ("TEMPORAL_MAX_CACHED_WORKFLOWS", "0"),
        ],
        None,
    )
    .expect("one slot is fine without a cache");
}

#[test]
fn unparsable_addresses_are_refused() {
    for (bad, why) in [
        ("localhost", "has no port"),
        ("ftp://x:1", "scheme `ftp`"),
        ("http://x:1/path", "without a path"),
        ("::::", "not an address"),
        ("", "not an address"),
    ] {
        let e = err(&[("address", bad)], &[], None);
        assert!(e.starts_with(&format!("--address={bad}: ")), "{e}");
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn bad_durations_booleans_and_formats_are_refused() {
    let e = err(&[], &[("WASM_WORKER_SHUTDOWN_GRACE", "soon")], None);
    assert!(
        e.starts_with("WASM_WORKER_SHUTDOWN_GRACE=soon: not a duration"),
        "{e}"
    );
    let e = err(&[], &[("TEMPORAL_TLS", "maybe")], None);
    assert!(e.starts_with("TEMPORAL_TLS=maybe: not a boolean"), "{e}");
    let e = err(&[("log_format", "xml")], &[], None);
    assert_eq!(e, "--log-format=xml: must be `text` or `json`");
    let e = err(&[], &[("RUST_LOG", "info,[[[")], None);
    assert!(e.starts_with("RUST_LOG=info,[[[: not a log filter"), "{e}");
    let e = err(&[("namespace", " ")], &[], None);
    assert_eq!(e, "--namespace= : must not be empty");
    let e = err(&[("build_id", "v1 beta")], &[], None);
    assert_eq!(e, "--build-id=v1 beta: must not contain whitespace");
}

#[test]
fn missing_plugins_folder_is_refused() {
    let e = err(
        &[],
        &[("WASM_WORKER_PLUGINS_DIR", "/nonexistent/plugins")],
        None,
    );
    assert!(
        e.starts_with("WASM_WORKER_PLUGINS_DIR=/nonexistent/plugins: no such folder"),
        "{e}"
    );
    let f = tempfile::NamedTempFile::new().expect("file");
    let p = f.path().display().to_string();
    let e = err(&[("plugins_dir", &p)], &[], None);
    assert_eq!(e, format!("--plugins={p}: is not a folder"));
}

#[test]
fn unknown_or_unreadable_toml_is_refused() {
    let e = err(&[], &[], Some("namespac = \"x\"\n"));
    assert!(e.contains("unknown key `namespac`"), "{e}");
    let e = err(&[], &[], Some("namespace = [1, 2]\n"));
    assert!(e.contains("key `namespace` must be a string"), "{e}");
    let e = err(&[], &[], Some("namespace = \n"));
    assert!(e.starts_with("config file "), "{e}");
    let src = Sources::new(
        HashMap::new(),
        |_| None,
        Some(Path::new("/nonexistent.toml")),
    );
    let e = src.err().expect("missing file").to_string();
    assert!(e.starts_with("config file /nonexistent.toml: "), "{e}");
}

#[test]
fn bad_value_in_file_names_file_and_key() {
    let e = err(&[], &[], Some("metrics_port = \"http\"\n"));
    assert!(
        e.contains("key `metrics_port`=http: not a port number"),
        "{e}"
    );
}

#[test]
fn compile_cache_and_versioning_defaults_and_overrides() {
    let c = resolve(&[], &[], None).expect("defaults resolve");
    let home = std::env::var_os("HOME").expect("HOME is set for tests");
    assert_eq!(
        c.compile_cache,
        Some(std::path::PathBuf::from(home).join(".cache/wasm-worker/compiled"))
    );
    assert_eq!(c.default_versioning, Versioning::Pinned);
    let c = resolve(
        &[],
        &[
            ("WASM_WORKER_COMPILE_CACHE", "off"),
            ("WASM_WORKER_DEFAULT_VERSIONING_BEHAVIOR", "auto_upgrade"),
        ],
        None,
    )
    .expect("resolves");
    assert_eq!(c.compile_cache, None);
    assert_eq!(c.default_versioning, Versioning::AutoUpgrade);
    let e = err(&[("default_versioning_behavior", "sticky")], &[], None);
    assert!(e.contains("--default-versioning-behavior"), "{e}");
    assert!(e.contains("must be `pinned` or `auto-upgrade`"), "{e}");
}

#[test]
fn rollout_is_immediate_or_a_ramp_with_its_thresholds() {
    assert_eq!(
        resolve(&[], &[], None).expect("defaults").rollout,
        RolloutPolicy::Immediate
    );
    let c = resolve(
        &[("rollout", "ramp:10%"), ("ramp_promote_after", "3")],
        &[("WASM_WORKER_RAMP_MAX_FAILURE_RATE", "0.25")],
        None,
    )
    .expect("resolves");
    assert_eq!(
        c.rollout,
        RolloutPolicy::Ramp {
            percent: 10.0,
            promote_after: 3,
            max_failure_rate: 0.25
        }
    );
    for bad in ["ramp:0%", "ramp:100%", "ramp:ten", "canary"] {
        let e = err(&[("rollout", bad)], &[], None);
        assert!(e.contains("--rollout"), "{bad}: {e}");
    }
    let e = err(
        &[("rollout", "ramp:5%"), ("ramp_max_failure_rate", "2")],
        &[],
        None,
    );
    assert!(
        e.contains("--ramp-max-failure-rate") && e.contains("between 0 and 1"),
        "{e}"
    );
}
