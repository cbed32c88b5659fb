//! The worker's life on a real server: metrics, tasks for unknown types, in-flight work at
//! shutdown, SIGTERM to the real binary.

use crate::common::workflows::{ByName, Call, client, run_activity};
use crate::common::{self, eventually, http_get, shared_server, wait_ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use temporalio_client::{UntypedWorkflow, WorkflowFetchHistoryOptions, WorkflowStartOptions};
use temporalio_common::protos::coresdk::{AsJsonPayloadExt as _, FromJsonPayloadExt as _};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use wasm_worker::Host;
use wasm_worker::activity::{ActivityContext, ActivityError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_core_and_host_series() {
    let (config, _plugins) = common::config(shared_server(), "metrics");
    let queue = config.task_queue.clone();
    let host = Host::new(config).start().await.expect("host starts");
    let addr = host.metrics_addr();
    wait_ready(addr).await;
    let metrics = eventually(
        Duration::from_secs(10),
        "the backlog gauge",
        || async move {
            let (status, body) = http_get(addr, "/metrics").await;
            assert_eq!(status, 200);
            // Both series: the refresher sets one task type after the other.
            (body.contains("task_type=\"activity\"}") && body.contains("task_type=\"workflow\"}"))
                .then_some(body)
        },
    )
    .await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("temporal_") && l.contains(&format!("task_queue=\"{queue}\""))),
        "no temporal_ series for the queue in:\n{metrics}"
    );
    assert!(metrics.contains("wasm_worker_ready 1"), "{metrics}");
    assert!(
        metrics.contains(&format!(
            "wasm_worker_task_queue_backlog{{task_queue=\"{queue}\",task_type=\"activity\"}} 0"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("wasm_worker_info{"), "{metrics}");
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    host.stop().await.expect("clean stop");
}

/// Until a plugin provides a workflow type, its task fails with a message naming the type and
/// the task queue, visible in the workflow's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_of_an_unknown_type_fails_its_task_with_a_clear_message() {
    let (config, _plugins) = common::config(shared_server(), "unknown-wf");
    let queue = config.task_queue.clone();
    let host = Host::new(config).start().await.expect("host starts");
    wait_ready(host.metrics_addr()).await;
    let client = client(shared_server()).await;
    let id = common::unique("unknown-wf");
    client
        .start_workflow(
            ByName("NoSuchWorkflow"),
            serde_json::json!("x"),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start");
    let message = eventually(
        Duration::from_secs(30),
        "a WorkflowTaskFailed event",
        || {
            let handle = client.get_workflow_handle::<UntypedWorkflow>(&id);
            async move {
                let events = handle
                    .fetch_history(WorkflowFetchHistoryOptions::default())
                    .into_events()
                    .await
                    .ok()?;
                events.into_iter().find_map(|e| match e.attributes {
                    Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => {
                        a.failure.map(|f| f.message)
                    }
                    _ => None,
                })
            }
        },
    )
    .await;
    assert_eq!(
        message,
        format!(
            "workflow type `NoSuchWorkflow` is not provided by any plugin on task queue `{queue}`; workflow types here: none (no workflow plugin is loaded)"
        )
    );
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.contains(
            "wasm_worker_unknown_type_tasks_total{kind=\"workflow\",type=\"NoSuchWorkflow\"}"
        ),
        "{metrics}"
    );
    client
        .get_workflow_handle::<UntypedWorkflow>(&id)
        .terminate(Default::default())
        .await
        .expect("terminate");
    host.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_of_an_unknown_type_fails_naming_type_and_queue() {
    let (config, _plugins) = common::config(shared_server(), "unknown-act");
    let queue = config.task_queue.clone();
    let host = Host::new(config).start().await.expect("host starts");
    wait_ready(host.metrics_addr()).await;
    let call = Call::new("no_such_activity", &queue).json(serde_json::json!("x"));
    let outcome = run_activity(shared_server(), &format!("{queue}-wf"), call).await;
    assert_eq!(outcome.failure().error_type, "ActivityTypeNotFound");
    let err = outcome.error();
    assert!(
        err.contains(&format!(
            "activity type `no_such_activity` is not provided by any plugin on task queue `{queue}`"
        )),
        "{err}"
    );
    host.stop().await.expect("clean stop");
}

/// A registered activity runs with its input, and an activity in flight when the host is told
/// to stop finishes (within the grace period) and its result reaches the workflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_flight_activity_finishes_before_the_host_stops() {
    let (config, _plugins) = common::config(shared_server(), "inflight");
    let queue = config.task_queue.clone();
    let started = Arc::new(AtomicBool::new(false));
    let flag = started.clone();
    let slow = move |ctx: ActivityContext, input: Vec<Payload>| {
        let flag = flag.clone();
        async move {
            flag.store(true, Ordering::SeqCst);
            let arg = input
                .first()
                .map(String::from_json_payload)
                .transpose()
                .map_err(|e| ActivityError::non_retryable("BadInput", e.to_string()))?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            let out = format!(
                "done:{}:attempt{}",
                arg.unwrap_or_default(),
                ctx.info.attempt
            );
            out.as_json_payload()
                .map_err(|e| ActivityError::non_retryable("BadOutput", e.to_string()))
        }
    };
    let host = Host::new(config)
        .activity("slow_activity", slow)
        .start()
        .await
        .expect("host starts");
    wait_ready(host.metrics_addr()).await;
    let call = Call::new("slow_activity", &queue).json(serde_json::json!("payload"));
    let workflow_queue = format!("{queue}-wf");
    let stop_while_running = async {
        eventually(Duration::from_secs(30), "the activity to start", || {
            let started = started.clone();
            async move { started.load(Ordering::SeqCst).then_some(()) }
        })
        .await;
        let stopping = tokio::time::Instant::now();
        host.stop().await.expect("clean stop");
        stopping.elapsed()
    };
    // The native worker's future is not Send: drive both on this task.
    let (result, stop_took) = tokio::join!(
        run_activity(shared_server(), &workflow_queue, call),
        stop_while_running
    );
    assert!(
        stop_took >= Duration::from_secs(1),
        "stop did not wait for the in-flight activity ({stop_took:?})"
    );
    assert_eq!(result.json(), serde_json::json!("done:payload:attempt1"));
}

/// SIGTERM to the real binary: graceful stop, exit code 0, within the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_binary_cleanly() {
    let plugins = tempfile::tempdir().expect("tempdir");
    let (queue, deployment) = (common::unique("sigterm"), common::unique("dep"));
    let (mut child, addr) = common::spawn_host(
        &[
            "--address",
            shared_server(),
            "--task-queue",
            &queue,
            "--deployment-name",
            &deployment,
            "--shutdown-grace",
            "5s",
        ],
        &[],
        plugins.path(),
        std::process::Stdio::piped(),
    );
    wait_ready(addr).await;
    common::sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the binary exits after SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut logs = String::new();
    if let Some(mut out) = child.stdout.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut out, &mut logs)
            .await
            .expect("logs");
    }
    assert!(logs.contains("shutdown requested"), "{logs}");
    assert!(logs.contains("worker stopped"), "{logs}");
}

/// Starts the real binary with the test plugin on its own queue; returns the child, its
/// metrics address, its queue and the plugins folder (keep it alive).
async fn spawn_binary_with_test_plugin(
    grace: &str,
) -> (
    tokio::process::Child,
    std::net::SocketAddr,
    String,
    tempfile::TempDir,
) {
    use crate::common::guests::{self, TEST_ACTIVITIES};
    let plugins = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        plugins.path().join("test_activities.wasm"),
        guests::bytes(TEST_ACTIVITIES),
    )
    .expect("write");
    let queue = common::unique("signals");
    let deployment = common::unique("dep");
    let (child, addr) = common::spawn_host(
        &[
            "--address",
            shared_server(),
            "--task-queue",
            &queue,
            "--deployment-name",
            &deployment,
            "--shutdown-grace",
            grace,
        ],
        &[],
        plugins.path(),
        std::process::Stdio::null(),
    );
    wait_ready(addr).await;
    (child, addr, queue, plugins)
}

async fn wait_in_flight(addr: std::net::SocketAddr) {
    eventually(
        Duration::from_secs(30),
        "an activity in flight",
        || async move {
            let (_, m) = http_get(addr, "/metrics").await;
            m.contains("wasm_worker_activities_in_flight 1")
                .then_some(())
        },
    )
    .await;
}

/// SIGTERM while a plugin activity runs: the binary lets it finish, its result reaches the
/// workflow, and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_plugin_activity_finish() {
    let (mut child, addr, queue, _plugins) = spawn_binary_with_test_plugin("30s").await;
    let call = Call::new("sleep_ms", &queue).json(serde_json::json!(2000));
    let stop = async {
        wait_in_flight(addr).await;
        common::sigterm(&child);
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("wait")
    };
    let workflow_queue = format!("{queue}-wf");
    let (outcome, status) =
        tokio::join!(run_activity(shared_server(), &workflow_queue, call), stop);
    assert_eq!(outcome.json(), serde_json::json!("slept 2000 ms"));
    assert_eq!(status.code(), Some(0));
}

/// A second signal does not wait for the grace period: the binary exits at once with 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let (mut child, addr, queue, _plugins) = spawn_binary_with_test_plugin("60s").await;
    let call = Call::new("sleep_ms", &queue).json(serde_json::json!(60_000));
    let signals = async {
        wait_in_flight(addr).await;
        common::sigterm(&child);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "exited before the activity finished"
        );
        common::sigterm(&child);
        tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("exits at once after the second signal")
            .expect("wait")
    };
    // The workflow never completes here (its activity dies with the host): race it.
    let workflow_queue = format!("{queue}-wf");
    let workflow = run_activity(shared_server(), &workflow_queue, call);
    let status = tokio::select! {
        s = signals => s,
        _ = workflow => panic!("the workflow cannot finish while its activity sleeps for a minute"),
    };
    assert_eq!(status.code(), Some(130));
}
