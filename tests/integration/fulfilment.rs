//! One order-fulfilment workflow (`plugins/fulfilment`) written in Rust, Python and
//! JavaScript, each calling the Python, C and JavaScript activity plugins, run on one host
//! with nothing cached (every task re-executes the function against history): the three give
//! the same result, with the same history shape — a typed Python call, a typed C call, a
//! fan-out of 10 JavaScript activities in one workflow task, a child that continues as new, a
//! typed signal (a malformed one dropped and counted) and a timer.

use crate::common::guests::{self, ORDER_WORKFLOW};
use crate::common::workflows::{ByName, client};
use crate::common::{http_get, plugin_host_with, shared_server, unique};
use crate::polyglot::built;
use crate::wit_workflows::{
    Handle, awaiting_approval, evictions, history, replays_and_names_a_mismatch, scheduled, signal,
};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::protos::temporal::api::enums::v1::EventType;

/// The workflow type in each language.
const TYPES: [&str; 3] = [
    "rust_fulfil_order",
    "python_fulfil_order",
    "js_fulfil_order",
];
const CUSTOMERS: usize = 10;
const ORDER: &str =
    r#"{"id": "A-7", "lines": [{"sku": "tea", "quantity": 2}], "note": "ring twice"}"#;

/// CRC-32 (IEEE), as c-activity computes it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn request(order: &str, approver: Option<&str>) -> Value {
    let customers: Vec<String> = (0..CUSTOMERS).map(|i| format!("customer-{i}")).collect();
    json!({
        "order": order,
        "customers": customers,
        "loyalty-rounds": 4,
        "cool-off-ms": 200,
        "approver": approver,
    })
}

/// Every plugin the three workflows need: the workflow plugins and the Python, JavaScript and
/// C activity plugins.
fn plugins() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("order_workflow.wasm", guests::bytes(ORDER_WORKFLOW)),
        ("python_workflow.wasm", built("python_workflow.wasm")),
        ("js_workflow.wasm", built("js_workflow.wasm")),
        ("python_activity.wasm", built("python_activity.wasm")),
        ("js_activity.wasm", built("js_activity.wasm")),
        ("c_activity.wasm", built("c_activity.wasm")),
    ]
}

/// Checks a fulfilment of [`ORDER`] approved by dana with the note "ok".
fn check(workflow_type: &str, mut result: Value) {
    assert!(
        result["decided_at_ms"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000),
        "{workflow_type}: {result}"
    );
    result["decided_at_ms"] = json!(null);
    let crc = crc32(ORDER.as_bytes());
    let notices: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("Dear customer-{i}, order {crc:08x} is confirmed."))
        .collect();
    assert_eq!(
        result,
        json!({
            "fields": ["id", "lines", "note"],
            "crc32": crc,
            "notices": notices,
            "loyalty": 10,
            "approval": {"by": "dana", "note": "ok"},
            "decided_at_ms": null,
        }),
        "{workflow_type}"
    );
}

async fn start(queue: &str, id: &str, workflow_type: &'static str, input: Value) -> Handle {
    client(shared_server())
        .await
        .start_workflow(
            ByName(workflow_type),
            input,
            WorkflowStartOptions::new(queue, id).build(),
        )
        .await
        .expect("start")
}

async fn outcome(handle: &Handle) -> Result<Value, String> {
    tokio::time::timeout(
        Duration::from_secs(120),
        handle.get_result(WorkflowGetResultOptions::default()),
    )
    .await
    .expect("the run ended within two minutes")
    .map_err(|e| format!("{e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_workflow_in_three_languages_gives_the_same_result() {
    let (host, queue, dir) =
        plugin_host_with(&plugins(), &[], |c| c.max_cached_workflows = 0).await;
    let client = client(shared_server()).await;
    for workflow_type in TYPES {
        let id = unique(workflow_type);
        let handle = awaiting_approval(&queue, &id, workflow_type, request(ORDER, None)).await;
        // Not an approval: dropped, and the run waits on for one that is.
        signal(&handle, "approve", json!(42)).await;
        signal(&handle, "approve", json!({"by": "dana", "note": "ok"})).await;
        check(workflow_type, outcome(&handle).await.expect("fulfilled"));

        let events = history(&client, &id).await;
        let scheduled = scheduled(&events);
        let types: Vec<&str> = scheduled.iter().map(|(t, _)| t.as_str()).collect();
        let mut expected = vec!["validate_document", "checksum"];
        expected.extend(["render_template"; CUSTOMERS]);
        assert_eq!(types, expected, "{workflow_type}");
        assert!(
            scheduled[2..]
                .iter()
                .all(|(_, task)| *task == scheduled[2].1),
            "{workflow_type}: the fan-out was scheduled by one workflow task: {scheduled:?}"
        );
        let count = |t: EventType| events.iter().filter(|e| e.event_type() == t).count();
        assert_eq!(count(EventType::StartChildWorkflowExecutionInitiated), 1);
        assert_eq!(count(EventType::TimerStarted), 1);
        assert_eq!(count(EventType::WorkflowExecutionSignaled), 2);
        // Offline, through core's replayer: the history replays on the same code, and with
        // its first activity renamed it fails naming both types.
        replays_and_names_a_mismatch(dir.path(), &id).await;
    }
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    for workflow_type in TYPES {
        let line = format!(
            "wasm_worker_workflow_signals_dropped_total{{workflow_type=\"{workflow_type}\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} in:\n{metrics}");
    }
    assert!(
        evictions(&metrics) >= TYPES.len() as u64 * 5,
        "nothing was cached: {metrics}"
    );

    // An order without `lines` is refused the same way in each language, approved up front
    // or not: the workflow fails before it waits.
    for workflow_type in TYPES {
        let id = unique("refused");
        let handle = start(
            &queue,
            &id,
            workflow_type,
            request(r#"{"id": "A-8"}"#, Some("x")),
        )
        .await;
        let e = outcome(&handle).await.expect_err("refused");
        assert!(e.contains("the order lacks lines"), "{workflow_type}: {e}");
    }
    host.stop().await.expect("stop");
}

/// A host process holding a waiting run of each language is killed (-9); a second host
/// process replays the three runs from their histories when the approvals come, and they end
/// as if nothing happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_host_finishes_the_runs_a_killed_one_left_waiting() {
    use crate::common::{self, spawn_host_on};
    let folder = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in plugins() {
        std::fs::write(folder.path().join(name), bytes).expect("write");
    }
    let queue = unique("fulfil-takeover");
    let deployment = unique("dep");
    common::precompile(folder.path()).await;
    let spawn = || spawn_host_on(&queue, &deployment, folder.path());
    let (mut first, addr) = spawn();
    common::wait_ready(addr).await;
    let mut handles = Vec::new();
    for workflow_type in TYPES {
        let id = unique("half-done");
        let handle = awaiting_approval(&queue, &id, workflow_type, request(ORDER, None)).await;
        handles.push((workflow_type, handle));
    }
    let (_, metrics) = http_get(addr, "/metrics").await;
    let cached: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wasm_worker_workflow_runs_cached "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the cached-runs gauge");
    assert!(cached >= 3, "the three waiting runs are cached: {metrics}");
    first.kill().await.expect("kill -9 the first host");

    let (_second, addr) = spawn();
    common::wait_ready(addr).await;
    for (workflow_type, handle) in &handles {
        signal(handle, "approve", json!({"by": "dana", "note": "ok"})).await;
        check(workflow_type, outcome(handle).await.expect("fulfilled"));
    }
    let (_, metrics) = http_get(addr, "/metrics").await;
    for workflow_type in TYPES {
        let line =
            format!("wasm_worker_workflow_activations_total{{workflow_type=\"{workflow_type}\"}}");
        assert!(
            metrics.contains(&line),
            "the second host ran {workflow_type}: {metrics}"
        );
    }
}
