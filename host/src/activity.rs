//! The seam between Temporal activity tasks and whatever executes them.
//!
//! The worker loop (`worker/activities.rs`) turns a core activity task into an
//! [`ActivityContext`] plus its input payloads and calls the [`Activity`] registered for the
//! task's type; the plugin runtime implements [`Activity`] for each function a WASM component
//! exports. Hosts embedding the library (and the tests) may register native activities too.

use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use tokio_util::sync::CancellationToken;

/// Facts about the running activity, as the server sent them.
#[derive(Debug, Clone, Default)]
pub struct ActivityInfo {
    /// Activity ID within its workflow.
    pub activity_id: String,
    /// Activity type name.
    pub activity_type: String,
    /// Workflow that scheduled it.
    pub workflow_id: String,
    /// Run of that workflow.
    pub run_id: String,
    /// Type of that workflow.
    pub workflow_type: String,
    /// Namespace.
    pub namespace: String,
    /// Task queue the activity was dispatched on.
    pub task_queue: String,
    /// Attempt number, starting at 1.
    pub attempt: u32,
    /// Details recorded by the last heartbeat of a previous attempt.
    pub heartbeat_details: Vec<Payload>,
    /// The start-to-close timeout, if the workflow set one.
    pub start_to_close_timeout: Option<Duration>,
    /// When this attempt must finish: started time plus start-to-close timeout.
    pub deadline: Option<SystemTime>,
}

/// What an activity sees while it runs.
#[derive(Clone)]
pub struct ActivityContext {
    /// Facts about this attempt.
    pub info: Arc<ActivityInfo>,
    /// Fires when the server cancels the activity or the worker's grace period ends.
    pub cancelled: CancellationToken,
    heartbeat: Arc<dyn Fn(Vec<Payload>) + Send + Sync>,
}

impl ActivityContext {
    /// Builds a context; `heartbeat` forwards details to core.
    pub fn new(
        info: ActivityInfo,
        cancelled: CancellationToken,
        heartbeat: Arc<dyn Fn(Vec<Payload>) + Send + Sync>,
    ) -> Self {
        ActivityContext {
            info: Arc::new(info),
            cancelled,
            heartbeat,
        }
    }

    /// Records a heartbeat with `details`; core throttles and sends it.
    pub fn heartbeat(&self, details: Vec<Payload>) {
        (self.heartbeat)(details);
    }
}

/// How an activity attempt ended without a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActivityError {
    /// An application failure; Temporal retries it per the retry policy unless `non_retryable`.
    #[error("{error_type}: {message}")]
    Failed {
        /// Human-readable reason.
        message: String,
        /// Failure type shown in Temporal (e.g. `Trap`, `DeadlineExceeded`).
        error_type: String,
        /// When true, Temporal does not retry.
        non_retryable: bool,
        /// Structured details for the workflow.
        details: Vec<Payload>,
    },
    /// The activity acknowledged a cancellation.
    #[error("cancelled")]
    Cancelled,
}

impl ActivityError {
    /// A retryable failure of the given type.
    pub fn retryable(error_type: &str, message: impl Into<String>) -> Self {
        ActivityError::Failed {
            message: message.into(),
            error_type: error_type.to_string(),
            non_retryable: false,
            details: Vec::new(),
        }
    }

    /// A failure Temporal must not retry (bad input, for instance).
    pub fn non_retryable(error_type: &str, message: impl Into<String>) -> Self {
        ActivityError::Failed {
            message: message.into(),
            error_type: error_type.to_string(),
            non_retryable: true,
            details: Vec::new(),
        }
    }
}

/// One activity type's implementation.
pub trait Activity: Send + Sync + 'static {
    /// Runs one attempt with the task's input payloads (one per argument).
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Payload, ActivityError>>;
}

impl<F, Fut> Activity for F
where
    F: Fn(ActivityContext, Vec<Payload>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Payload, ActivityError>> + Send + 'static,
{
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Payload, ActivityError>> {
        Box::pin(self(ctx, input))
    }
}

/// Activity types by name. Ordered, so listings (errors, `/status`) are stable.
#[derive(Clone, Default)]
pub struct ActivityRegistry {
    by_type: BTreeMap<String, Arc<dyn Activity>>,
}

impl ActivityRegistry {
    /// Registers `activity` under `name`, replacing an earlier one of that name.
    pub fn insert(&mut self, name: impl Into<String>, activity: Arc<dyn Activity>) {
        self.by_type.insert(name.into(), activity);
    }

    /// The implementation of `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Activity>> {
        self.by_type.get(name).cloned()
    }

    /// Registered type names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_type.keys().map(String::as_str).collect()
    }
}
