//! One core worker on the configured namespace and task queue, under one deployment version,
//! with its two poll loops.
//!
//! Strategy: [`PollingWorker::start`] builds the core worker, validates it against the server
//! (namespace exists, versioning accepted), then spawns the workflow and activity loops. Its
//! [`PollingWorker::shutdown`] asks core to stop polling, waits (bounded by the grace period plus
//! a margin) for both loops to end — core ends them only once every in-flight task is
//! completed, and cancels activities itself when the grace period is over — then finalizes core.

mod activities;
mod workflows;

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::metrics::HostMetrics;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;
use temporalio_client::Connection;
use temporalio_common::worker::{
    VersioningBehavior, WorkerDeploymentOptions, WorkerDeploymentVersion, WorkerTaskTypes,
};
use temporalio_sdk_core::{
    CoreRuntime, PollerBehavior, Worker, WorkerConfig, WorkerVersioningStrategy,
};
use tokio::task::JoinHandle;

/// Extra time, beyond the grace period, for core to deliver its cancellations and for the
/// activities to report them before the host stops waiting.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);

/// What one worker serves: its activity types, its workflow runtime, and the observer of how
/// their work went.
pub(crate) struct Served {
    pub activities: ActivityRegistry,
    pub workflows: Arc<dyn crate::workflow::WorkflowRuntime>,
    pub outcomes: Arc<crate::outcomes::Outcomes>,
}

/// A core worker whose loops are running.
pub(crate) struct PollingWorker {
    core: Arc<Worker>,
    loops: Vec<JoinHandle<Result<(), temporalio_sdk_core::PollError>>>,
    grace: Duration,
    build_id: String,
}

impl PollingWorker {
    /// Creates the core worker for `build_id`, validates it and starts polling.
    pub(crate) async fn start(
        runtime: &CoreRuntime,
        connection: Connection,
        config: &Config,
        build_id: &str,
        served: Served,
        metrics: &HostMetrics,
    ) -> anyhow::Result<Self> {
        let Served {
            activities,
            workflows,
            outcomes,
        } = served;
        let core_config = core_config(config, build_id)?;
        let core = temporalio_sdk_core::init_worker(runtime, core_config, connection)
            .context("creating the core worker")?;
        core.validate().await.with_context(|| {
            format!(
                "validating the worker against namespace `{}`",
                config.namespace
            )
        })?;
        let core = Arc::new(core);
        let wf = tokio::spawn(workflows::run_loop(
            core.clone(),
            config.task_queue.clone(),
            workflows,
            outcomes.clone(),
            metrics.clone(),
        ));
        let act = tokio::spawn(
            activities::ActivityLoop {
                core: core.clone(),
                registry: activities,
                task_queue: config.task_queue.clone(),
                metrics: metrics.clone(),
                outcomes,
            }
            .run(),
        );
        tracing::info!(
            task_queue = %config.task_queue,
            namespace = %config.namespace,
            deployment = %config.deployment_name,
            build_id,
            "worker polling"
        );
        Ok(PollingWorker {
            core,
            loops: vec![wf, act],
            grace: config.shutdown_grace,
            build_id: build_id.to_string(),
        })
    }

    /// True when a poll loop has ended on its own (a fatal poll error): the worker no longer
    /// takes tasks.
    pub(crate) fn has_stopped(&self) -> bool {
        self.loops.iter().any(JoinHandle::is_finished)
    }

    /// Stops polling, lets in-flight tasks finish within the grace period, finalizes core.
    pub(crate) async fn shutdown(self) {
        tracing::info!(build_id = %self.build_id, grace = ?self.grace, "worker shutting down");
        self.core.initiate_shutdown();
        let wait = async {
            for l in self.loops {
                match l.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "poll loop ended with an error"),
                    Err(e) => tracing::error!(error = %e, "poll loop panicked"),
                }
            }
        };
        if tokio::time::timeout(self.grace + SHUTDOWN_MARGIN, wait)
            .await
            .is_err()
        {
            tracing::error!(
                build_id = %self.build_id,
                "in-flight tasks did not finish within the grace period; Temporal will time them out and retry them"
            );
            return;
        }
        // The loops' spawned tasks drop their handles just after their last completion.
        let mut core = self.core;
        for _ in 0..100 {
            match Arc::try_unwrap(core) {
                Ok(owned) => {
                    owned.finalize_shutdown().await;
                    tracing::info!(build_id = %self.build_id, "worker stopped");
                    return;
                }
                Err(shared) => core = shared,
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::warn!("core worker still referenced at shutdown; skipping finalize");
    }
}

/// Types named in an unknown-type failure, at most this many: a plugin may export thousands,
/// and every such failure (in the history, the log) would carry them all.
const LISTED_TYPES: usize = 20;

/// The types a worker serves, for an unknown-type failure: `a, b` (at most [`LISTED_TYPES`],
/// then how many more), or that no plugin of `kind` is loaded.
fn listed(known: &[impl AsRef<str>], kind: &str) -> String {
    if known.is_empty() {
        return format!("none (no {kind} plugin is loaded)");
    }
    let shown: Vec<&str> = known.iter().take(LISTED_TYPES).map(AsRef::as_ref).collect();
    match known.len() - shown.len() {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Core's configuration for this host's settings and one build ID.
fn core_config(config: &Config, build_id: &str) -> anyhow::Result<WorkerConfig> {
    let version = WorkerDeploymentVersion::builder()
        .deployment_name(config.deployment_name.clone())
        .build_id(build_id.to_string())
        .build();
    let versioning = WorkerDeploymentOptions::new(version)
        .use_worker_versioning(true)
        .default_versioning_behavior(VersioningBehavior::Pinned)
        .build();
    // Two workflow pollers are the minimum core accepts with a sticky cache; more than a
    // handful only adds idle long polls.
    let wf_pollers = config.max_concurrent_workflow_tasks.clamp(2, 8);
    let act_pollers = config.max_concurrent_activities.clamp(1, 8);
    WorkerConfig::builder()
        .namespace(config.namespace.clone())
        .task_queue(config.task_queue.clone())
        .task_types(WorkerTaskTypes {
            enable_workflows: true,
            enable_local_activities: false,
            enable_remote_activities: true,
            enable_nexus: false,
        })
        .versioning_strategy(WorkerVersioningStrategy::WorkerDeploymentBased(versioning))
        .max_cached_workflows(config.max_cached_workflows)
        .max_outstanding_workflow_tasks(config.max_concurrent_workflow_tasks)
        .max_outstanding_activities(config.max_concurrent_activities)
        .max_outstanding_local_activities(1usize)
        .max_outstanding_nexus_tasks(1usize)
        .workflow_task_poller_behavior(PollerBehavior::SimpleMaximum(wf_pollers))
        .activity_task_poller_behavior(PollerBehavior::SimpleMaximum(act_pollers))
        .graceful_shutdown_period(config.shutdown_grace)
        .build()
        .map_err(|e| anyhow::anyhow!("invalid worker configuration: {e}"))
}
