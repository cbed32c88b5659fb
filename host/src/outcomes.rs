//! What one generation's work came to — completed runs, workflow tasks and activities that
//! succeeded or failed — read by the ramp to decide whether a new version is promoted or rolled
//! back.
//!
//! The one observer of completions: the worker's loops hand it every workflow completion and
//! every activity result, whatever runtime produced them, so no runtime counts for itself.
//! Counts are per generation (per build ID), not per host: a ramp judges the new code only.

use crate::activity::ActivityError;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use temporalio_common::protos::coresdk::workflow_commands::workflow_command::Variant as Command;
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion::Status,
};

/// The types the deployment's current build serves, shared by every generation of a host:
/// a task for a type no build serves is a client's mistake, not evidence against the build
/// that happened to receive it.
#[derive(Debug, Default)]
pub(crate) struct CurrentTypes {
    workflows: RwLock<BTreeSet<String>>,
    activities: RwLock<BTreeSet<String>>,
    /// Every type any build of this host has served: it grows with plugin files (an
    /// operator's choice), never with what clients ask for, so metric labels may use it.
    known: RwLock<BTreeSet<String>>,
}

impl CurrentTypes {
    /// The current build now serves these.
    pub(crate) fn set(&self, workflows: &[String], activities: &[String]) {
        *self.workflows.write().unwrap_or_else(|p| p.into_inner()) =
            workflows.iter().cloned().collect();
        *self.activities.write().unwrap_or_else(|p| p.into_inner()) =
            activities.iter().cloned().collect();
        self.remember(workflows, activities);
    }

    /// A build of this host (current, ramping or draining) serves these.
    pub(crate) fn remember(&self, workflows: &[String], activities: &[String]) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        for name in workflows.iter().chain(activities) {
            if !known.contains(name) {
                known.insert(name.clone());
            }
        }
    }

    /// True when some build of this host has served a type of this name.
    pub(crate) fn is_known(&self, name: &str) -> bool {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }

    fn serves(&self, kind: TypeKind, name: &str) -> bool {
        let set = match kind {
            TypeKind::Workflow => &self.workflows,
            TypeKind::Activity => &self.activities,
        };
        set.read().unwrap_or_else(|p| p.into_inner()).contains(name)
    }
}

/// Which kind of type a task asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeKind {
    Workflow,
    Activity,
}

/// Counters, shared by a generation's workflow and activity loops.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    runs_completed: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    current: Arc<CurrentTypes>,
}

/// A reading of [`Outcomes`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Workflow runs that completed successfully.
    pub runs_completed: u64,
    /// Workflow tasks and activity attempts that succeeded.
    pub succeeded: u64,
    /// Workflow tasks that failed, runs that failed, activity attempts that failed.
    pub failed: u64,
}

impl Counts {
    /// Failed share of everything counted; 0 when nothing was.
    pub(crate) fn failure_rate(&self) -> f64 {
        let total = self.succeeded + self.failed;
        if total == 0 {
            0.0
        } else {
            self.failed as f64 / total as f64
        }
    }
}

impl Outcomes {
    /// Counters judged against what `current` serves.
    pub(crate) fn new(current: Arc<CurrentTypes>) -> Self {
        Outcomes {
            current,
            ..Outcomes::default()
        }
    }

    /// A task for a type this build lacks: a failure of this build only when the current
    /// build serves that type (the new build dropped it); otherwise the client asked for a type
    /// nobody serves.
    pub(crate) fn observe_unknown_type(&self, kind: TypeKind, name: &str) {
        if self.current.serves(kind, name) {
            self.failed();
        }
    }

    /// Counts the completion of a workflow activation; `eviction` when the activation only
    /// evicted the run (no workflow task ran).
    pub(crate) fn observe_workflow(
        &self,
        eviction: bool,
        completion: &WorkflowActivationCompletion,
    ) {
        match &completion.status {
            _ if eviction => {}
            Some(Status::Successful(success)) => {
                let has = |f: fn(&Command) -> bool| {
                    success
                        .commands
                        .iter()
                        .any(|c| c.variant.as_ref().is_some_and(f))
                };
                if has(|c| matches!(c, Command::FailWorkflowExecution(_))) {
                    self.failed();
                } else {
                    self.task_succeeded(has(|c| {
                        matches!(c, Command::CompleteWorkflowExecution(_))
                    }));
                }
            }
            Some(Status::Failed(_)) => self.failed(),
            None => {}
        }
    }

    /// Counts an activity attempt's outcome. A cancellation is the caller's choice, not the
    /// code's failure.
    pub(crate) fn observe_activity<T>(&self, outcome: &Result<T, ActivityError>) {
        match outcome {
            Ok(_) => self.activity_succeeded(),
            Err(ActivityError::Cancelled) => {}
            Err(ActivityError::Failed { .. }) => self.failed(),
        }
    }

    /// A workflow task completed; `run_completed` when it completed the run.
    fn task_succeeded(&self, run_completed: bool) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if run_completed {
            self.runs_completed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An activity attempt succeeded.
    fn activity_succeeded(&self) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
    }

    /// A workflow task, a run or an activity attempt failed.
    fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub(crate) fn read(&self) -> Counts {
        Counts {
            runs_completed: self.runs_completed.load(Ordering::Relaxed),
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use temporalio_common::protos::coresdk::workflow_commands::{
        CompleteWorkflowExecution, FailWorkflowExecution,
    };
    use temporalio_common::protos::temporal::api::failure::v1::Failure;

    fn with(command: Command) -> WorkflowActivationCompletion {
        WorkflowActivationCompletion::from_cmds("run", vec![command])
    }

    #[test]
    fn completions_are_counted_by_what_they_did() {
        let o = Outcomes::default();
        assert_eq!(o.read().failure_rate(), 0.0);
        // A task that schedules more work, a task that completes the run.
        o.observe_workflow(false, &WorkflowActivationCompletion::empty("run"));
        o.observe_workflow(
            false,
            &with(Command::CompleteWorkflowExecution(
                CompleteWorkflowExecution::default(),
            )),
        );
        // An eviction is no workflow task.
        o.observe_workflow(true, &WorkflowActivationCompletion::empty("run"));
        o.observe_activity(&Ok::<(), ActivityError>(()));
        // Cancelled activities are not failures; failed ones are.
        o.observe_activity(&Err::<(), _>(ActivityError::Cancelled));
        o.observe_activity(&Err::<(), _>(ActivityError::retryable("Trap", "x")));
        let c = o.read();
        assert_eq!(
            c,
            Counts {
                runs_completed: 1,
                succeeded: 3,
                failed: 1
            }
        );
        assert!((c.failure_rate() - 0.25).abs() < 1e-9);
        // A run that fails, a failed task: both failures.
        o.observe_workflow(
            false,
            &with(Command::FailWorkflowExecution(
                FailWorkflowExecution::default(),
            )),
        );
        o.observe_workflow(
            false,
            &WorkflowActivationCompletion::fail(
                "run",
                Failure::application_failure("boom".into(), false),
                None,
            ),
        );
        assert_eq!(o.read().failed, 3);
        assert_eq!(o.read().runs_completed, 1);
    }

    #[test]
    fn unknown_types_count_only_when_the_current_build_serves_them() {
        let current = Arc::new(CurrentTypes::default());
        current.set(&["Greeting".into()], &["greet".into()]);
        let o = Outcomes::new(current.clone());
        o.observe_unknown_type(TypeKind::Workflow, "RandomType123");
        o.observe_unknown_type(TypeKind::Activity, "random_activity");
        assert_eq!(
            o.read().failed,
            0,
            "a type nobody serves is the client's mistake"
        );
        o.observe_unknown_type(TypeKind::Workflow, "Greeting");
        o.observe_unknown_type(TypeKind::Activity, "greet");
        assert_eq!(
            o.read().failed,
            2,
            "the new build lacks what the current one serves"
        );
        // The kinds are separate: an activity named like a workflow type is not one.
        o.observe_unknown_type(TypeKind::Activity, "Greeting");
        assert_eq!(o.read().failed, 2);
    }
}
