//! What a WIT-typed workflow run shares between its guest (suspended inside a call on a
//! wasmtime fiber) and the driver that feeds it activations: the commands the guest's calls
//! produced, and what the server has resolved since.
//!
//! The guest's future owns the store, so the driver cannot reach the store between polls;
//! both sides hold this behind one mutex instead. Nothing here is async: a host call that
//! must wait marks the run [`Shared::blocked`] and returns `Pending`, and the driver polls the
//! guest again only after the next activation changed something here.

pub(crate) use super::options::{ActivityOptions, ChildOptions};
use crate::runtime::limits::{Limited, MemoryLimiter};
use crate::runtime::workflow_host::WorkflowState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_commands::{
    CancelChildWorkflowExecution, CancelTimer, RequestCancelActivity, ScheduleActivity,
    SetPatchMarker, StartChildWorkflowExecution, StartTimer, WorkflowCommand, workflow_command,
};
use temporalio_common::protos::temporal::api::common::v1::{Payload, RetryPolicy};
use wasmtime_wasi::{WasiCtxView, WasiView};

/// Start-to-close timeout of an activity whose options and manifest set no timeout (core
/// needs one of start-to-close or schedule-to-close).
pub(crate) const DEFAULT_START_TO_CLOSE: Duration = Duration::from_secs(300);

/// How a started activity or timer ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Done {
    /// The activity's result payload (`None`: no result), or a fired timer.
    Value(Option<Payload>),
    /// The activity failed (retries exhausted), timed out or was cancelled.
    Failed {
        message: String,
        error_type: Option<String>,
    },
}

/// What a handle stands for, to cancel it the right way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Started {
    Timer,
    Activity,
    Child,
    /// The run's cancellation request (no command: done when a request arrives).
    Cancellation,
    /// A signal arriving (no command: done when one is queued).
    Signal,
}

/// Facts about the run, fixed when it starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunInfo {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    pub namespace: String,
    pub task_queue: String,
    pub attempt: u32,
}

/// The state both sides of a run share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Commands produced since the last activation was completed.
    pub commands: Vec<WorkflowCommand>,
    next_seq: u32,
    started: HashMap<u32, Started>,
    done: HashMap<u32, Done>,
    /// The handle the guest awaits cancellation with, once it asked for one.
    cancellation: Option<u32>,
    /// Someone asked this workflow to cancel.
    cancel_requested: bool,
    /// Handles waiting for a signal of each name to be queued.
    signal_waits: HashMap<String, Vec<u32>>,
    signals: HashMap<String, VecDeque<Option<Payload>>>,
    /// Patches whose marker is in the history (core's `NotifyHasPatch`).
    patches_in_history: HashSet<String>,
    /// The answer `patched` gave for each patch: the same for the whole run.
    patches: HashMap<String, bool>,
    /// What each query answers, as the guest last set it (JSON, checked when it was set).
    pub queries: HashMap<String, Payload>,
    /// Options for the next typed activity call only.
    pub next_call_options: Option<ActivityOptions>,
    /// Set by a host call that returned `Pending` waiting for the server; cleared before
    /// every poll. A `Pending` poll without it is the guest yielding at an epoch tick.
    pub blocked: bool,
    /// Signals dropped because their argument did not fit the receiver's type (not counted
    /// on replay); the driver moves them to a metric.
    pub dropped_signals: u64,
    /// The guest continued as new: its call never returns, the run is over.
    pub ended: bool,
    pub replaying: bool,
    /// Workflow time, ms since the Unix epoch.
    pub now_ms: u64,
    rng: u64,
    pub info: RunInfo,
    /// Guest linear memory in bytes, as last seen by a host call.
    pub memory_bytes: u64,
}

/// Ends the run with a failed workflow (not a failed workflow task: running it again gives the
/// same answer). Raised as a trap out of the guest's call, since the guest cannot catch it:
/// an activity failed behind an import whose type cannot carry the failure, or the run's
/// arguments do not fit the function.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct FailsWorkflow {
    pub message: String,
    /// The application error type the workflow fails with.
    pub error_type: String,
}

impl FailsWorkflow {
    /// Activity `activity_type` failed with `message`.
    pub(crate) fn activity(
        activity_type: &str,
        message: String,
        error_type: Option<String>,
    ) -> Self {
        FailsWorkflow {
            message: format!("activity `{activity_type}` failed: {message}"),
            error_type: error_type.unwrap_or_else(|| "ActivityFailed".to_string()),
        }
    }
}

/// Locks a run's shared state; a poisoned lock (a panic elsewhere) still holds usable data.
pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// A run seeded with `seed`.
    pub(crate) fn new(info: RunInfo, seed: u64) -> Self {
        Shared {
            info,
            rng: seed,
            ..Default::default()
        }
    }

    /// Reseeds the run's random sequence (core's `UpdateRandomSeed`).
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.rng = seed;
    }

    /// The next number of the run's random sequence (splitmix64: deterministic per seed).
    pub(crate) fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn seq(&mut self, what: Started) -> u32 {
        self.next_seq += 1;
        self.started.insert(self.next_seq, what);
        self.next_seq
    }

    /// Commands a durable timer; its sequence number is its handle.
    pub(crate) fn start_timer(&mut self, after: Duration) -> u32 {
        let seq = self.seq(Started::Timer);
        self.commands.push(
            workflow_command::Variant::StartTimer(StartTimer {
                seq,
                start_to_fire_timeout: Some(duration(after)),
            })
            .into(),
        );
        seq
    }

    /// Commands activity `activity_type`; its sequence number is its handle. `defaults` are
    /// the manifest's for the activity's interface, overridden field by field by `options`.
    pub(crate) fn schedule_activity(
        &mut self,
        activity_type: &str,
        arguments: Vec<Payload>,
        options: ActivityOptions,
    ) -> u32 {
        let seq = self.seq(Started::Activity);
        let o = options;
        let start_to_close = match (o.start_to_close, o.schedule_to_close) {
            (None, None) => Some(DEFAULT_START_TO_CLOSE),
            (s, _) => s,
        };
        let retry = (o.max_attempts.is_some()
            || o.initial_interval.is_some()
            || !o.non_retryable_error_types.is_empty())
        .then(|| RetryPolicy {
            maximum_attempts: o
                .max_attempts
                .map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            initial_interval: o.initial_interval.map(duration),
            non_retryable_error_types: o.non_retryable_error_types.clone(),
            ..Default::default()
        });
        self.commands.push(
            workflow_command::Variant::ScheduleActivity(ScheduleActivity {
                seq,
                activity_id: seq.to_string(),
                activity_type: activity_type.to_string(),
                task_queue: o.task_queue.unwrap_or_else(|| self.info.task_queue.clone()),
                arguments,
                start_to_close_timeout: start_to_close.map(duration),
                schedule_to_close_timeout: o.schedule_to_close.map(duration),
                heartbeat_timeout: o.heartbeat.map(duration),
                retry_policy: retry,
                ..Default::default()
            })
            .into(),
        );
        seq
    }

    /// Commands child workflow `workflow_type`; its sequence number is its handle.
    pub(crate) fn start_child(
        &mut self,
        workflow_type: &str,
        input: Vec<Payload>,
        options: ChildOptions,
    ) -> u32 {
        let seq = self.seq(Started::Child);
        let workflow_id = options
            .workflow_id
            .unwrap_or_else(|| format!("{}-child-{seq}", self.info.workflow_id));
        self.commands.push(
            workflow_command::Variant::StartChildWorkflowExecution(StartChildWorkflowExecution {
                seq,
                namespace: self.info.namespace.clone(),
                workflow_id,
                workflow_type: workflow_type.to_string(),
                task_queue: options
                    .task_queue
                    .unwrap_or_else(|| self.info.task_queue.clone()),
                input,
                workflow_execution_timeout: options.execution_timeout.map(duration),
                ..Default::default()
            })
            .into(),
        );
        seq
    }

    /// Asks to cancel what `handle` started; a timer is cancelled at once, an activity or a
    /// child when the server says so. Nothing for a handle already done.
    pub(crate) fn cancel(&mut self, handle: u32) {
        if self.done.contains_key(&handle) {
            return;
        }
        let variant = match self.started.get(&handle) {
            Some(Started::Timer) => {
                self.resolve(
                    handle,
                    Done::Failed {
                        message: "the timer was cancelled".into(),
                        error_type: Some("Cancelled".into()),
                    },
                );
                workflow_command::Variant::CancelTimer(CancelTimer { seq: handle })
            }
            Some(Started::Activity) => {
                workflow_command::Variant::RequestCancelActivity(RequestCancelActivity {
                    seq: handle,
                })
            }
            Some(Started::Child) => workflow_command::Variant::CancelChildWorkflowExecution(
                CancelChildWorkflowExecution {
                    child_workflow_seq: handle,
                    reason: "cancelled by its parent".into(),
                },
            ),
            Some(Started::Cancellation | Started::Signal) | None => return,
        };
        self.commands.push(variant.into());
    }

    /// The handle done once this workflow is asked to cancel (the same one on every call).
    pub(crate) fn cancellation(&mut self) -> u32 {
        if let Some(h) = self.cancellation {
            return h;
        }
        let h = self.seq(Started::Cancellation);
        self.cancellation = Some(h);
        if self.cancel_requested {
            self.resolve(h, Done::Value(None));
        }
        h
    }

    /// Someone asked this workflow to cancel; true when the guest handles it itself (it
    /// asked for the cancellation handle), false when the run is to end as cancelled now.
    pub(crate) fn request_cancel(&mut self) -> bool {
        self.cancel_requested = true;
        match self.cancellation {
            Some(h) => {
                self.resolve(h, Done::Value(None));
                true
            }
            None => false,
        }
    }

    /// Records that `handle` ended.
    pub(crate) fn resolve(&mut self, handle: u32, done: Done) {
        self.done.insert(handle, done);
    }

    /// How `handle` ended, if it has; marks the run blocked when it has not.
    pub(crate) fn outcome(&mut self, handle: u32) -> Option<Done> {
        let done = self.done.get(&handle).cloned();
        self.blocked |= done.is_none();
        done
    }

    /// True when `handle` ended; marks the run blocked when it has not.
    pub(crate) fn is_done(&mut self, handle: u32) -> bool {
        let done = self.done.contains_key(&handle);
        self.blocked |= !done;
        done
    }

    /// True when `handle` was ever started here (a guest may pass any number).
    pub(crate) fn is_known(&self, handle: u32) -> bool {
        handle >= 1 && handle <= self.next_seq
    }

    /// Core found patch `id`'s marker in the history.
    pub(crate) fn notify_patch(&mut self, id: &str) {
        self.patches_in_history.insert(id.to_string());
    }

    /// Whether the run takes the new path of patch `id`: yes when the history has its
    /// marker or the run is executing for the first time, no when it replays a history from
    /// before the patch. The first `yes` commands the marker (core records it once).
    pub(crate) fn patched(&mut self, id: &str, deprecated: bool) -> bool {
        if let Some(&answer) = self.patches.get(id) {
            return answer;
        }
        let answer = !self.replaying || self.patches_in_history.contains(id);
        if answer {
            self.commands.push(
                workflow_command::Variant::SetPatchMarker(SetPatchMarker {
                    patch_id: id.to_string(),
                    deprecated,
                })
                .into(),
            );
        }
        self.patches.insert(id.to_string(), answer);
        answer
    }

    /// Keeps a signal until the guest waits for it; its handles are done.
    pub(crate) fn signal(&mut self, name: &str, first_argument: Option<Payload>) {
        self.signals
            .entry(name.to_string())
            .or_default()
            .push_back(first_argument);
        for h in self.signal_waits.remove(name).unwrap_or_default() {
            self.resolve(h, Done::Value(None));
        }
    }

    /// A handle done once a signal `name` is queued (at once if one is).
    pub(crate) fn signal_handle(&mut self, name: &str) -> u32 {
        let h = self.seq(Started::Signal);
        if self.signals.get(name).is_some_and(|q| !q.is_empty()) {
            self.resolve(h, Done::Value(None));
        } else {
            self.signal_waits
                .entry(name.to_string())
                .or_default()
                .push(h);
        }
        h
    }

    /// The oldest signal `name` not yet taken (its first argument), marking the run blocked
    /// when there is none.
    pub(crate) fn take_signal(&mut self, name: &str) -> Option<Option<Payload>> {
        let taken = self.signals.get_mut(name).and_then(VecDeque::pop_front);
        self.blocked |= taken.is_none();
        taken
    }
}

fn duration(d: Duration) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration::try_from(d).unwrap_or(prost_wkt_types::Duration {
        seconds: i64::MAX,
        nanos: 0,
    })
}

/// A WIT-typed workflow run's store: the deterministic WASI stand-ins and memory limit of
/// every workflow run, and the state shared with the driver.
pub(crate) struct WitState {
    pub base: WorkflowState,
    pub shared: Arc<Mutex<Shared>>,
}

impl WasiView for WitState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.base.ctx()
    }
}

impl Limited for WitState {
    fn limiter(&mut self) -> &mut MemoryLimiter {
        self.base.limiter()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
