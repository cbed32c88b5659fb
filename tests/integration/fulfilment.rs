//! One order-fulfilment workflow (`plugins/fulfilment`) written in Rust, Python and
//! JavaScript, each calling the Python, C and JavaScript activity plugins, run on one host
//! with nothing cached (every task re-executes the function against history): the three give
//! the same result, with the same history shape — a typed Python call, a typed C call, a
//! fan-out of 10 JavaScript activities in one workflow task, a child that continues as new, a
//! typed signal (a malformed one dropped and counted) and a timer.

use crate::common::guests::{self, ORDER_WORKFLOW};
use crate::common::workflows::{ByName, client};
use crate::common::{eventually, http_get, plugin_host_with, shared_server, unique};
use crate::polyglot::built;
use crate::wit_workflows::{Handle, evictions, history, json_payload, scheduled, status};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{UntypedSignal, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::data_converters::RawValue;
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

async fn signal(handle: &Handle, argument: Value) {
    handle
        .signal(
            UntypedSignal::<ByName>::new("approve"),
            RawValue::new(vec![json_payload(&argument)]),
            Default::default(),
        )
        .await
        .expect("signal");
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
    let (host, queue, _dir) = plugin_host_with(
        &[
            ("order_workflow.wasm", guests::bytes(ORDER_WORKFLOW)),
            ("python_workflow.wasm", built("python_workflow.wasm")),
            ("js_workflow.wasm", built("js_workflow.wasm")),
            ("python_activity.wasm", built("python_activity.wasm")),
            ("js_activity.wasm", built("js_activity.wasm")),
            ("c_activity.wasm", built("c_activity.wasm")),
        ],
        &[],
        |c| c.max_cached_workflows = 0,
    )
    .await;
    let crc = crc32(ORDER.as_bytes());
    let notices: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("Dear customer-{i}, order {crc:08x} is confirmed."))
        .collect();
    let client = client(shared_server()).await;
    for workflow_type in TYPES {
        let id = unique(workflow_type);
        let handle = start(&queue, &id, workflow_type, request(ORDER, None)).await;
        eventually(Duration::from_secs(90), "the run to wait for approval", || {
            let handle = &handle;
            async move { (status(handle).await.ok()? == json!("awaiting approval")).then_some(()) }
        })
        .await;
        // Not an approval: dropped, and the run waits on for one that is.
        signal(&handle, json!(42)).await;
        signal(&handle, json!({"by": "dana", "note": "ok"})).await;
        let mut result = outcome(&handle).await.expect("fulfilled");
        assert!(
            result["decided_at_ms"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000),
            "{workflow_type}: {result}"
        );
        result["decided_at_ms"] = json!(null);
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
