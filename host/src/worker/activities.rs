//! The activity-task loop: poll core, run each task on the [`Activity`] registered for its
//! type, complete it; route cancellations to the running task.
//!
//! A task whose type no plugin provides fails retryably, naming the type and the task queue:
//! a plugin that provides it may be deployed before Temporal gives up.
//! A cancellation because the worker is shutting down (core sends it once the grace period is
//! over) becomes a retryable failure, so Temporal runs the activity again elsewhere.

use crate::activity::{Activity, ActivityContext, ActivityError, ActivityInfo, ActivityRegistry};
use crate::metrics::HostMetrics;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use temporalio_common::protos::coresdk::activity_result::ActivityExecutionResult;
use temporalio_common::protos::coresdk::activity_task::{
    ActivityCancelReason, ActivityTask, Start, activity_task,
};
use temporalio_common::protos::coresdk::{ActivityHeartbeat, ActivityTaskCompletion};
use temporalio_common::protos::temporal::api::common::v1::Payloads;
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};
use temporalio_sdk_core::{PollError, Worker};
use tokio_util::sync::CancellationToken;

/// A running task's cancellation handle and, once cancelled, why.
struct Running {
    token: CancellationToken,
    reason: Arc<OnceLock<ActivityCancelReason>>,
}

/// Shared state of one worker's activity loop.
pub(super) struct ActivityLoop {
    pub(super) core: Arc<Worker>,
    pub(super) registry: ActivityRegistry,
    pub(super) task_queue: String,
    pub(super) metrics: HostMetrics,
    /// This generation's outcomes, for the ramp.
    pub(super) outcomes: Arc<crate::outcomes::Outcomes>,
}

impl ActivityLoop {
    /// Polls until core reports shutdown (which it does only after every started task has been
    /// completed).
    pub(super) async fn run(self) -> Result<(), PollError> {
        let this = Arc::new(self);
        let running: Arc<Mutex<HashMap<Vec<u8>, Running>>> = Arc::default();
        loop {
            let task = match this.core.poll_activity_task().await {
                Ok(t) => t,
                Err(PollError::ShutDown) => return Ok(()),
                Err(e) => return Err(e),
            };
            let ActivityTask {
                task_token,
                variant,
            } = task;
            match variant {
                Some(activity_task::Variant::Start(start)) => {
                    let token = CancellationToken::new();
                    let reason = Arc::new(OnceLock::new());
                    running.lock().unwrap_or_else(|p| p.into_inner()).insert(
                        task_token.clone(),
                        Running {
                            token: token.clone(),
                            reason: reason.clone(),
                        },
                    );
                    let this = this.clone();
                    let running = running.clone();
                    tokio::spawn(async move {
                        let result = this.execute(&task_token, start, token, &reason).await;
                        running
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&task_token);
                        let completion = ActivityTaskCompletion {
                            task_token,
                            result: Some(result),
                        };
                        if let Err(e) = this.core.complete_activity_task(completion).await {
                            tracing::error!(error = %e, "completing an activity task failed");
                        }
                    });
                }
                Some(activity_task::Variant::Cancel(cancel)) => {
                    let map = running.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(r) = map.get(&task_token) {
                        let _ = r.reason.set(cancel.reason());
                        r.token.cancel();
                    }
                }
                None => tracing::warn!("activity task without a variant ignored"),
            }
        }
    }

    /// Runs one attempt and turns its outcome into core's result type.
    async fn execute(
        &self,
        task_token: &[u8],
        start: Start,
        cancelled: CancellationToken,
        reason: &OnceLock<ActivityCancelReason>,
    ) -> ActivityExecutionResult {
        let activity_type = start.activity_type.clone();
        let Some(activity) = self.registry.get(&activity_type) else {
            self.metrics.unknown_type("activity", &activity_type);
            let message =
                unknown_type_message(&activity_type, &self.task_queue, &self.registry.names());
            tracing::warn!(%activity_type, task_queue = %self.task_queue, "{message}");
            self.outcomes
                .observe_unknown_type(crate::outcomes::TypeKind::Activity, &activity_type);
            return failed(ActivityError::retryable("ActivityTypeNotFound", message));
        };
        let core = self.core.clone();
        let token = task_token.to_vec();
        let heartbeat = Arc::new(move |details| {
            core.record_activity_heartbeat(ActivityHeartbeat {
                task_token: token.clone(),
                details,
            });
        });
        let (info, input) = info_from(start, &self.task_queue);
        let ctx = ActivityContext::new(info, cancelled, heartbeat);
        self.metrics.activities_in_flight.inc();
        let outcome = call(activity, ctx, input).await;
        self.metrics.activities_in_flight.dec();
        self.outcomes.observe_activity(&outcome);
        match outcome {
            Ok(payload) => ActivityExecutionResult::ok(payload),
            Err(ActivityError::Cancelled)
                if reason.get() == Some(&ActivityCancelReason::WorkerShutdown) =>
            {
                failed(ActivityError::retryable(
                    "WorkerShutdown",
                    "the worker shut down before the activity finished; Temporal will retry it",
                ))
            }
            Err(ActivityError::Cancelled) => ActivityExecutionResult::cancel_from_details(None),
            Err(e) => failed(e),
        }
    }
}

/// Calls the activity in its own task so a panic in native code fails only this attempt.
async fn call(
    activity: Arc<dyn Activity>,
    ctx: ActivityContext,
    input: Vec<temporalio_common::protos::temporal::api::common::v1::Payload>,
) -> Result<temporalio_common::protos::temporal::api::common::v1::Payload, ActivityError> {
    match tokio::spawn(activity.execute(ctx, input)).await {
        Ok(r) => r,
        Err(e) => Err(ActivityError::retryable(
            "Panic",
            format!("the activity panicked: {e}"),
        )),
    }
}

fn failed(error: ActivityError) -> ActivityExecutionResult {
    let ActivityError::Failed {
        message,
        error_type,
        non_retryable,
        details,
    } = error
    else {
        return ActivityExecutionResult::cancel_from_details(None);
    };
    let mut failure = Failure::application_failure(message, non_retryable);
    if let Some(FailureInfo::ApplicationFailureInfo(info)) = failure.failure_info.as_mut() {
        info.r#type = error_type;
        if !details.is_empty() {
            info.details = Some(Payloads { payloads: details });
        }
    }
    ActivityExecutionResult::fail(failure)
}

fn unknown_type_message(activity_type: &str, task_queue: &str, known: &[&str]) -> String {
    let known = super::listed(known, "activity");
    format!(
        "activity type `{activity_type}` is not provided by any plugin on task queue `{task_queue}`; activity types here: {known}"
    )
}

/// Splits a start task into the activity's facts and its input.
fn info_from(
    start: Start,
    task_queue: &str,
) -> (
    ActivityInfo,
    Vec<temporalio_common::protos::temporal::api::common::v1::Payload>,
) {
    let execution = start.workflow_execution.clone().unwrap_or_default();
    let start_to_close = start.start_to_close_timeout.as_ref().and_then(|d| {
        (d.seconds >= 0 && d.nanos >= 0)
            .then(|| Duration::new(d.seconds.unsigned_abs(), d.nanos.unsigned_abs()))
    });
    let started = start.started_time.as_ref().and_then(|t| {
        (t.seconds >= 0 && t.nanos >= 0).then(|| {
            SystemTime::UNIX_EPOCH + Duration::new(t.seconds.unsigned_abs(), t.nanos.unsigned_abs())
        })
    });
    let info = ActivityInfo {
        activity_id: start.activity_id,
        activity_type: start.activity_type,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        workflow_type: start.workflow_type,
        namespace: start.workflow_namespace,
        task_queue: task_queue.to_string(),
        attempt: start.attempt,
        heartbeat_details: start.heartbeat_details,
        start_to_close_timeout: start_to_close,
        deadline: started.zip(start_to_close).map(|(s, d)| s + d),
    };
    (info, start.input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_type_message_names_type_queue_and_alternatives() {
        let m = unknown_type_message("greet_activity", "q1", &[]);
        assert_eq!(
            m,
            "activity type `greet_activity` is not provided by any plugin on task queue `q1`; activity types here: none (no activity plugin is loaded)"
        );
        let m = unknown_type_message("x", "q1", &["a", "b"]);
        assert!(m.ends_with("activity types here: a, b"), "{m}");
        // A plugin with thousands of functions does not make every failure a list of them.
        let many: Vec<String> = (0..3000).map(|i| format!("type_{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let m = unknown_type_message("x", "q1", &many);
        assert!(m.ends_with("type_18, type_19 and 2980 more"), "{m}");
        assert!(m.len() < 400, "{} bytes", m.len());
    }

    #[test]
    fn failures_carry_type_and_retryability() {
        let r = failed(ActivityError::non_retryable("BadInput", "nope"));
        let Some(temporalio_common::protos::coresdk::activity_result::activity_execution_result::Status::Failed(f)) = r.status else {
            panic!("expected failure");
        };
        let f = f.failure.expect("failure");
        assert_eq!(f.message, "nope");
        let Some(FailureInfo::ApplicationFailureInfo(info)) = f.failure_info else {
            panic!("expected application failure");
        };
        assert_eq!(info.r#type, "BadInput");
        assert!(info.non_retryable);
    }
}
