//! A native test workflow on a `temporalio-sdk` worker that runs one activity on the host's
//! task queue with payloads the test chooses, and reports the outcome as data (result payload,
//! or the failure chain), so tests assert on exactly what a workflow would see.

use futures::FutureExt as _;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, Url, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::failure::v1::{
    Failure, failure::FailureInfo as ProtoInfo,
};
use temporalio_common::{HasWorkflowDefinition, RetryPolicy, UntypedActivity, WorkflowDefinition};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, Runtime, Worker, WorkerOptions, WorkflowContext, WorkflowResult,
};
use temporalio_workflow::{ActivityCancellationType, CancellableFuture as _};

/// One payload, as data the workflow can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    /// `encoding` metadata.
    pub encoding: String,
    /// The bytes.
    pub data: Vec<u8>,
}

impl Arg {
    fn payload(&self) -> Payload {
        Payload {
            metadata: [("encoding".to_string(), self.encoding.as_bytes().to_vec())].into(),
            data: self.data.clone(),
            ..Default::default()
        }
    }

    fn from_payload(p: &Payload) -> Arg {
        Arg {
            encoding: p
                .metadata
                .get("encoding")
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .unwrap_or_default(),
            data: p.data.clone(),
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    pub activity: String,
    pub task_queue: String,
    pub args: Vec<Arg>,
    pub attempts: u32,
    pub timeout_ms: u64,
    pub heartbeat_timeout_ms: Option<u64>,
    pub cancel_after_ms: Option<u64>,
}

impl Call {
    /// One attempt, a 60 s start-to-close timeout, no arguments.
    pub fn new(activity: &str, task_queue: &str) -> Call {
        Call {
            activity: activity.to_string(),
            task_queue: task_queue.to_string(),
            args: Vec::new(),
            attempts: 1,
            timeout_ms: 60_000,
            heartbeat_timeout_ms: None,
            cancel_after_ms: None,
        }
    }

    /// Adds a `json/plain` argument.
    pub fn json(mut self, v: serde_json::Value) -> Call {
        self.args.push(Arg {
            encoding: "json/plain".into(),
            data: v.to_string().into_bytes(),
        });
        self
    }

    /// Adds an argument with any encoding.
    pub fn arg(mut self, encoding: &str, data: &[u8]) -> Call {
        self.args.push(Arg {
            encoding: encoding.into(),
            data: data.to_vec(),
        });
        self
    }

    pub fn attempts(mut self, n: u32) -> Call {
        self.attempts = n;
        self
    }

    pub fn timeout(mut self, d: Duration) -> Call {
        self.timeout_ms = u64::try_from(d.as_millis()).expect("fits");
        self
    }

    pub fn heartbeat_timeout(mut self, d: Duration) -> Call {
        self.heartbeat_timeout_ms = Some(u64::try_from(d.as_millis()).expect("fits"));
        self
    }

    pub fn cancel_after(mut self, d: Duration) -> Call {
        self.cancel_after_ms = Some(u64::try_from(d.as_millis()).expect("fits"));
        self
    }
}

/// A failure as the workflow saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failed {
    /// Messages from the outer failure to the root cause.
    pub messages: Vec<String>,
    /// The application failure's type (e.g. `Trap`), if any.
    pub error_type: String,
    pub non_retryable: bool,
    pub cancelled: bool,
    /// JSON text of the application failure's first detail payload.
    pub details: Option<String>,
}

/// The activity's result or failure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub result: Option<Arg>,
    pub failure: Option<Failed>,
}

impl Outcome {
    /// The result as JSON; panics (with the failure) if the activity failed.
    pub fn json(&self) -> serde_json::Value {
        let r = self
            .result
            .as_ref()
            .unwrap_or_else(|| panic!("activity failed: {:?}", self.failure));
        assert_eq!(r.encoding, "json/plain", "result encoding");
        serde_json::from_slice(&r.data).expect("result is JSON")
    }

    /// The failure; panics if the activity succeeded.
    pub fn failure(&self) -> &Failed {
        self.failure
            .as_ref()
            .unwrap_or_else(|| panic!("activity succeeded: {:?}", self.result))
    }

    /// All failure messages joined, for `contains` checks.
    pub fn error(&self) -> String {
        self.failure().messages.join(" | ")
    }
}

fn failed(f: &Failure) -> Failed {
    let mut out = Failed {
        messages: Vec::new(),
        error_type: String::new(),
        non_retryable: false,
        cancelled: false,
        details: None,
    };
    let mut next = Some(f);
    while let Some(f) = next {
        out.messages.push(f.message.clone());
        match &f.failure_info {
            Some(ProtoInfo::ApplicationFailureInfo(a)) => {
                out.error_type.clone_from(&a.r#type);
                out.non_retryable = a.non_retryable;
                out.details = a
                    .details
                    .as_ref()
                    .and_then(|d| d.payloads.first())
                    .map(|p| String::from_utf8_lossy(&p.data).into_owned());
            }
            Some(ProtoInfo::CanceledFailureInfo(_)) => out.cancelled = true,
            _ => {}
        }
        next = f.cause.as_deref();
    }
    out
}

/// Runs one activity per the [`Call`] and reports the outcome.
#[workflow]
#[derive(Default)]
pub struct RunActivity;

#[workflow_methods]
impl RunActivity {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, call: Call) -> WorkflowResult<Outcome> {
        let retry = RetryPolicy::builder()
            .maximum_attempts(call.attempts)
            .initial_interval(Duration::from_millis(100))
            .build();
        let opts =
            ActivityOptions::with_start_to_close_timeout(Duration::from_millis(call.timeout_ms))
                .task_queue(call.task_queue.clone())
                .retry_policy(retry)
                .maybe_heartbeat_timeout(call.heartbeat_timeout_ms.map(Duration::from_millis))
                .cancellation_type(ActivityCancellationType::WaitCancellationCompleted)
                .build();
        let payloads = call.args.iter().map(Arg::payload).collect();
        let mut act = std::pin::pin!(ctx.execute_activity(
            UntypedActivity::new(call.activity.clone()),
            RawValue { payloads },
            opts
        ));
        let result = match call.cancel_after_ms {
            None => act.await,
            Some(ms) => {
                let mut timer = ctx.timer(Duration::from_millis(ms)).fuse();
                futures::select_biased! {
                    r = act.as_mut() => r,
                    _ = timer => {
                        act.cancel();
                        act.await
                    }
                }
            }
        };
        Ok(match result {
            Ok(raw) => Outcome {
                result: raw.payloads.first().map(Arg::from_payload),
                failure: None,
            },
            Err(e) => Outcome {
                result: None,
                failure: Some(e.failure().map(failed).unwrap_or_else(|| Failed {
                    messages: vec![e.to_string()],
                    error_type: String::new(),
                    non_retryable: false,
                    cancelled: false,
                    details: None,
                })),
            },
        })
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

/// Runs [`RunActivity`] for `call` on a native worker polling `workflow_queue` (which exists
/// only for the duration of the call) and returns the outcome.
pub async fn run_activity(address: &str, workflow_queue: &str, call: Call) -> Outcome {
    let client = client(address).await;
    let runtime = Runtime::from_current_tokio(Default::default()).expect("sdk runtime");
    let opts = WorkerOptions::new(workflow_queue)
        .register_workflow::<RunActivity>()
        .expect("register")
        .max_cached_workflows(10usize)
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), opts).expect("native worker");
    let stop = worker.shutdown_handle();
    let workflow_id = super::unique("run");
    let body = async {
        let handle = client
            .start_workflow(
                RunActivity::run,
                call,
                WorkflowStartOptions::new(workflow_queue, &workflow_id).build(),
            )
            .await
            .expect("starting RunActivity");
        let outcome = handle.get_result(WorkflowGetResultOptions::default()).await;
        stop();
        outcome.expect("RunActivity completes (it reports activity failures as data)")
    };
    let (ran, outcome) = tokio::join!(worker.run(), body);
    ran.expect("native worker ran");
    outcome
}

/// Runs `call` on the shared dev server from a workflow on a queue of its own (beside the
/// activity's `queue`).
pub async fn run(queue: &str, call: Call) -> Outcome {
    run_activity(
        crate::common::shared_server(),
        &format!("{queue}-wf-{}", crate::common::unique("w")),
        call,
    )
    .await
}

/// The workflow plugins of `dir`, loaded as a host loads them, serving the task queue
/// `replay`: what [`wasm_worker::replay::replay`] runs histories through.
pub async fn replay_workflows(
    dir: &std::path::Path,
) -> std::sync::Arc<wasm_worker::wasm_workflow::Workflows> {
    let pool = wasm_worker::engine::PoolSize {
        activities: 2,
        workflow_runs: 8,
    };
    let metrics = wasm_worker::metrics::HostMetrics::new();
    let plugins = wasm_worker::runtime::Runtime::new(pool, &metrics, None).expect("runtime");
    // Loading compiles and instantiates: blocking work, off the async threads.
    let set = {
        let (path, metrics) = (dir.to_path_buf(), metrics.clone());
        tokio::task::spawn_blocking(move || {
            wasm_worker::plugins::PluginSet::load(&plugins, &path, &metrics)
        })
        .await
        .expect("load")
    };
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    std::sync::Arc::new(wasm_worker::wasm_workflow::Workflows::new(
        &set.workflows,
        "default",
        "replay",
        wasm_worker::config::Versioning::Pinned,
        &metrics,
        &wasm_worker::wasm_workflow::RunBudget::new(u64::MAX, &metrics),
    ))
}
