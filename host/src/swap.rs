//! Hot swap: a changed plugins folder becomes a new generation under a new build ID, made
//! current, while older generations keep polling until their pinned workflows are drained.
//!
//! Strategy: [`Rollout::reload`] builds the new plugin set off the async threads (read,
//! validate, compile — the compile cache makes unchanged files free). Any refused file keeps
//! the old set serving and is reported (log, metric, `/status`). Otherwise the new generation
//! starts polling, its version is made current, and the old one moves to `draining`.
//! [`Rollout::check_draining`] stops a draining generation once the server reports its version
//! drained, or the drain limit passes. A revert to a build ID that is still draining makes that
//! generation current again at once. A server without worker deployments gets an in-place swap.

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::deployment::{self, Outcome};
use crate::generation::{Generation, Prepared};
use crate::metrics::HostMetrics;
use crate::plugins::PluginSet;
use crate::status::{GenerationState, LoadErrorStatus, StatusBoard};
use crate::wasm_activity::PluginRuntime;
use std::sync::Arc;
use std::time::Instant;
use temporalio_client::Connection;
use temporalio_client::tonic::Request;
use temporalio_common::protos::temporal::api::deployment::v1::WorkerDeploymentVersion;
use temporalio_common::protos::temporal::api::enums::v1::VersionDrainageStatus;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkerDeploymentVersionRequest;
use temporalio_sdk_core::CoreRuntime;
use tokio_util::sync::CancellationToken;

/// What the rollout needs from the host.
pub struct Env<'a> {
    pub config: &'a Config,
    pub core: &'a CoreRuntime,
    pub connection: &'a Connection,
    pub metrics: &'a HostMetrics,
    pub board: &'a StatusBoard,
    pub plugins: &'a Arc<PluginRuntime>,
    pub native: &'a ActivityRegistry,
    pub stop: &'a CancellationToken,
}

/// The current generation and those still draining.
pub struct Rollout {
    current: Generation,
    draining: Vec<Generation>,
    /// False when the server lacks worker deployments: swaps replace in place.
    versioned: bool,
    /// Generations shutting down in the background (their in-flight tasks finishing).
    stopping: Vec<tokio::task::JoinHandle<()>>,
}

impl Rollout {
    /// Starts the first generation and makes it current.
    pub async fn start(prepared: Prepared, env: &Env<'_>) -> anyhow::Result<Self> {
        let current = Generation::start(
            prepared,
            env.core,
            env.connection.clone(),
            env.config,
            env.metrics,
        )
        .await?;
        let versioned = make_current(env, &current.build_id).await?;
        let rollout = Rollout {
            current,
            draining: Vec::new(),
            versioned,
            stopping: Vec::new(),
        };
        rollout.publish(env);
        Ok(rollout)
    }

    /// True when the current generation's worker died on its own.
    pub fn has_stopped(&self) -> bool {
        self.current.has_stopped()
    }

    /// Reloads the plugins folder; `requested` is when the change was detected.
    pub async fn reload(&mut self, env: &Env<'_>, requested: Instant) {
        let runtime = env.plugins.clone();
        let dir = env.config.plugins_dir.clone();
        let metrics = env.metrics.clone();
        let loaded =
            tokio::task::spawn_blocking(move || PluginSet::load(&runtime, &dir, &metrics)).await;
        let set = match loaded {
            Ok(set) => set,
            Err(e) => {
                tracing::error!(error = %e, "loading the plugins folder panicked; keeping the current plugins");
                env.metrics.swaps.with_label_values(&["refused"]).inc();
                return;
            }
        };
        if !set.errors.is_empty() {
            let errors: Vec<String> = set.errors.iter().map(ToString::to_string).collect();
            tracing::error!(
                errors = %errors.join("; "),
                build_id = %self.current.build_id,
                "plugins folder changed but is not valid; keeping the current plugins"
            );
            env.metrics.swaps.with_label_values(&["refused"]).inc();
            let at_unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            env.board
                .update(|s| s.last_load_error = Some(LoadErrorStatus { at_unix, errors }));
            return;
        }
        env.board.update(|s| s.last_load_error = None);
        let prepared = Prepared::new(&set, env.native, env.config, env.metrics);
        if prepared.build_id == self.current.build_id {
            tracing::info!(build_id = %prepared.build_id, "plugins folder changed, contents did not");
            env.metrics.swaps.with_label_values(&["unchanged"]).inc();
            return;
        }
        let next = match self
            .draining
            .iter()
            .position(|g| g.build_id == prepared.build_id)
        {
            // A revert to a version that is still polling: no new worker needed.
            Some(i) => {
                let mut g = self.draining.remove(i);
                g.draining_since = None;
                g
            }
            None => match Generation::start(
                prepared,
                env.core,
                env.connection.clone(),
                env.config,
                env.metrics,
            )
            .await
            {
                Ok(g) => g,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "starting the new generation failed; keeping the current one");
                    env.metrics.swaps.with_label_values(&["failed"]).inc();
                    return;
                }
            },
        };
        match make_current(env, &next.build_id).await {
            Ok(versioned) => self.versioned = versioned,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), build_id = %next.build_id, "making the new version current failed; keeping the current one");
                env.metrics.swaps.with_label_values(&["failed"]).inc();
                next.shutdown().await;
                return;
            }
        }
        let mut old = std::mem::replace(&mut self.current, next);
        env.metrics.swaps.with_label_values(&["ok"]).inc();
        env.metrics
            .swap_seconds
            .observe(requested.elapsed().as_secs_f64());
        tracing::info!(
            from = %old.build_id,
            to = %self.current.build_id,
            swap_ms = requested.elapsed().as_millis(),
            "new plugin set is current"
        );
        if self.versioned {
            old.draining_since = Some(Instant::now());
            self.draining.push(old);
        } else {
            tracing::error!(
                "in-place swap: the server has no worker deployments, so pinned semantics are OFF"
            );
            old.shutdown().await;
        }
        self.publish(env);
    }

    /// Stops draining generations whose version the server reports drained, or whose drain
    /// limit passed.
    pub async fn check_draining(&mut self, env: &Env<'_>) {
        let before = self.draining.len();
        let mut keep = Vec::with_capacity(before);
        for g in std::mem::take(&mut self.draining) {
            let since = g.draining_since.unwrap_or_else(Instant::now);
            let limit_passed = since.elapsed() >= env.config.drain_limit;
            if limit_passed || drained(env, &g.build_id).await {
                tracing::info!(
                    build_id = %g.build_id,
                    drain_s = since.elapsed().as_secs_f64(),
                    reason = if limit_passed { "drain limit" } else { "drained" },
                    "stopping a drained generation"
                );
                env.metrics
                    .drain_seconds
                    .observe(since.elapsed().as_secs_f64());
                self.stopping.push(tokio::spawn(g.shutdown()));
            } else {
                keep.push(g);
            }
        }
        let changed = keep.len() != before;
        self.draining = keep;
        if changed {
            self.publish(env);
        }
        self.stopping.retain(|t| !t.is_finished());
    }

    /// Stops every generation, concurrently.
    pub async fn shutdown(self) {
        let all = std::iter::once(self.current)
            .chain(self.draining)
            .map(Generation::shutdown);
        futures::future::join_all(all).await;
    }

    fn publish(&self, env: &Env<'_>) {
        let mut generations = vec![self.current.status(GenerationState::Current)];
        generations.extend(
            self.draining
                .iter()
                .map(|g| g.status(GenerationState::Draining)),
        );
        env.metrics.build_info.reset();
        for g in &generations {
            let state = match g.state {
                GenerationState::Current => "current",
                GenerationState::Draining => "draining",
            };
            env.metrics
                .build_info
                .with_label_values(&[&g.build_id, state])
                .set(1);
        }
        env.board.update(|s| {
            s.deployment_name.clone_from(&env.config.deployment_name);
            s.generations = generations;
        });
    }
}

/// Makes `build_id` current; `Ok(false)` when the server has no worker deployments.
async fn make_current(env: &Env<'_>, build_id: &str) -> anyhow::Result<bool> {
    let c = env.config;
    match deployment::make_current(
        env.connection,
        &c.namespace,
        &c.deployment_name,
        build_id,
        env.stop,
    )
    .await?
    {
        Outcome::Current => Ok(true),
        Outcome::Unsupported(why) => {
            tracing::error!(
                reason = %why,
                "the server does not support worker deployments: tasks are routed without versioning and pinned semantics are OFF"
            );
            Ok(false)
        }
    }
}

/// Whether the server reports `build_id`'s version drained (no open pinned workflows).
async fn drained(env: &Env<'_>, build_id: &str) -> bool {
    let request = DescribeWorkerDeploymentVersionRequest {
        namespace: env.config.namespace.clone(),
        deployment_version: Some(WorkerDeploymentVersion {
            deployment_name: env.config.deployment_name.clone(),
            build_id: build_id.to_string(),
        }),
        ..Default::default()
    };
    let mut service = env.connection.workflow_service();
    let call = service.describe_worker_deployment_version(Request::new(request));
    // Bounded: a slow server must not stall the supervisor (and with it reloads and shutdown).
    let Ok(answer) = tokio::time::timeout(std::time::Duration::from_secs(5), call).await else {
        tracing::debug!(%build_id, "describing a draining version timed out");
        return false;
    };
    match answer {
        Ok(resp) => {
            let info = resp.into_inner().worker_deployment_version_info;
            let status = info.and_then(|i| i.drainage_info).map(|d| d.status());
            tracing::debug!(%build_id, ?status, "drainage of a replaced version");
            status == Some(VersionDrainageStatus::Drained)
        }
        Err(status) => {
            tracing::debug!(%build_id, error = %status, "describing a draining version failed");
            false
        }
    }
}
