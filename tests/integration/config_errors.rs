//! The real binary refuses every bad setting with exit code 2 and a message naming the
//! variable, flag or file key, and honours the settings it is given.

use crate::common::{self, host_binary, http_get, shared_server, wait_ready};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs the binary with `args` and `env` (on top of a clean environment) and returns its output.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let plugins = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(host_binary());
    cmd.env_clear()
        .env("WASM_WORKER_PLUGINS_DIR", plugins.path())
        .env("WASM_WORKER_CONNECT_TIMEOUT", "1s")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running wasm-worker")
}

fn assert_config_error(out: &Output, fragment: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stderr: {stderr}"
    );
    assert!(
        stderr.contains(fragment),
        "stderr should contain {fragment:?}: {stderr}"
    );
}

#[test]
fn each_bad_environment_value_stops_the_start_with_exit_2() {
    let cases = [
        (
            "TEMPORAL_METRICS_PORT",
            "abc",
            "TEMPORAL_METRICS_PORT=abc: not a port number",
        ),
        (
            "TEMPORAL_METRICS_PORT",
            "-1",
            "TEMPORAL_METRICS_PORT=-1: not a port number",
        ),
        (
            "TEMPORAL_MAX_CONCURRENT_ACTIVITIES",
            "0",
            "TEMPORAL_MAX_CONCURRENT_ACTIVITIES=0: must be at least 1",
        ),
        (
            "TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS",
            "0",
            "TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS=0: must be at least 1",
        ),
        (
            "TEMPORAL_MAX_CACHED_WORKFLOWS",
            "lots",
            "TEMPORAL_MAX_CACHED_WORKFLOWS=lots: not a whole number",
        ),
        (
            "TEMPORAL_ADDRESS",
            "no-port",
            "TEMPORAL_ADDRESS=no-port: has no port",
        ),
        (
            "TEMPORAL_SERVER_URL",
            "ftp://x:1",
            "TEMPORAL_SERVER_URL=ftp://x:1: scheme `ftp`",
        ),
        (
            "TEMPORAL_NAMESPACE",
            " ",
            "TEMPORAL_NAMESPACE= : must not be empty",
        ),
        (
            "TEMPORAL_WORKER_BUILD_ID",
            "v 1",
            "TEMPORAL_WORKER_BUILD_ID=v 1: must not contain whitespace",
        ),
        (
            "WASM_WORKER_SHUTDOWN_GRACE",
            "soon",
            "WASM_WORKER_SHUTDOWN_GRACE=soon: not a duration",
        ),
        (
            "WASM_WORKER_PLUGINS_DIR",
            "/nonexistent/plugins",
            "WASM_WORKER_PLUGINS_DIR=/nonexistent/plugins: no such folder",
        ),
        (
            "WASM_WORKER_LOG_FORMAT",
            "xml",
            "WASM_WORKER_LOG_FORMAT=xml: must be `text` or `json`",
        ),
        (
            "TEMPORAL_TLS",
            "perhaps",
            "TEMPORAL_TLS=perhaps: not a boolean",
        ),
        (
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
            "/nonexistent.pem",
            "TEMPORAL_TLS_CLIENT_CERT_PATH=/nonexistent.pem: cannot read file",
        ),
    ];
    for (var, value, fragment) in cases {
        let out = run(&[], &[(var, value)]);
        assert_config_error(&out, fragment);
    }
}

#[test]
fn bad_flags_and_files_stop_the_start_with_exit_2() {
    assert_config_error(
        &run(&["--metrics-port", "http"], &[]),
        "--metrics-port=http: not a port number",
    );
    assert_config_error(&run(&["run", "--no-such-flag"], &[]), "--no-such-flag");

    let dir = tempfile::tempdir().expect("tempdir");
    let bad_key = dir.path().join("bad-key.toml");
    std::fs::write(&bad_key, "task_queue = \"q\"\nmax_activities = 3\n").expect("write");
    assert_config_error(
        &run(&["--config", bad_key.to_str().expect("utf8")], &[]),
        "unknown key `max_activities`",
    );

    let bad_value = dir.path().join("bad-value.toml");
    std::fs::write(&bad_value, "max_cached_workflows = -5\n").expect("write");
    assert_config_error(
        &run(&["--config", bad_value.to_str().expect("utf8")], &[]),
        "key `max_cached_workflows`=-5: not a whole number",
    );

    let missing = dir.path().join("missing.toml");
    assert_config_error(
        &run(&["--config", missing.to_str().expect("utf8")], &[]),
        "missing.toml: No such file",
    );
}

/// Settings from the environment, a flag and the file reach the running worker: its metrics
/// carry the task queue, build ID, deployment and namespace, on the configured port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_from_env_flags_and_file_reach_the_running_worker() {
    let address = shared_server();
    let port = common::free_port();
    let queue = common::unique("env-q");
    let deployment = common::unique("env-dep");
    let plugins = tempfile::tempdir().expect("tempdir");
    let file = plugins.path().join("host.toml");
    std::fs::write(
        &file,
        format!("deployment_name = \"{deployment}\"\nbuild_id = \"from-file\"\n"),
    )
    .expect("write");
    let mut child = tokio::process::Command::new(host_binary())
        .env_clear()
        .env("TEMPORAL_ADDRESS", address)
        .env("TEMPORAL_TASK_QUEUE", &queue)
        .env("TEMPORAL_METRICS_PORT", port.to_string())
        .env("TEMPORAL_WORKER_BUILD_ID", "from-env")
        .env("WASM_WORKER_PLUGINS_DIR", plugins.path())
        .args([
            "--config",
            file.to_str().expect("utf8"),
            "--build-id",
            "from-flag",
            "--metrics-bind",
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawning wasm-worker");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(addr).await;
    let (_, metrics) = http_get(addr, "/metrics").await;
    let info = metrics
        .lines()
        .find(|l| l.starts_with("wasm_worker_info{"))
        .unwrap_or_else(|| panic!("no wasm_worker_info in {metrics}"));
    for expected in [
        "build_id=\"from-flag\"".to_string(),
        format!("deployment_name=\"{deployment}\""),
        "namespace=\"default\"".to_string(),
        format!("task_queue=\"{queue}\""),
    ] {
        assert!(info.contains(&expected), "{expected} missing in {info}");
    }
    common::sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}
