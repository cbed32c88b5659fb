//! The seam between Temporal workflow activations and whatever runs workflow code, as
//! [`crate::activity`] is for activities.
//!
//! The worker's workflow loop (`worker/workflows.rs`) hands every activation of a generation to
//! its [`WorkflowRuntime`] and completes what comes back; it knows nothing of components. The
//! component host for Temporal's workflow-runtime ABI (`wasm_workflow::Workflows`) is one
//! implementation; the completions are observed for the ramp (`outcomes::Outcomes`) outside
//! any runtime.

use futures::future::BoxFuture;
use temporalio_common::protos::coresdk::workflow_activation::{
    WorkflowActivation, workflow_activation_job,
};
use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;

/// No workflow code here provides the activation's run (the caller fails the task, naming the
/// type and the types it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotServed {
    /// The run.
    pub run_id: String,
    /// Its workflow type, when the activation starts the run (a cache miss replays from the
    /// start, so it does whenever the runtime lacks the run).
    pub workflow_type: Option<String>,
}

impl NotServed {
    /// The answer for `activation`, which no runtime here serves.
    pub fn of(activation: &WorkflowActivation) -> Self {
        NotServed {
            run_id: activation.run_id.clone(),
            workflow_type: workflow_type(activation).map(str::to_string),
        }
    }
}

/// The workflow type an activation starts, if it starts a run.
pub fn workflow_type(activation: &WorkflowActivation) -> Option<&str> {
    activation.jobs.iter().find_map(|j| match &j.variant {
        Some(workflow_activation_job::Variant::InitializeWorkflow(init)) => {
            Some(init.workflow_type.as_str())
        }
        _ => None,
    })
}

/// Runs the workflow types of one generation.
pub trait WorkflowRuntime: Send + Sync + 'static {
    /// Workflow types served, sorted.
    fn types(&self) -> Vec<String>;

    /// Handles one activation, evictions included (an eviction of a run it does not hold is
    /// acknowledged, not refused).
    fn activate(
        &self,
        activation: WorkflowActivation,
    ) -> BoxFuture<'_, Result<WorkflowActivationCompletion, NotServed>>;

    /// How to ask this generation's core worker to evict a run (the runtime calls it when its
    /// cached runs must give memory back; core then sends the eviction). The caller keeps
    /// `evict` alive while the worker polls.
    fn set_evictor(&self, evict: &crate::wasm_workflow::Evictor) {
        let _ = evict;
    }
}
