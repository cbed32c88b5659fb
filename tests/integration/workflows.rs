//! Workflow plugins on a real server: the hello-world flow end to end.

use crate::common::guests::{self, GREETING_WORKFLOW, HELLO_ACTIVITY};
use crate::common::workflows::{ByName, client};
use crate::common::{http_get, plugin_host, shared_server, unique};
use serde_json::json;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greeting_workflow_runs_greet_activity_end_to_end() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("greeting_workflow.wasm", guests::bytes(GREETING_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
    )
    .await;
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ByName("GreetingWorkflow"),
            json!("World"),
            WorkflowStartOptions::new(&queue, unique("greet")).build(),
        )
        .await
        .expect("start");
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result, json!("Hello, World!"));

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "wasm_worker_workflow_activations_total{workflow_type=\"GreetingWorkflow\"}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("wasm_worker_plugins_loaded 2"),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}
