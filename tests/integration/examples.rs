//! The example workflows in `plugins/example-workflows`, as a user runs them: the plugin files
//! `make plugins` ships, driven by typed clients generated from the same crate.

use crate::common::guests::{self, EXAMPLE_WORKFLOWS, HELLO_ACTIVITY};
use crate::common::workflows::client;
use crate::common::{plugin_host, shared_server, unique};
use example_workflows::{
    ApprovalStatus, ApprovalWorkflow, Batch, BatchGreetingWorkflow, Reminder, ReminderWorkflow,
};
use temporalio_client::{
    Client, WorkflowFetchHistoryOptions, WorkflowGetResultOptions, WorkflowHandle,
    WorkflowStartOptions,
};
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::HistoryEvent;

async fn examples_host() -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    plugin_host(
        &[
            ("example_workflows.wasm", guests::bytes(EXAMPLE_WORKFLOWS)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
    )
    .await
}

/// The event types of the run `handle` started (not of the runs it continued as).
async fn event_types<W: temporalio_common::HasWorkflowDefinition>(
    handle: &WorkflowHandle<Client, W>,
) -> Vec<EventType> {
    handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history")
        .iter()
        .map(HistoryEvent::event_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminder_waits_on_a_timer_then_greets() {
    let (host, queue, _dir) = examples_host().await;
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ReminderWorkflow::run,
            Reminder {
                name: "Ada".into(),
                delay_ms: 200,
            },
            WorkflowStartOptions::new(&queue, unique("example")).build(),
        )
        .await
        .expect("start");
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result, "Reminder: Hello, Ada!");
    let events = event_types(&handle).await;
    let fired = events.iter().position(|e| *e == EventType::TimerFired);
    let scheduled = events
        .iter()
        .position(|e| *e == EventType::ActivityTaskScheduled);
    assert!(
        matches!((fired, scheduled), (Some(f), Some(s)) if f < s),
        "the timer fires before the activity is scheduled: {events:?}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_takes_comments_by_update_and_ends_on_the_signal() {
    let (host, queue, _dir) = examples_host().await;
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ApprovalWorkflow::run,
            "deploy v2".to_string(),
            WorkflowStartOptions::new(&queue, unique("approval")).build(),
        )
        .await
        .expect("start");
    let count = handle
        .execute_update(
            ApprovalWorkflow::comment,
            "looks good".to_string(),
            Default::default(),
        )
        .await
        .expect("update");
    assert_eq!(count, 1);
    let rejected = handle
        .execute_update(
            ApprovalWorkflow::comment,
            "  ".to_string(),
            Default::default(),
        )
        .await
        .expect_err("the validator rejects an empty comment");
    assert!(
        format!("{rejected:?}").contains("a comment cannot be empty"),
        "{rejected:?}"
    );
    let status = handle
        .query(ApprovalWorkflow::status, (), Default::default())
        .await
        .expect("query");
    assert_eq!(
        status,
        ApprovalStatus {
            request: "deploy v2".into(),
            comments: vec!["looks good".into()],
            approved_by: None,
        }
    );
    handle
        .signal(
            ApprovalWorkflow::approve,
            "grace".to_string(),
            Default::default(),
        )
        .await
        .expect("signal");
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result, "deploy v2 approved by grace after 1 comment(s)");
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_greets_through_children_and_continues_as_new() {
    let (host, queue, _dir) = examples_host().await;
    let client = client(shared_server()).await;
    let names = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
    let handle = client
        .start_workflow(
            BatchGreetingWorkflow::run,
            Batch {
                names: names.clone(),
                done: vec![],
                per_run: Some(2),
            },
            WorkflowStartOptions::new(&queue, unique("example")).build(),
        )
        .await
        .expect("start");
    // The result follows the continue-as-new chain to its last run.
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    let expected: Vec<String> = names.iter().map(|n| format!("Hello, {n}!")).collect();
    assert_eq!(result, expected);
    // Five names, two per run: the first run greeted two through children, then continued.
    let first = event_types(&handle).await;
    assert_eq!(
        first
            .iter()
            .filter(|e| **e == EventType::ChildWorkflowExecutionCompleted)
            .count(),
        2,
        "{first:?}"
    );
    assert_eq!(
        first.last(),
        Some(&EventType::WorkflowExecutionContinuedAsNew),
        "{first:?}"
    );
    host.stop().await.expect("stop");
}
