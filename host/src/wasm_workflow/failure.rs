//! A failed workflow task: the completion core gets, and the cause the metric is labelled with.

use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;

/// Why a workflow task failed, for the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskFailure {
    /// The guest trapped (panic, unreachable, memory limit, exit).
    Trap,
    /// The guest did not finish the activation within the budget (a loop?).
    Deadline,
    /// The guest reported a task failure, or broke the protocol.
    Guest,
}

impl TaskFailure {
    /// Metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            TaskFailure::Trap => "trap",
            TaskFailure::Deadline => "deadline",
            TaskFailure::Guest => "guest",
        }
    }
}

/// A failed activation: the completion to send, and whether the instance is still usable.
pub(crate) struct Failed {
    pub(crate) completion: WorkflowActivationCompletion,
    pub(crate) cause: TaskFailure,
}
