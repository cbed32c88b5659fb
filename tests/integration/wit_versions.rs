//! Versioning a WIT-typed workflow on a real server: a change behind `patched` moves a
//! running auto-upgrade workflow to the new build without a non-determinism failure while new
//! runs take the new path, and a new build of a WIT workflow ramps and is promoted.
//! `tests/guests/versioned-workflow-v1` and `-v2` are the two builds of one workflow type.

use crate::common::guests::{self, HELLO_ACTIVITY, VERSIONED_WORKFLOW_V1, VERSIONED_WORKFLOW_V2};
use crate::common::workflows::{ByName, client};
use crate::common::{eventually, http_get, plugin_host_with, shared_server, unique};
use crate::hot_swap::{pinned_build, publish, swap_in};
use crate::ramp::{generation, ramping};
use crate::wit_workflows::{Handle, history, signal, status};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use wasm_worker::config::RolloutPolicy;

const FILE: &str = "versioned_workflow.wasm";

async fn start(queue: &str, id: &str, name: &str, wait_for_go: bool) -> Handle {
    client(shared_server())
        .await
        .start_workflow(
            ByName("greet_twice"),
            json!({"name": name, "wait-for-go": wait_for_go}),
            WorkflowStartOptions::new(queue, id).build(),
        )
        .await
        .expect("start")
}

/// The run's result; a run stuck on failing workflow tasks (say, a non-determinism failure)
/// fails the test after a minute.
async fn result(handle: &Handle) -> Value {
    tokio::time::timeout(
        Duration::from_secs(60),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the run ended within a minute")
    .expect("result")
}

fn greetings(name: &str) -> Value {
    json!([format!("Hello, {name}!"), format!("Hello, {name} again!")])
}

async fn event_types(id: &str) -> Vec<EventType> {
    let client = client(shared_server()).await;
    history(&client, id)
        .await
        .iter()
        .map(|e| e.event_type())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_moves_a_running_workflow_to_new_code_and_new_runs_take_the_new_path() {
    // Nothing cached: every task re-executes the code against the history, the v1 run's on
    // v2 included.
    let (host, queue, dir) = plugin_host_with(
        &[
            (FILE, guests::bytes(VERSIONED_WORKFLOW_V1)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[("versioned_workflow.toml", "versioning = \"auto-upgrade\"\n")],
        |c| c.max_cached_workflows = 0,
    )
    .await;
    let addr = host.metrics_addr();
    let client = client(shared_server()).await;
    let old_id = unique("patch-old");
    let old = start(&queue, &old_id, "ada", true).await;
    eventually(Duration::from_secs(60), "the v1 run to wait", || {
        let old = &old;
        async move { (status(old).await.ok()? == json!("waiting")).then_some(()) }
    })
    .await;
    let v1 = pinned_build(&client, &old_id).await;
    let v2 = swap_in(
        dir.path(),
        addr,
        FILE,
        &guests::bytes(VERSIONED_WORKFLOW_V2),
        &v1,
    )
    .await;
    assert_ne!(v1, v2);

    // The run v1 started finishes on v2, which takes the old path where its history has no
    // marker: no timer where the history has an activity.
    signal(&old, "go", json!(null)).await;
    assert_eq!(
        result(&old).await,
        json!({"path": "unpatched", "greetings": greetings("ada")})
    );
    assert_eq!(
        pinned_build(&client, &old_id).await,
        v2,
        "its last task ran on v2"
    );
    let events = event_types(&old_id).await;
    assert!(
        !events.contains(&EventType::MarkerRecorded) && !events.contains(&EventType::TimerStarted),
        "{events:?}"
    );

    // A run v2 starts takes the new path: its history records the patch, then the timer.
    let new_id = unique("patch-new");
    let new = start(&queue, &new_id, "bo", false).await;
    assert_eq!(
        result(&new).await,
        json!({"path": "patched", "greetings": greetings("bo")})
    );
    let events = event_types(&new_id).await;
    let at = |t| events.iter().position(|e| *e == t).unwrap_or(usize::MAX);
    assert!(
        at(EventType::MarkerRecorded) < at(EventType::TimerStarted)
            && at(EventType::TimerStarted) < at(EventType::ActivityTaskScheduled),
        "{events:?}"
    );
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        !metrics.contains("wasm_worker_workflow_task_failures_total{"),
        "no task failed on the way: {metrics}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_build_of_a_wit_workflow_ramps_then_is_promoted() {
    let (host, queue, dir) = plugin_host_with(
        &[
            (FILE, guests::bytes(VERSIONED_WORKFLOW_V1)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
        |c| {
            c.rollout = RolloutPolicy::Ramp {
                percent: 50.0,
                promote_after: 4,
                max_failure_rate: 0.1,
            };
            c.drain_limit = Duration::from_secs(5);
        },
    )
    .await;
    let addr = host.metrics_addr();
    let first = generation(addr, "current").await.expect("current")["build_id"]
        .as_str()
        .expect("build id")
        .to_string();
    publish(dir.path(), FILE, &guests::bytes(VERSIONED_WORKFLOW_V2));
    let second = ramping(addr).await["build_id"]
        .as_str()
        .expect("build id")
        .to_string();

    // Pinned runs split between the builds, each running its own build's code.
    let client = client(shared_server()).await;
    let mut seen = BTreeSet::new();
    for i in 0..16 {
        let id = unique("ramp-wit");
        let name = format!("r{i}");
        let outcome = result(&start(&queue, &id, &name, false).await).await;
        assert_eq!(outcome["greetings"], greetings(&name));
        let build = pinned_build(&client, &id).await;
        let path = outcome["path"].as_str().expect("path").to_string();
        let expected = if build == first { "v1" } else { "patched" };
        assert!(build == first || build == second, "{build}");
        assert_eq!(path, expected, "run {id} on {build}");
        seen.insert(path);
    }
    assert_eq!(seen.len(), 2, "with a 50% ramp both builds ran: {seen:?}");
    eventually(Duration::from_secs(30), "the promotion", || {
        let second = second.clone();
        async move {
            let current = generation(addr, "current").await?;
            (current["build_id"] == second.as_str()).then_some(())
        }
    })
    .await;
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_swaps_total{result=\"promoted\"} 1"),
        "{metrics}"
    );
    let id = unique("ramp-wit-after");
    let outcome = result(&start(&queue, &id, "z", false).await).await;
    assert_eq!(outcome["path"], "patched");
    assert_eq!(pinned_build(&client, &id).await, second);
    host.stop().await.expect("stop");
}
