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

/// A private dev server on `port` keeping its state in `db` (so a restart keeps it).
async fn server_with_db(port: u16, db: &std::path::Path) -> DevServer {
    let db = db.to_path_buf();
    tokio::task::spawn_blocking(move || DevServer::start_with_db(port, &db))
        .await
        .expect("the dev server thread")
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
    let server = server_with_db(port, &db).await;
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

    let _server = server_with_db(port, &db).await;
    wait_ready(addr).await;
    // The restarted dev server (1.32) holds versioned activity polls for about a minute
    // ("timed out waiting for worker deployment version to appear in user data") before it
    // dispatches again; the host needs no restart, only patience.
    let call = Call::new("echo", &queue).json(serde_json::json!("back"));
    let outcome = run_activity(&address, &format!("{queue}-wf"), call).await;
    assert_eq!(outcome.json(), serde_json::json!("echo \"back\""));
    host.stop().await.expect("clean stop");
}

/// The server killed and restarted (same database) while workflows keep starting: the host
/// reconnects by itself and every workflow whose start the server accepted completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_started_workflow_completes_across_a_server_restart_mid_load() {
    use crate::common::guests::{self, GREETING_WORKFLOW, HELLO_ACTIVITY, TEST_WORKFLOWS};
    use crate::common::workflows::{ByName, client};
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

    let port = common::free_port();
    let db_dir = tempfile::tempdir().expect("tempdir");
    let db = db_dir.path().join("temporal.db");
    let address = format!("127.0.0.1:{port}");
    let server = server_with_db(port, &db).await;
    let (config, plugins) = common::config(&address, "restart-load");
    for (name, guest) in [
        ("greeting_workflow.wasm", GREETING_WORKFLOW),
        ("hello_activity.wasm", HELLO_ACTIVITY),
        ("test_workflows.wasm", TEST_WORKFLOWS),
    ] {
        std::fs::write(plugins.path().join(name), guests::bytes(guest)).expect("plugin");
    }
    let queue = config.task_queue.clone();
    let host = Host::new(config).start().await.expect("host starts");
    let addr = host.metrics_addr();
    wait_ready(addr).await;
    // One run is certainly in flight across the restart: it waits for a signal sent after.
    let waiting = common::unique("waiting");
    crate::hot_swap::start_waiting(&client(&address).await, &queue, &waiting, "before").await;

    // Steady starts; a start refused while the server is down is retried, so every name is
    // started exactly once the server accepts it.
    const RUNS: usize = 30;
    let load = {
        let (address, queue) = (address.clone(), queue.clone());
        tokio::spawn(async move {
            let client = client(&address).await;
            let mut started = Vec::new();
            for i in 0..RUNS {
                let name = format!("r{i}");
                let id = common::unique("restart");
                loop {
                    let start = client.start_workflow(
                        ByName("GreetingWorkflow"),
                        serde_json::json!(name),
                        WorkflowStartOptions::new(&queue, &id).build(),
                    );
                    match tokio::time::timeout(Duration::from_secs(5), start).await {
                        Ok(Ok(handle)) => {
                            started.push((name, id, handle));
                            break;
                        }
                        _ => tokio::time::sleep(Duration::from_millis(250)).await,
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            started
        })
    };
    // Kill the server once some runs have started (and some finished), mid-stream.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    drop(server);
    eventually(
        Duration::from_secs(20),
        "/readyz to report the lost server",
        || async move { (http_get(addr, "/readyz").await.0 == 503).then_some(()) },
    )
    .await;
    let _server = server_with_db(port, &db).await;
    let started = load.await.expect("load task");
    assert_eq!(started.len(), RUNS);
    wait_ready(addr).await;

    let client = client(&address).await;
    let handle = client.get_workflow_handle::<test_workflows::SignalQueryWorkflow>(&waiting);
    handle
        .signal(
            test_workflows::SignalQueryWorkflow::finish,
            "after".to_string(),
            Default::default(),
        )
        .await
        .expect("signal after the restart");
    // The restarted dev server holds versioned polls for about a minute (see above).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    for (name, id, handle) in &started {
        let result = loop {
            let get = handle.get_result(WorkflowGetResultOptions::default());
            match tokio::time::timeout(Duration::from_secs(30), get).await {
                Ok(Ok(value)) => break value,
                other => assert!(
                    tokio::time::Instant::now() < deadline,
                    "run {id} ({name}) did not finish after the restart: {other:?}"
                ),
            }
        };
        assert_eq!(
            result,
            serde_json::json!(format!("Hello, {name}!")),
            "run {id}"
        );
    }
    let result = tokio::time::timeout(
        Duration::from_secs(180),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the waiting run finishes after the restart")
    .expect("result");
    assert!(result.ends_with("finished with after"), "{result}");
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        !metrics.contains("wasm_worker_workflow_task_failures_total{"),
        "no workflow task failed: {metrics}"
    );
    host.stop().await.expect("clean stop");
}
