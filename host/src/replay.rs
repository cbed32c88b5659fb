//! Replaying recorded histories through workflow plugins, with core's replay worker: the check
//! that a history recorded elsewhere (by the native SDK, or by an older build) replays on this
//! code without non-determinism.

use crate::wasm_workflow::Workflows;
use std::sync::Arc;
use temporalio_common::protos::coresdk::workflow_activation::{
    remove_from_cache::EvictionReason, workflow_activation_job,
};
use temporalio_common::protos::coresdk::workflow_completion::workflow_activation_completion;
use temporalio_common::protos::temporal::api::history::v1::History;
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::replay::{HistoryForReplay, ReplayWorkerInput};
use temporalio_sdk_core::{PollError, WorkerConfig, WorkerVersioningStrategy};

/// Replays each `(history, workflow id)`; returns one message per run that failed to replay
/// (non-determinism or a failed workflow task), empty when all replayed cleanly.
pub async fn replay(
    workflows: Arc<Workflows>,
    task_queue: &str,
    histories: Vec<(History, String)>,
) -> anyhow::Result<Vec<String>> {
    let config = WorkerConfig::builder()
        .namespace("default")
        .task_queue(task_queue.to_string())
        .task_types(WorkerTaskTypes::workflow_only())
        .versioning_strategy(WorkerVersioningStrategy::None {
            build_id: String::new(),
        })
        .max_cached_workflows(histories.len().max(2))
        .max_outstanding_workflow_tasks(histories.len().max(2))
        .ignore_evicts_on_shutdown(false)
        .build()
        .map_err(anyhow::Error::msg)?;
    let stream = futures::stream::iter(
        histories
            .into_iter()
            .map(|(h, id)| HistoryForReplay::new(h, id)),
    );
    let worker = temporalio_sdk_core::init_replay_worker(ReplayWorkerInput::new(config, stream))?;
    let mut failures = Vec::new();
    loop {
        let activation = match worker.poll_workflow_activation().await {
            Ok(a) => a,
            Err(PollError::ShutDown) => break,
            Err(e) => return Err(e.into()),
        };
        for job in &activation.jobs {
            if let Some(workflow_activation_job::Variant::RemoveFromCache(r)) = &job.variant
                && matches!(
                    r.reason(),
                    EvictionReason::Nondeterminism
                        | EvictionReason::LangFail
                        | EvictionReason::Fatal
                )
            {
                failures.push(format!(
                    "run {}: {:?}: {}",
                    activation.run_id,
                    r.reason(),
                    r.message
                ));
            }
        }
        tracing::debug!(run_id = %activation.run_id, jobs = activation.jobs.len(), "replay activation");
        let run_id = activation.run_id.clone();
        let completion = match workflows.handle(activation).await {
            Ok(c) => c,
            Err(_) => {
                failures.push(format!(
                    "run {run_id}: no workflow plugin provides its type"
                ));
                temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion::empty(run_id)
            }
        };
        if let Some(workflow_activation_completion::Status::Failed(f)) = &completion.status {
            failures.push(format!(
                "run {}: workflow task failed: {}",
                completion.run_id,
                f.failure.as_ref().map_or("", |f| f.message.as_str())
            ));
        }
        let _ = worker.complete_workflow_activation(completion).await;
    }
    worker.finalize_shutdown().await;
    Ok(failures)
}
