//! The workflow-activation loop: poll core, hand each activation to the workflow plugins (each
//! in its own task, so runs progress in parallel), complete it.
//!
//! Until a plugin provides a workflow type, its activations fail the workflow task with a
//! message naming the type and the task queue; Temporal keeps retrying the task, so a workflow
//! started before its plugin is deployed runs as soon as a worker that has it polls.
//! Evictions are always acknowledged: core waits for every activation, evictions included.

use crate::metrics::HostMetrics;
use crate::outcomes::Outcomes;
use crate::workflow::{NotServed, WorkflowRuntime};
use std::sync::Arc;
use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;
use temporalio_common::protos::temporal::api::enums::v1::WorkflowTaskFailedCause;
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use temporalio_sdk_core::{PollError, Worker};

/// Polls workflow activations until core reports shutdown.
pub(super) async fn run_loop(
    core: Arc<Worker>,
    task_queue: String,
    workflows: Arc<dyn WorkflowRuntime>,
    outcomes: Arc<Outcomes>,
    metrics: HostMetrics,
) -> Result<(), PollError> {
    let known_types = Arc::new(workflows.types());
    // Held weakly, so this loop's end (and the worker's) is not delayed by the evictor.
    let weak = Arc::downgrade(&core);
    let evictor: crate::wasm_workflow::Evictor = Arc::new(move |run_id: &str| {
        if let Some(core) = weak.upgrade() {
            core.request_workflow_eviction(run_id);
        }
    });
    workflows.set_evictor(&evictor);
    let mut in_flight = tokio::task::JoinSet::new();
    loop {
        let activation = match core.poll_workflow_activation().await {
            Ok(a) => a,
            Err(PollError::ShutDown) => break,
            Err(e) => return Err(e),
        };
        while in_flight.try_join_next().is_some() {}
        let (core, workflows, outcomes, task_queue, known_types, metrics) = (
            core.clone(),
            workflows.clone(),
            outcomes.clone(),
            task_queue.clone(),
            known_types.clone(),
            metrics.clone(),
        );
        in_flight.spawn(async move {
            let run_id = activation.run_id.clone();
            let eviction = activation.is_only_eviction();
            let completion = match workflows.activate(activation).await {
                Ok(completion) => {
                    outcomes.observe_workflow(eviction, &completion);
                    completion
                }
                Err(not_served) => {
                    if let Some(t) = &not_served.workflow_type {
                        outcomes.observe_unknown_type(crate::outcomes::TypeKind::Workflow, t);
                    }
                    unknown_type(&not_served, &task_queue, &known_types, &metrics)
                }
            };
            if let Err(e) = core.complete_workflow_activation(completion).await {
                tracing::error!(%run_id, error = %e, "completing a workflow activation failed");
            }
        });
    }
    while in_flight.join_next().await.is_some() {}
    Ok(())
}

/// Fails the workflow task of a run no plugin here provides.
fn unknown_type(
    not_served: &NotServed,
    task_queue: &str,
    known_types: &[String],
    metrics: &HostMetrics,
) -> WorkflowActivationCompletion {
    let workflow_type = not_served.workflow_type.as_deref();
    let message = unknown_type_message(workflow_type, task_queue, known_types);
    metrics.unknown_type("workflow", workflow_type.unwrap_or("<unknown run>"));
    tracing::warn!(run_id = %not_served.run_id, workflow_type, %task_queue, "{message}");
    WorkflowActivationCompletion::fail(
        &not_served.run_id,
        Failure::application_failure(message, false),
        Some(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure),
    )
}

/// The failure users see in the workflow's history.
fn unknown_type_message(workflow_type: Option<&str>, task_queue: &str, known: &[String]) -> String {
    let known = super::listed(known, "workflow");
    match workflow_type {
        Some(t) => format!(
            "workflow type `{t}` is not provided by any plugin on task queue `{task_queue}`; workflow types here: {known}"
        ),
        None => format!(
            "this worker holds no workflow runtime for the run on task queue `{task_queue}`; workflow types here: {known}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::coresdk::workflow_completion::workflow_activation_completion::Status;

    #[test]
    fn unknown_type_fails_the_task_naming_type_and_queue() {
        let metrics = HostMetrics::new();
        let not_served = NotServed {
            run_id: "run-1".into(),
            workflow_type: Some("GreetingWorkflow".into()),
        };
        let c = unknown_type(&not_served, "my-q", &[], &metrics);
        assert_eq!(c.run_id, "run-1");
        let Some(Status::Failed(f)) = c.status else {
            panic!("expected a failed completion");
        };
        let msg = f.failure.expect("failure").message;
        assert!(msg.contains("`GreetingWorkflow`"), "{msg}");
        assert!(msg.contains("`my-q`"), "{msg}");
        assert!(msg.contains("no workflow plugin is loaded"), "{msg}");
        assert_eq!(
            metrics
                .unknown_type_tasks
                .with_label_values(&["workflow", "GreetingWorkflow"])
                .get(),
            1
        );
    }

    #[test]
    fn the_message_lists_the_types_served() {
        let m = unknown_type_message(None, "q", &["A".into(), "B".into()]);
        assert!(
            m.starts_with("this worker holds no workflow runtime for the run"),
            "{m}"
        );
        assert!(m.ends_with("workflow types here: A, B"), "{m}");
    }
}
