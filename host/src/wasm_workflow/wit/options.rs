//! The options a guest gives per call (`activity-options`, `child-options` in the contract),
//! and how the plugin manifest's defaults fill in what a call leaves unset.

use std::time::Duration;

/// Per-call activity options, as the guest gave them (`activity-options` in the contract): the
/// same fields as the manifest's defaults, which fill in what a call leaves unset.
pub(crate) use crate::manifest::ActivityOptions;

impl ActivityOptions {
    /// These options, each unset field taken from the manifest's `defaults`.
    pub(crate) fn over(self, defaults: &ActivityOptions) -> ActivityOptions {
        let d = defaults;
        ActivityOptions {
            task_queue: self.task_queue.or_else(|| d.task_queue.clone()),
            start_to_close: self.start_to_close.or(d.start_to_close),
            schedule_to_close: self.schedule_to_close.or(d.schedule_to_close),
            heartbeat: self.heartbeat.or(d.heartbeat),
            max_attempts: self.max_attempts.or(d.max_attempts),
            initial_interval: self.initial_interval.or(d.initial_interval),
            non_retryable_error_types: if self.non_retryable_error_types.is_empty() {
                d.non_retryable_error_types.clone()
            } else {
                self.non_retryable_error_types
            },
        }
    }
}

/// Per-call options of a child workflow (`child-options` in the contract).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ChildOptions {
    pub workflow_id: Option<String>,
    pub task_queue: Option<String>,
    pub execution_timeout: Option<Duration>,
}
