//! Conformance: the official native runtime is the oracle. Each scenario runs the same
//! workflow crate (`tests/guests/test-workflows`) twice — natively on a `temporalio-sdk`
//! worker, and as a component on the host — and must give the same result and the same
//! history (event types, and the attributes of the commands: timers, activities, child
//! workflows, updates). The host's history must also replay on the native runtime without a
//! non-determinism error.

use crate::common::guests::{self, TEST_WORKFLOWS};
use crate::common::workflows::client;
use crate::common::{eventually, plugin_host, shared_server, unique};
use std::time::Duration;
use temporalio_client::{
    Client, UntypedWorkflow, WorkflowFetchHistoryOptions, WorkflowGetResultOptions,
    WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use test_workflows::{ChildWorkflow, CountdownWorkflow, ParentWorkflow, SignalQueryWorkflow};

/// One scenario: drives a workflow on `queue`, returns its result (as JSON) and workflow id.
async fn scenario(client: &Client, name: &str, queue: &str) -> (serde_json::Value, String) {
    let id = unique(name);
    let opts = WorkflowStartOptions::new(queue, &id).build();
    let result = match name {
        "parent" => {
            let h = client
                .start_workflow(ParentWorkflow::run, 7, opts)
                .await
                .expect("start");
            serde_json::json!(
                h.get_result(WorkflowGetResultOptions::default())
                    .await
                    .expect("result")
            )
        }
        "countdown" => {
            let h = client
                .start_workflow(CountdownWorkflow::run, 2, opts)
                .await
                .expect("start");
            serde_json::json!(
                h.get_result(WorkflowGetResultOptions::default())
                    .await
                    .expect("result")
            )
        }
        "signal-query-update" => {
            let h = client
                .start_workflow(SignalQueryWorkflow::run, "s".to_string(), opts)
                .await
                .expect("start");
            eventually(Duration::from_secs(30), "the waiting state", || {
                let h = &h;
                async move {
                    let s = h
                        .query(SignalQueryWorkflow::state, (), Default::default())
                        .await
                        .ok()?;
                    (s == "s then waiting").then_some(())
                }
            })
            .await;
            h.execute_update(
                SignalQueryWorkflow::rename,
                "u".to_string(),
                Default::default(),
            )
            .await
            .expect("update");
            h.signal(
                SignalQueryWorkflow::finish,
                "x".to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
            serde_json::json!(
                h.get_result(WorkflowGetResultOptions::default())
                    .await
                    .expect("result")
            )
        }
        other => panic!("unknown scenario {other}"),
    };
    (result, id)
}

async fn history(client: &Client, id: &str) -> Vec<HistoryEvent> {
    client
        .get_workflow_handle::<UntypedWorkflow>(id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history")
}

/// What must match between runtimes: event types, and what each command asked for.
fn shape(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let kind = format!("{:?}", e.event_type());
            match &e.attributes {
                Some(Attributes::TimerStartedEventAttributes(a)) => {
                    format!(
                        "{kind}({:?})",
                        a.start_to_fire_timeout
                            .as_ref()
                            .map(|d| (d.seconds, d.nanos))
                    )
                }
                Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => format!(
                    "{kind}({}, {:?})",
                    a.activity_type.as_ref().map_or("", |t| t.name.as_str()),
                    a.input.as_ref().map(|i| i
                        .payloads
                        .iter()
                        .map(|p| p.data.clone())
                        .collect::<Vec<_>>())
                ),
                Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                    format!(
                        "{kind}({})",
                        a.workflow_type.as_ref().map_or("", |t| t.name.as_str())
                    )
                }
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                    format!(
                        "{kind}({:?})",
                        a.result.as_ref().map(|r| r
                            .payloads
                            .iter()
                            .map(|p| p.data.clone())
                            .collect::<Vec<_>>())
                    )
                }
                Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a)) => format!(
                    "{kind}({:?})",
                    a.input.as_ref().map(|i| i
                        .payloads
                        .iter()
                        .map(|p| p.data.clone())
                        .collect::<Vec<_>>())
                ),
                _ => kind,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_behaves_like_the_native_runtime() {
    let (host, host_queue, _dir) = plugin_host(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
    )
    .await;
    let client = client(shared_server()).await;
    let native_queue = unique("native");
    let runtime = Runtime::from_current_tokio(Default::default()).expect("sdk runtime");
    let opts = WorkerOptions::new(&native_queue)
        .register_workflow::<ParentWorkflow>()
        .expect("register")
        .register_workflow::<ChildWorkflow>()
        .expect("register")
        .register_workflow::<CountdownWorkflow>()
        .expect("register")
        .register_workflow::<SignalQueryWorkflow>()
        .expect("register")
        .max_cached_workflows(10usize)
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), opts).expect("native worker");
    let stop = worker.shutdown_handle();

    let compare = async {
        let mut host_histories = Vec::new();
        let mut native_histories = Vec::new();
        for name in ["parent", "countdown", "signal-query-update"] {
            let (native_result, native_id) = scenario(&client, name, &native_queue).await;
            let (host_result, host_id) = scenario(&client, name, &host_queue).await;
            assert_eq!(host_result, native_result, "{name}: results differ");
            let native = history(&client, &native_id).await;
            let hosted = history(&client, &host_id).await;
            assert_eq!(shape(&hosted), shape(&native), "{name}: histories differ");
            host_histories.push(hosted);
            native_histories.push((native, native_id));
        }
        stop();
        (host_histories, native_histories)
    };
    let (ran, (host_histories, native_histories)) = tokio::join!(worker.run(), compare);
    ran.expect("native worker ran");

    // The component's histories replay on the native runtime without non-determinism.
    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<ParentWorkflow>()
            .expect("register")
            .register_workflow::<CountdownWorkflow>()
            .expect("register")
            .register_workflow::<SignalQueryWorkflow>()
            .expect("register")
            .build(),
    )
    .expect("replayer");
    for events in host_histories {
        let history = temporalio_common::protos::temporal::api::history::v1::History { events };
        replayer
            .replay_workflow(temporalio_client::WorkflowHistory::from(history))
            .await
            .expect("the host's history replays natively");
    }

    // And the native runtime's histories replay on the host's component without
    // non-determinism.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("test_workflows.wasm"),
        guests::bytes(TEST_WORKFLOWS),
    )
    .expect("write");
    let workflows = crate::common::workflows::replay_workflows(dir.path()).await;
    // A history that does not match the code — what a changed plugin meets when it replays an
    // old run. The countdown's history (it continued as new) relabelled as the parent workflow
    // (whose code starts a child): the replayer must flag non-determinism, or the clean
    // replays above would prove nothing.
    let mut drifted = native_histories
        .iter()
        .find(|(events, _)| workflow_type(events) == "CountdownWorkflow")
        .cloned()
        .expect("a countdown history");
    if let Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) =
        &mut drifted.0[0].attributes
    {
        a.workflow_type.as_mut().expect("type").name = "ParentWorkflow".to_string();
    }
    let histories = native_histories
        .into_iter()
        .map(|(events, id)| {
            (
                temporalio_common::protos::temporal::api::history::v1::History { events },
                id,
            )
        })
        .collect();
    let failures = wasm_worker::replay::replay(workflows.clone(), "replay", histories)
        .await
        .expect("replay ran");
    assert!(
        failures.is_empty(),
        "native histories must replay on the component: {failures:?}"
    );
    let history =
        temporalio_common::protos::temporal::api::history::v1::History { events: drifted.0 };
    let failures = wasm_worker::replay::replay(workflows, "replay", vec![(history, drifted.1)])
        .await
        .expect("replay ran");
    assert!(
        failures.len() == 1 && failures[0].contains("Nondeterminism"),
        "a history the code does not match must fail to replay as non-determinism: {failures:?}"
    );
    host.stop().await.expect("stop");
}

fn workflow_type(events: &[HistoryEvent]) -> String {
    match events.first().and_then(|e| e.attributes.as_ref()) {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => a
            .workflow_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
