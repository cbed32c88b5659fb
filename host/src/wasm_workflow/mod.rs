//! Workflow plugins: components built with Temporal's official workflow crate
//! (`temporalio-workflow`), hosted on the `temporal:workflow-runtime@0.1.0` ABI directly on
//! core.
//!
//! Each cached run owns one instance (from the plugin's `InstancePre`): a trap in one run never
//! touches another. Core bounds the cache (`--max-cached-workflows`) and evicts the least
//! recently used runs; an eviction drops the instance, and a later task for that run replays
//! its history into a fresh one.

pub mod bindings;
mod run;
pub mod state;

use crate::config::Versioning;
use crate::metrics::HostMetrics;
use crate::plugins::manifest::Manifest;
use bindings::WorkflowModulePre;
use run::Run;
use state::WorkflowState;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use temporalio_common::protos::coresdk::workflow_activation::{
    WorkflowActivation, workflow_activation_job,
};
use temporalio_common::protos::coresdk::workflow_commands::workflow_command;
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::enums::v1::{
    VersioningBehavior, WorkflowTaskFailedCause,
};
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use wasmtime::Store;
use wasmtime::component::InstancePre;

/// How long one activation (every guest call it needs) may take. Core's workflow task timeout
/// defaults to 10 s; failing at 5 s names the cause before the server times the task out.
pub const ACTIVATION_BUDGET: Duration = Duration::from_secs(5);

/// A workflow type a plugin exports, as `list-workflows` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowDefinition {
    /// The Temporal workflow type.
    pub workflow_type: String,
    /// Signal names.
    pub signals: Vec<String>,
    /// Query names.
    pub queries: Vec<String>,
    /// Update names.
    pub updates: Vec<String>,
}

/// A compiled, linked workflow plugin.
pub struct WorkflowPlugin {
    /// File name.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub digest: String,
    /// The manifest, or the defaults.
    pub manifest: Manifest,
    /// The workflow types it exports.
    pub definitions: Vec<WorkflowDefinition>,
    pre: WorkflowModulePre<WorkflowState>,
}

impl WorkflowPlugin {
    /// How `workflow_type` moves between builds: its manifest entry, else the manifest's
    /// plugin-wide setting, else `default`.
    pub fn versioning(&self, workflow_type: &str, default: Versioning) -> Versioning {
        self.manifest
            .versioning_by_type
            .get(workflow_type)
            .copied()
            .or(self.manifest.versioning)
            .unwrap_or(default)
    }

    /// Links `pre` and asks the component which workflows it exports.
    pub fn new(
        file: String,
        digest: String,
        manifest: Manifest,
        pre: InstancePre<WorkflowState>,
    ) -> Result<Self, String> {
        let pre = WorkflowModulePre::new(pre)
            .map_err(|e| format!("does not match the workflow-runtime world: {e:#}"))?;
        let definitions = wasmtime_wasi::runtime::in_tokio(list_workflows(&pre, &manifest))?;
        if definitions.is_empty() {
            return Err("a workflow component that exports no workflows".into());
        }
        // A typo in a type name must not silently leave that type on the default.
        for ty in manifest.versioning_by_type.keys() {
            if !definitions.iter().any(|d| &d.workflow_type == ty) {
                let exported: Vec<&str> = definitions
                    .iter()
                    .map(|d| d.workflow_type.as_str())
                    .collect();
                return Err(format!(
                    "manifest versioning_by_type.{ty}: the plugin exports no workflow type `{ty}` (it exports {})",
                    exported.join(", ")
                ));
            }
        }
        Ok(WorkflowPlugin {
            file,
            digest,
            manifest,
            definitions,
            pre,
        })
    }
}

async fn list_workflows(
    pre: &WorkflowModulePre<WorkflowState>,
    manifest: &Manifest,
) -> Result<Vec<WorkflowDefinition>, String> {
    let mut store = Store::new(pre.engine(), WorkflowState::new(0, manifest.memory_limit));
    store.limiter(|s| &mut s.limits);
    store.epoch_deadline_async_yield_and_update(1);
    let work = async {
        let module = pre.instantiate_async(&mut store).await?;
        module
            .temporal_workflow_runtime_workflow_guest()
            .call_list_workflows(&mut store)
            .await
    };
    let defs = tokio::time::timeout(ACTIVATION_BUDGET, work)
        .await
        .map_err(|_| format!("list-workflows did not return within {ACTIVATION_BUDGET:?}"))?
        .map_err(|e| format!("list-workflows trapped: {e:#}"))?;
    Ok(defs
        .into_iter()
        .map(|d| WorkflowDefinition {
            workflow_type: d.workflow_type,
            signals: d.signals,
            queries: d.queries,
            updates: d.updates.into_iter().map(|u| u.name).collect(),
        })
        .collect())
}

/// The workflow types of a plugin set and their cached runs.
pub struct Workflows {
    by_type: BTreeMap<String, Arc<WorkflowPlugin>>,
    /// Each type's versioning behaviour, sent with every completed workflow task: the server
    /// pins a run to its build, or moves it to the current build, by what its last task said.
    versioning: BTreeMap<String, VersioningBehavior>,
    /// This generation's outcomes, for the ramp.
    outcomes: Arc<crate::outcomes::Outcomes>,
    runs: Mutex<HashMap<String, Run>>,
    namespace: String,
    task_queue: String,
    metrics: HostMetrics,
}

impl Workflows {
    /// Serves `plugins` on `task_queue`; types their manifests do not place get
    /// `default_versioning`.
    pub fn new(
        plugins: &[Arc<WorkflowPlugin>],
        namespace: &str,
        task_queue: &str,
        default_versioning: Versioning,
        outcomes: Arc<crate::outcomes::Outcomes>,
        metrics: &HostMetrics,
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
            outcomes,
            runs: Mutex::new(HashMap::new()),
            namespace: namespace.to_string(),
            task_queue: task_queue.to_string(),
            metrics: metrics.clone(),
        }
    }

    /// Counts a workflow task this generation failed outside a plugin (e.g. a type it lacks).
    pub fn count_failure(&self) {
        self.outcomes.failed();
    }

    /// The versioning behaviour of `workflow_type`, if served.
    pub fn versioning(&self, workflow_type: &str) -> Option<VersioningBehavior> {
        self.versioning.get(workflow_type).copied()
    }

    /// Workflow types served, sorted.
    pub fn types(&self) -> Vec<String> {
        self.by_type.keys().cloned().collect()
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Run>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_cached_gauge(&self, n: usize) {
        self.metrics
            .workflow_runs_cached
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Handles one activation; `None` when no plugin provides the run's type (the caller
    /// reports that).
    pub async fn handle(
        &self,
        activation: WorkflowActivation,
    ) -> Option<WorkflowActivationCompletion> {
        let run_id = activation.run_id.clone();
        if activation.is_only_eviction() {
            let mut runs = self.runs();
            if runs.remove(&run_id).is_some() {
                self.metrics.workflow_evictions.inc();
            }
            self.set_cached_gauge(runs.len());
            return Some(WorkflowActivationCompletion::empty(run_id));
        }
        // Core never sends two activations of one run at once: take the run out while it works.
        let cached = self.runs().remove(&run_id);
        let mut run = match cached {
            Some(run) => run,
            None => {
                let init = activation.jobs.iter().find_map(|j| match &j.variant {
                    Some(workflow_activation_job::Variant::InitializeWorkflow(i)) => {
                        Some(i.clone())
                    }
                    _ => None,
                })?;
                let plugin = self.by_type.get(&init.workflow_type)?.clone();
                let started = Run::start(
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
                        self.metrics
                            .workflow_task_failures
                            .with_label_values(&[&init.workflow_type, cause.label()])
                            .inc();
                        let message = format!("plugin {}: {message}", plugin.file);
                        tracing::warn!(%run_id, workflow_type = %init.workflow_type, "{message}");
                        return Some(WorkflowActivationCompletion::fail(
                            run_id,
                            Failure::application_failure(message, false),
                            Some(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure),
                        ));
                    }
                }
            }
        };
        let workflow_type = run.workflow_type.clone();
        self.metrics
            .workflow_activations
            .with_label_values(&[&workflow_type])
            .inc();
        let started = Instant::now();
        let outcome = run.activate(activation, ACTIVATION_BUDGET).await;
        self.metrics
            .workflow_activation_seconds
            .with_label_values(&[&workflow_type])
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(mut completion) => {
                if let Some(workflow_activation_completion::Status::Successful(success)) =
                    &mut completion.status
                {
                    if let Some(behavior) = self.versioning.get(&workflow_type) {
                        success.set_versioning_behavior(*behavior);
                    }
                    let ends = |f: fn(&workflow_command::Variant) -> bool| {
                        success
                            .commands
                            .iter()
                            .any(|c| c.variant.as_ref().is_some_and(f))
                    };
                    if ends(|v| matches!(v, workflow_command::Variant::FailWorkflowExecution(_))) {
                        self.outcomes.failed();
                    } else {
                        self.outcomes.task_succeeded(ends(|v| {
                            matches!(v, workflow_command::Variant::CompleteWorkflowExecution(_))
                        }));
                    }
                }
                let mut runs = self.runs();
                runs.insert(run_id, run);
                self.set_cached_gauge(runs.len());
                Some(completion)
            }
            Err(failed) => {
                self.outcomes.failed();
                // The instance may be mid-call or poisoned: drop it; core replays the run into
                // a fresh one when the task is retried.
                self.metrics
                    .workflow_task_failures
                    .with_label_values(&[&workflow_type, failed.cause.label()])
                    .inc();
                tracing::warn!(%run_id, %workflow_type, cause = failed.cause.label(), "workflow task failed");
                self.set_cached_gauge(self.runs().len());
                Some(failed.completion)
            }
        }
    }
}
