//! Ramped rollouts on a real server (`--rollout ramp:N%`): a new plugin set ramps, takes its
//! share of new runs, and is promoted after enough completed runs — or rolled back when its
//! workflow tasks fail.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_WORKFLOWS};
use crate::common::workflows::client;
use crate::common::{eventually, http_get, plugin_host_with, shared_server, unique};
use crate::hot_swap::{pinned_build, publish, status};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use test_workflows::ChildWorkflow;
use wasm_worker::config::RolloutPolicy;

/// A host on the test workflows that ramps new sets to 50%, promoting after `promote_after`
/// completed runs and rolling back above 10% failures.
async fn ramp_host(promote_after: u64) -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    plugin_host_with(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
        |c| {
            c.rollout = RolloutPolicy::Ramp {
                percent: 50.0,
                promote_after,
                max_failure_rate: 0.1,
            };
            c.drain_limit = Duration::from_secs(5);
        },
    )
    .await
}

/// Publishes a plugin beside the test workflows (a new build) and waits for it to ramp; its
/// `/status` entry.
async fn ramp_a_new_build(addr: SocketAddr, dir: &std::path::Path) -> Value {
    publish(dir, "hello_activity.wasm", &guests::bytes(HELLO_ACTIVITY));
    ramping(addr).await
}

/// Waits for a generation to ramp; its `/status` entry.
pub async fn ramping(addr: SocketAddr) -> Value {
    eventually(Duration::from_secs(60), "a ramping build", || async move {
        generation(addr, "ramping").await
    })
    .await
}

/// The generation in `state`, if any.
pub async fn generation(addr: SocketAddr, state: &str) -> Option<Value> {
    status(addr).await["generations"]
        .as_array()?
        .iter()
        .find(|g| g["state"] == state)
        .cloned()
}

/// Starts `n` quick runs (ChildWorkflow doubles its input) and returns the build each one's
/// last task ran on.
async fn run_quick_workflows(client: &Client, queue: &str, n: u32) -> Vec<String> {
    let mut builds = Vec::new();
    for i in 0..n {
        let id = unique("ramp-run");
        let handle = client
            .start_workflow(
                ChildWorkflow::run,
                i,
                WorkflowStartOptions::new(queue, &id).build(),
            )
            .await
            .expect("start");
        let doubled = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        assert_eq!(doubled, i * 2);
        builds.push(pinned_build(client, &id).await);
    }
    builds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramping_build_takes_a_share_of_new_runs_then_is_promoted() {
    let (host, queue, dir) = ramp_host(4).await;
    let addr = host.metrics_addr();
    let first = generation(addr, "current").await.expect("current")["build_id"].clone();
    let ramping = ramp_a_new_build(addr, dir.path()).await;
    assert_eq!(ramping["ramp_percent"], 50.0, "{ramping}");
    let second = ramping["build_id"].as_str().expect("build id").to_string();
    assert_eq!(
        generation(addr, "current").await.expect("current")["build_id"],
        first,
        "the old build stays current while the new one ramps"
    );

    // Runs split between the builds until the new one has completed enough to be promoted.
    let client = client(shared_server()).await;
    let builds = run_quick_workflows(&client, &queue, 16).await;
    let distinct: BTreeSet<&String> = builds.iter().collect();
    assert_eq!(
        distinct.len(),
        2,
        "with a 50% ramp both builds get runs: {builds:?}"
    );
    let promoted = eventually(Duration::from_secs(30), "the promotion", || {
        let second = second.clone();
        async move {
            let current = generation(addr, "current").await?;
            (current["build_id"] == second.as_str()).then_some(current)
        }
    })
    .await;
    assert!(generation(addr, "ramping").await.is_none(), "{promoted}");
    let (_, metrics) = http_get(addr, "/metrics").await;
    for line in [
        "wasm_worker_swaps_total{result=\"ramping\"} 1",
        "wasm_worker_swaps_total{result=\"promoted\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    // After promotion every new run goes to the new build.
    let builds = run_quick_workflows(&client, &queue, 3).await;
    assert!(builds.iter().all(|b| *b == second), "{builds:?}");
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramping_build_whose_tasks_fail_is_rolled_back() {
    // The new set lacks the workflow plugin: every run ramped to it fails its workflow task.
    let (host, queue, dir) = ramp_host(100).await;
    let addr = host.metrics_addr();
    let first = generation(addr, "current").await.expect("current")["build_id"]
        .as_str()
        .expect("build id")
        .to_string();
    publish(
        dir.path(),
        "hello_activity.wasm",
        &guests::bytes(HELLO_ACTIVITY),
    );
    std::fs::remove_file(dir.path().join("test_workflows.wasm")).expect("remove");
    let bad = ramping(addr).await["build_id"]
        .as_str()
        .expect("build id")
        .to_string();

    // Runs that land on the bad build fail their tasks until the ramp is rolled back; then
    // they are retried on the current build and complete.
    let client = client(shared_server()).await;
    let mut handles = Vec::new();
    for i in 0..12u32 {
        let id = unique("ramp-bad");
        let handle = client
            .start_workflow(
                ChildWorkflow::run,
                i,
                WorkflowStartOptions::new(&queue, &id).build(),
            )
            .await
            .expect("start");
        handles.push((i, id, handle));
    }
    let rollback = eventually(Duration::from_secs(60), "the rollback", || async move {
        let s = status(addr).await;
        s["last_rollback"]
            .is_object()
            .then_some(s["last_rollback"].clone())
    })
    .await;
    assert_eq!(rollback["build_id"], bad.as_str(), "{rollback}");
    assert!(
        rollback["reason"]
            .as_str()
            .is_some_and(|r| r.contains("workflow tasks and activities failed")),
        "{rollback}"
    );
    assert!(generation(addr, "ramping").await.is_none());
    assert_eq!(
        generation(addr, "current").await.expect("current")["build_id"],
        first.as_str()
    );
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_swaps_total{result=\"rolled_back\"} 1"),
        "{metrics}"
    );
    // Nothing is lost: the runs the bad build failed are retried on the current one.
    for (i, id, handle) in handles {
        let doubled = tokio::time::timeout(
            Duration::from_secs(90),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .unwrap_or_else(|_| panic!("{id} did not complete after the rollback"))
        .expect("result");
        assert_eq!(doubled, i * 2);
        assert_eq!(pinned_build(&client, &id).await, first, "{id}");
    }
    host.stop().await.expect("stop");
}

/// A client cannot block a good rollout: tasks for workflow types that neither build serves
/// (here 40 random ones, started while a ramp runs) are not failures of the ramping build, so
/// it is promoted, not rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_from_clients_do_not_roll_a_ramp_back() {
    let (host, queue, dir) = ramp_host(4).await;
    let addr = host.metrics_addr();
    let ramping = ramp_a_new_build(addr, dir.path()).await;
    let second = ramping["build_id"].as_str().expect("build id").to_string();
    let client = client(shared_server()).await;
    let mut strays = Vec::new();
    for i in 0..40 {
        let name: &'static str =
            Box::leak(format!("NoSuchType{i}x{}", unique("t")).into_boxed_str());
        let id = unique("stray");
        client
            .start_workflow(
                crate::common::workflows::ByName(name),
                serde_json::json!(null),
                WorkflowStartOptions::new(&queue, &id).build(),
            )
            .await
            .expect("start");
        strays.push(id);
    }
    run_quick_workflows(&client, &queue, 16).await;
    eventually(Duration::from_secs(30), "the promotion", || {
        let second = second.clone();
        async move {
            let current = generation(addr, "current").await?;
            (current["build_id"] == second.as_str()).then_some(())
        }
    })
    .await;
    let status = status(addr).await;
    assert!(status["last_rollback"].is_null(), "{status}");
    for id in strays {
        let _ = client
            .get_workflow_handle::<temporalio_client::UntypedWorkflow>(&id)
            .terminate(Default::default())
            .await;
    }
    host.stop().await.expect("stop");
}
