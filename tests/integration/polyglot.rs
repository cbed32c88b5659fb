//! Activities in Python, JavaScript and C, called from one Rust workflow: the WIT contract is
//! language-neutral. The three plugins are built by `make plugins` (each with its own
//! toolchain) into `dist/plugins/`; the workflow is `OrderCheckWorkflow` from
//! `plugins/example-workflows`.

use crate::common::guests::{self, EXAMPLE_WORKFLOWS};
use crate::common::workflows::{Call, client, run_activity};
use crate::common::{plugin_host, shared_server, unique};
use example_workflows::{Digest, DocumentReport, ORDER_TEMPLATE, OrderCheck, OrderCheckWorkflow};
use serde_json::json;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

/// A plugin `make plugins` built, by file name.
pub fn built(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dist/plugins")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the polyglot plugins are built by `make plugins` (which `make test` runs)",
            path.display()
        )
    })
}

async fn polyglot_host() -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    plugin_host(
        &[
            ("example_workflows.wasm", guests::bytes(EXAMPLE_WORKFLOWS)),
            ("python_activity.wasm", built("python_activity.wasm")),
            ("js_activity.wasm", built("js_activity.wasm")),
            ("c_activity.wasm", built("c_activity.wasm")),
        ],
        &[],
    )
    .await
}

/// The digest the C plugin must compute, from independent implementations.
fn expected_digest(bytes: &[u8]) -> Digest {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in bytes {
        fnv ^= u64::from(x);
        fnv = fnv.wrapping_mul(0x0100_0000_01b3);
    }
    Digest {
        length: bytes.len() as u64,
        crc32: crc32fast::hash(bytes),
        adler32: (b << 16) | a,
        fnv1a64: fnv,
    }
}

async fn check(queue: &str, document: &str) -> Result<OrderCheck, String> {
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            OrderCheckWorkflow::run,
            document.to_string(),
            WorkflowStartOptions::new(queue, unique("order")).build(),
        )
        .await
        .expect("start");
    handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_workflow_calls_python_javascript_and_c_activities() {
    let (host, queue, _dir) = polyglot_host().await;
    let (_, status) = crate::common::http_get(host.metrics_addr(), "/status").await;
    assert!(
        status.contains("validate_document: ") && !status.contains("\"init: "),
        "componentize-py's build hook is not an activity: {status}"
    );

    let complete = r#"{"id": "A-17", "title": "Green tea", "customer": "Ada", "lines": [{"sku": "t", "qty": 2}]}"#;
    let result = check(&queue, complete).await.expect("completes");
    assert_eq!(
        result.report,
        DocumentReport {
            field_count: 4,
            fields: ["id", "title", "customer", "lines"]
                .map(String::from)
                .to_vec(),
            missing: vec![],
            title: Some("Green tea".into()),
            depth: 3,
            valid: true,
        },
        "Python's validation"
    );
    let confirmation = "Order \"Green tea\": 4 field(s), complete.";
    assert_eq!(
        result.confirmation, confirmation,
        "JavaScript's rendering of {ORDER_TEMPLATE}"
    );
    assert_eq!(
        result.digest,
        expected_digest(confirmation.as_bytes()),
        "C's checksums"
    );

    // An incomplete document: the missing fields flow from Python into the JS template.
    let result = check(&queue, r#"{"id": "B-2"}"#).await.expect("completes");
    assert_eq!(result.report.missing, ["title", "customer"]);
    assert_eq!(result.report.title, None);
    assert_eq!(
        result.confirmation,
        "Order \"untitled\": 1 field(s), incomplete."
    );
    assert_eq!(
        result.digest,
        expected_digest(result.confirmation.as_bytes())
    );

    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_languages_err_becomes_a_plugin_error_with_its_message() {
    let (host, queue, _dir) = polyglot_host().await;
    let run = |call: Call| {
        let workflow_queue = format!("{queue}-wf-{}", unique("w"));
        async move { run_activity(shared_server(), &workflow_queue, call).await }
    };
    let cases = [
        (
            Call::new("validate_document", &queue)
                .json(json!("{not json"))
                .json(json!(["id"])),
            "malformed JSON at line 1, column 2",
        ),
        (
            Call::new("render_template", &queue)
                .json(json!("Hi {{name"))
                .json(json!([["name", "Ada"]])),
            "unclosed placeholder",
        ),
        (
            Call::new("verify_crc32", &queue)
                .json(json!([1, 2, 3]))
                .json(json!(0)),
            "CRC-32 mismatch: expected 00000000, got 55bc801d over 3 bytes",
        ),
    ];
    for (call, message) in cases {
        let activity = call.activity.clone();
        let out = run(call).await;
        let f = out.failure();
        assert_eq!(f.error_type, "PluginError", "{activity}: {f:?}");
        assert!(
            f.messages.iter().any(|m| m.contains(message)),
            "{activity}: {message:?} in {f:?}"
        );
    }
    // And the success paths of the other exports, with options and lists of records.
    let out = run(Call::new("word_stats", &queue)
        .json(json!("the cat and the hat"))
        .json(json!(1)))
    .await;
    assert_eq!(
        out.json()["top_words"],
        json!([{"word": "the", "count": 2}])
    );
    let out = run(Call::new("checksum_chunks", &queue)
        .json(json!([[1, 2], [3], [1, 2]]))
        .json(json!(null)))
    .await;
    let report = out.json();
    assert_eq!(report["first_duplicate"], json!(2), "{report}");
    assert_eq!(report["label"], json!(null), "{report}");
    assert_eq!(
        report["digests"][1]["crc32"],
        json!(crc32fast::hash(&[3])),
        "{report}"
    );
    host.stop().await.expect("stop");
}
