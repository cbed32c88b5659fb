//! Connecting: to a reachable server; to one that appears later; giving up at the limit.

use crate::common::{self, DevServer, eventually, http_get, shared_server, wait_ready};
use std::process::Stdio;
use std::time::Duration;
use wasm_worker::Host;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_to_a_reachable_server_and_becomes_ready() {
    let (config, _plugins) = common::config(shared_server(), "reachable");
    let host = Host::new(config).start().await.expect("host starts");
    wait_ready(host.metrics_addr()).await;
    assert!(host.readiness().is_ok());
    host.stop().await.expect("clean stop");
}

/// `/readyz` is 503 (saying why) while the server is down, and the host starts working by
/// itself once the server appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_trying_until_the_server_appears() {
    let port = common::free_port();
    let address = format!("127.0.0.1:{port}");
    let (mut config, _plugins) = common::config(&address, "late");
    config.connect_timeout = None;
    let host = Host::new(config).start().await.expect("host starts");
    let addr = host.metrics_addr();
    let reason = eventually(
        Duration::from_secs(10),
        "a failed connection attempt",
        || async move {
            let (status, body) = http_get(addr, "/readyz").await;
            assert_eq!(status, 503, "ready without a server: {body}");
            body.contains("cannot reach").then_some(body)
        },
    )
    .await;
    assert!(reason.contains(&address), "{reason}");
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_connect_attempts_total{result=\"error\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("wasm_worker_ready 0"), "{metrics}");

    let _server = tokio::task::spawn_blocking(move || DevServer::start(port))
        .await
        .expect("server");
    wait_ready(addr).await;
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(metrics.contains("wasm_worker_ready 1"), "{metrics}");
    host.stop().await.expect("clean stop");
}

/// With a limit, an unreachable server is a clear error and exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_at_the_limit_with_a_clear_error() {
    let port = common::free_port();
    let plugins = tempfile::tempdir().expect("tempdir");
    let out = tokio::process::Command::new(common::host_binary())
        .env_clear()
        .args([
            "--address",
            &format!("127.0.0.1:{port}"),
            "--connect-timeout",
            "2s",
            "--metrics-port",
            "0",
        ])
        .arg("--plugins")
        .arg(plugins.path())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("running wasm-worker");
    let logs = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{logs}");
    assert!(
        logs.contains(&format!(
            "could not reach the Temporal server at 127.0.0.1:{port} within 2s"
        )),
        "{logs}"
    );
    assert!(
        logs.contains("Temporal server not reachable; retrying"),
        "{logs}"
    );
}

/// A server that goes away after start: `/readyz` turns 503, and once the server is back
/// (same database) the host is ready again without a restart and still runs activities.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_when_the_server_comes_back() {
    use crate::common::workflows::{Call, run_activity};
    use temporalio_common::protos::coresdk::AsJsonPayloadExt as _;
    use wasm_worker::activity::{ActivityContext, ActivityError};

    let port = common::free_port();
    let db_dir = tempfile::tempdir().expect("tempdir");
    let db = db_dir.path().join("temporal.db");
    let address = format!("127.0.0.1:{port}");
    let server = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || DevServer::start_with_db(port, &db))
            .await
            .expect("server")
    };
    let (config, _plugins) = common::config(&address, "recover");
    let queue = config.task_queue.clone();
    let echo =
        |_ctx: ActivityContext,
         input: Vec<temporalio_common::protos::temporal::api::common::v1::Payload>| async move {
            let first = input
                .into_iter()
                .next()
                .ok_or_else(|| ActivityError::non_retryable("BadInput", "no argument"))?;
            let text = String::from_utf8_lossy(&first.data).into_owned();
            format!("echo {text}")
                .as_json_payload()
                .map_err(|e| ActivityError::non_retryable("BadOutput", e.to_string()))
        };
    let host = Host::new(config)
        .activity("echo", echo)
        .start()
        .await
        .expect("host starts");
    let addr = host.metrics_addr();
    wait_ready(addr).await;

    drop(server);
    eventually(
        Duration::from_secs(20),
        "/readyz to report the lost server",
        || async move {
            let (status, body) = http_get(addr, "/readyz").await;
            (status == 503).then_some(body)
        },
    )
    .await;

    let _server = tokio::task::spawn_blocking(move || DevServer::start_with_db(port, &db))
        .await
        .expect("server");
    wait_ready(addr).await;
    // The restarted dev server (1.32) holds versioned activity polls for about a minute
    // ("timed out waiting for worker deployment version to appear in user data") before it
    // dispatches again; the host needs no restart, only patience.
    let call = Call::new("echo", &queue).json(serde_json::json!("back"));
    let outcome = run_activity(&address, &format!("{queue}-wf"), call).await;
    assert_eq!(outcome.json(), serde_json::json!("echo \"back\""));
    host.stop().await.expect("clean stop");
}
