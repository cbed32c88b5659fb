//! The workflow types of one plugin set and their cached runs: each activation goes to its
//! run's instance, a new run instantiates its type's plugin.
//!
//! Each cached run owns one instance (from the plugin's `InstancePre`): a trap in one run never
//! touches another. Core bounds the cache (`--max-cached-workflows`) and evicts the least
//! recently used runs; an eviction drops the instance, and a later task for that run replays
//! its history into a fresh one.

use super::budget::EvictFn;
use super::budget::{Evictor, Owner, RunBudget};
use super::cached::CachedRun;
use super::failure::TaskFailure;
use super::run_cap::RunCaps;
use super::{ACTIVATION_BUDGET, WorkflowPlugin};
use crate::config::Versioning;
use crate::metrics::HostMetrics;
use crate::workflow::{NotServed, WorkflowRuntime};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use temporalio_common::protos::coresdk::workflow_activation::{
    WorkflowActivation, workflow_activation_job,
};
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::enums::v1::{
    VersioningBehavior, WorkflowTaskFailedCause,
};
use temporalio_common::protos::temporal::api::failure::v1::Failure;

/// The workflow types of a plugin set and their cached runs.
pub struct Workflows {
    by_type: BTreeMap<String, Arc<WorkflowPlugin>>,
    /// Each type's versioning behaviour, sent with every completed workflow task: the server
    /// pins a run to its build, or moves it to the current build, by what its last task said.
    versioning: BTreeMap<String, VersioningBehavior>,
    runs: Mutex<HashMap<String, CachedRun>>,
    namespace: String,
    task_queue: String,
    metrics: HostMetrics,
    /// The host-wide memory budget of cached runs, and this set's name in it.
    budget: Arc<RunBudget>,
    owner: Owner,
    /// Plugins' own bounds on their cached runs (manifest `max_cached_runs`).
    caps: Mutex<RunCaps>,
    /// How runs of this set are evicted, once its core worker exists.
    evictor: Mutex<Option<std::sync::Weak<EvictFn>>>,
}

impl Drop for Workflows {
    fn drop(&mut self) {
        self.budget.forget(self.owner);
    }
}

impl Workflows {
    /// Serves `plugins` on `task_queue`; types their manifests do not place get
    /// `default_versioning`.
    pub fn new(
        plugins: &[Arc<WorkflowPlugin>],
        namespace: &str,
        task_queue: &str,
        default_versioning: Versioning,
        metrics: &HostMetrics,
        budget: &Arc<RunBudget>,
    ) -> Self {
        let mut by_type = BTreeMap::new();
        let mut versioning = BTreeMap::new();
        for p in plugins {
            for d in &p.definitions {
                by_type.insert(d.workflow_type.clone(), p.clone());
                let behavior = match p.versioning(&d.workflow_type, default_versioning) {
                    Versioning::Pinned => VersioningBehavior::Pinned,
                    Versioning::AutoUpgrade => VersioningBehavior::AutoUpgrade,
                };
                versioning.insert(d.workflow_type.clone(), behavior);
            }
        }
        Workflows {
            by_type,
            versioning,
            runs: Mutex::new(HashMap::new()),
            namespace: namespace.to_string(),
            task_queue: task_queue.to_string(),
            metrics: metrics.clone(),
            owner: budget.owner(),
            budget: budget.clone(),
            caps: Mutex::default(),
            evictor: Mutex::default(),
        }
    }

    /// The versioning behaviour of `workflow_type`, if served.
    pub fn versioning(&self, workflow_type: &str) -> Option<VersioningBehavior> {
        self.versioning.get(workflow_type).copied()
    }

    /// Workflow types served, sorted.
    pub fn types(&self) -> Vec<String> {
        self.by_type.keys().cloned().collect()
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedRun>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn caps(&self) -> std::sync::MutexGuard<'_, RunCaps> {
        self.caps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the plugin of `workflow_type` within its `max_cached_runs`, evicting its least
    /// recently activated runs through core.
    fn cap(&self, workflow_type: &str, run_id: &str) {
        let Some(plugin) = self.by_type.get(workflow_type) else {
            return;
        };
        let cap = plugin.source.manifest.max_cached_runs;
        let victims = self.caps().cached(&plugin.source.file, run_id, cap);
        if victims.is_empty() {
            return;
        }
        let evict = self
            .evictor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(std::sync::Weak::upgrade);
        for victim in victims {
            tracing::debug!(plugin = %plugin.source.file, run_id = %victim, "over the plugin's max_cached_runs: evicting");
            match &evict {
                Some(evict) => evict(&victim),
                None => tracing::debug!(run_id = %victim, "no worker to evict through yet"),
            }
        }
    }

    fn set_cached_gauge(&self, n: usize) {
        self.metrics
            .workflow_runs_cached
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Handles one activation; [`NotServed`] when no plugin provides the run's type (the caller
    /// reports that).
    pub async fn handle(
        &self,
        activation: WorkflowActivation,
    ) -> Result<WorkflowActivationCompletion, NotServed> {
        let run_id = activation.run_id.clone();
        if activation.is_only_eviction() {
            let mut runs = self.runs();
            if runs.remove(&run_id).is_some() {
                self.metrics.workflow_evictions.inc();
            }
            self.set_cached_gauge(runs.len());
            drop(runs);
            self.budget.dropped(self.owner, &run_id);
            self.caps().dropped(&run_id);
            return Ok(WorkflowActivationCompletion::empty(run_id));
        }
        // Core never sends two activations of one run at once: take the run out while it works.
        let cached = self.runs().remove(&run_id);
        let mut run = match cached {
            Some(run) => run,
            None => {
                let init = activation.jobs.iter().find_map(|j| match &j.variant {
                    Some(workflow_activation_job::Variant::InitializeWorkflow(i)) => Some(i),
                    _ => None,
                });
                let Some((init, plugin)) = init
                    .and_then(|i| Some((i.clone(), self.by_type.get(&i.workflow_type)?.clone())))
                else {
                    return Err(NotServed::of(&activation));
                };
                let started = CachedRun::start(
                    &plugin,
                    &init,
                    &self.namespace,
                    &self.task_queue,
                    &run_id,
                    ACTIVATION_BUDGET,
                )
                .await;
                match started {
                    Ok(run) => run,
                    Err((message, cause)) => {
                        if cause == TaskFailure::PoolFull {
                            self.budget.make_room();
                        }
                        self.metrics
                            .workflow_task_failures
                            .with_label_values(&[&init.workflow_type, cause.label()])
                            .inc();
                        let message = format!("plugin {}: {message}", plugin.source.file);
                        tracing::warn!(%run_id, workflow_type = %init.workflow_type, "{message}");
                        return Ok(WorkflowActivationCompletion::fail(
                            run_id,
                            Failure::application_failure(message, false),
                            Some(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure),
                        ));
                    }
                }
            }
        };
        let workflow_type = run.workflow_type().to_string();
        self.metrics
            .workflow_activations
            .with_label_values(&[&workflow_type])
            .inc();
        let started = Instant::now();
        let outcome = run.activate(activation, ACTIVATION_BUDGET).await;
        let dropped = run.take_dropped_signals();
        if dropped > 0 {
            self.metrics
                .workflow_signals_dropped
                .with_label_values(&[&workflow_type])
                .inc_by(dropped);
        }
        self.metrics
            .workflow_activation_seconds
            .with_label_values(&[&workflow_type])
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(mut completion) => {
                if let Some(workflow_activation_completion::Status::Successful(success)) =
                    &mut completion.status
                    && let Some(behavior) = self.versioning.get(&workflow_type)
                {
                    success.set_versioning_behavior(*behavior);
                }
                let bytes = run.memory_bytes();
                let mut runs = self.runs();
                runs.insert(run_id.clone(), run);
                self.set_cached_gauge(runs.len());
                drop(runs);
                self.budget.cached(self.owner, &run_id, bytes);
                self.cap(&workflow_type, &run_id);
                Ok(completion)
            }
            Err(failed) => {
                if failed.cause == TaskFailure::PoolFull {
                    self.budget.make_room();
                }
                // The instance may be mid-call or poisoned: drop it; core replays the run into
                // a fresh one when the task is retried.
                self.metrics
                    .workflow_task_failures
                    .with_label_values(&[&workflow_type, failed.cause.label()])
                    .inc();
                tracing::warn!(%run_id, %workflow_type, cause = failed.cause.label(), "workflow task failed");
                self.set_cached_gauge(self.runs().len());
                self.budget.dropped(self.owner, &run_id);
                self.caps().dropped(&run_id);
                Ok(failed.completion)
            }
        }
    }
}

impl WorkflowRuntime for Workflows {
    fn types(&self) -> Vec<String> {
        Workflows::types(self)
    }

    fn activate(
        &self,
        activation: WorkflowActivation,
    ) -> BoxFuture<'_, Result<WorkflowActivationCompletion, NotServed>> {
        Box::pin(self.handle(activation))
    }

    fn set_evictor(&self, evict: &Evictor) {
        self.budget.set_evictor(self.owner, evict);
        *self.evictor.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::downgrade(evict));
    }
}
