//! Native test workflows on a `temporalio-sdk` worker: they schedule activities on the host's
//! task queue, so the host's activity path is exercised by a real workflow on a real server.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_common::{
    ActivityDefinition, HasWorkflowDefinition, RetryPolicy, WorkflowDefinition,
};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
};

/// What `CallActivity` should call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    /// Activity type name.
    pub activity: String,
    /// The host's task queue.
    pub task_queue: String,
    /// The single string argument.
    pub arg: String,
}

/// An activity type known only by name.
pub struct Named(pub String);

impl ActivityDefinition for Named {
    type Input = String;
    type Output = String;
    fn name(&self) -> &str {
        &self.0
    }
}

/// Calls one activity on another task queue, once (no retries), and returns its result.
#[workflow]
#[derive(Default)]
pub struct CallActivity;

#[workflow_methods]
impl CallActivity {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, call: Call) -> WorkflowResult<String> {
        let opts = ActivityOptions::with_start_to_close_timeout(Duration::from_secs(60))
            .task_queue(call.task_queue)
            .retry_policy(RetryPolicy::builder().maximum_attempts(1).build())
            .build();
        let out: String = ctx
            .execute_activity(Named(call.activity), call.arg, opts)
            .await?;
        Ok(out)
    }
}

/// A workflow type known only by name, with JSON input and output.
pub struct ByName(pub &'static str);

impl WorkflowDefinition for ByName {
    type Input = serde_json::Value;
    type Output = serde_json::Value;
    fn name(&self) -> &str {
        self.0
    }
}

impl HasWorkflowDefinition for ByName {
    type Run = Self;
}

/// A client for `address` in namespace `default`.
pub async fn client(address: &str) -> Client {
    let url = Url::parse(&format!("http://{address}")).expect("url");
    let conn = Connection::connect(
        ConnectionOptions::new(url)
            .identity("wasm-worker-tests")
            .build(),
    )
    .await
    .expect("connecting the test client");
    Client::new(conn, ClientOptions::new("default").build()).expect("client")
}

/// Runs `CallActivity(call)` on a native worker polling `workflow_queue`, returning the
/// workflow's result or its failure rendered as text. The native worker runs only for the
/// duration of `body`, which receives the started workflow's id.
pub async fn call_activity(
    address: &str,
    workflow_queue: &str,
    call: Call,
) -> Result<String, String> {
    let client = client(address).await;
    let runtime = Runtime::from_current_tokio(Default::default()).expect("sdk runtime");
    let opts = WorkerOptions::new(workflow_queue)
        .register_workflow::<CallActivity>()
        .expect("register")
        .max_cached_workflows(10usize)
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), opts).expect("native worker");
    let stop = worker.shutdown_handle();
    let workflow_id = super::unique("call");
    let body = async {
        let handle = client
            .start_workflow(
                CallActivity::run,
                call,
                WorkflowStartOptions::new(workflow_queue, &workflow_id).build(),
            )
            .await
            .expect("starting CallActivity");
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .map_err(|e| format!("{e:?}"));
        stop();
        result
    };
    let (ran, result) = tokio::join!(worker.run(), body);
    ran.expect("native worker ran");
    result
}
