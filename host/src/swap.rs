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
//!
//! With `--rollout ramp:N%` a new generation ramps instead: the server sends it N% of new runs
//! while [`Rollout::check_ramp`] watches its outcomes — promoted to current after enough
//! completed runs, rolled back (ramp removed, generation drained, its build ID not ramped
//! again by this process) when too many of its tasks fail. A revert to the current build's
//! files ends a ramp at once.

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::deployment::{self, Outcome};
use crate::generation::{Generation, Prepared};
use crate::metrics::HostMetrics;
use crate::plugins::PluginSet;
use crate::ramp::Verdict;
use crate::status::{GenerationState, LoadErrorStatus, RollbackStatus, StatusBoard};
use crate::wasm_activity::PluginRuntime;
use std::sync::Arc;
use std::time::Instant;
use temporalio_client::Connection;
use temporalio_common::protos::temporal::api::enums::v1::VersionDrainageStatus;
use temporalio_sdk_core::CoreRuntime;
use tokio_util::sync::CancellationToken;

/// What the rollout needs from the host.
pub struct Env<'a> {
    pub config: &'a Config,
    pub core: &'a CoreRuntime,
    pub connection: &'a Connection,
    pub metrics: &'a HostMetrics,
    pub board: &'a Arc<StatusBoard>,
    pub plugins: &'a Arc<PluginRuntime>,
    pub native: &'a ActivityRegistry,
    pub stop: &'a CancellationToken,
}

/// The current generation, a ramping one, and those still draining.
pub struct Rollout {
    current: Generation,
    /// The generation ramping, with its share of new runs.
    ramping: Option<(Generation, f32)>,
    draining: Vec<Generation>,
    /// Build IDs whose ramp was rolled back: the same files are not ramped again.
    rolled_back: std::collections::HashSet<String>,
    last_rollback: Option<RollbackStatus>,
    /// The last generations that stopped after draining, newest first, for `/status`.
    drained: std::collections::VecDeque<crate::status::GenerationStatus>,
    /// False when the server lacks worker deployments: swaps replace in place.
    versioned: bool,
    /// Generations shutting down in the background (their in-flight tasks finishing).
    stopping: Vec<tokio::task::JoinHandle<()>>,
    /// Watches the last routing change spread to every partition (for `/status`).
    propagation: Option<tokio::task::JoinHandle<()>>,
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
        let versioned = match make_current(env, &current.build_id).await? {
            Outcome::Current => true,
            Outcome::Unsupported(why) => {
                tracing::error!(
                    reason = %why,
                    "the server does not support worker deployments: tasks are routed without versioning and pinned semantics are OFF"
                );
                false
            }
        };
        let mut rollout = Rollout {
            current,
            ramping: None,
            draining: Vec::new(),
            rolled_back: std::collections::HashSet::new(),
            last_rollback: None,
            drained: std::collections::VecDeque::new(),
            versioned,
            stopping: Vec::new(),
            propagation: None,
        };
        if versioned {
            let build_id = rollout.current.build_id.clone();
            rollout.track_propagation(env, "current", build_id);
        }
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
        let loaded_at = Instant::now();
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
            let at_unix = unix_now();
            env.board
                .update(|s| s.last_load_error = Some(LoadErrorStatus { at_unix, errors }));
            return;
        }
        env.board.update(|s| s.last_load_error = None);
        let prepared = Prepared::new(&set, env.native, env.config, env.metrics);
        if prepared.build_id == self.current.build_id {
            if let Some((ramping, _)) = self.ramping.take() {
                tracing::warn!(build_id = %ramping.build_id, current = %self.current.build_id, "plugins folder reverted to the current build: ending the ramp");
                self.end_ramp(env, ramping).await;
                env.metrics.swaps.with_label_values(&["reverted"]).inc();
                self.publish(env);
                return;
            }
            tracing::info!(build_id = %prepared.build_id, "plugins folder changed, contents did not");
            env.metrics.swaps.with_label_values(&["unchanged"]).inc();
            return;
        }
        if self
            .ramping
            .as_ref()
            .is_some_and(|(g, _)| g.build_id == prepared.build_id)
        {
            tracing::info!(build_id = %prepared.build_id, "plugins folder changed, contents did not (still ramping)");
            env.metrics.swaps.with_label_values(&["unchanged"]).inc();
            return;
        }
        if self.rolled_back.contains(&prepared.build_id) {
            tracing::error!(build_id = %prepared.build_id, "these plugin files were rolled back earlier; not ramping them again (publish a fix, or restart to retry)");
            env.metrics.swaps.with_label_values(&["refused"]).inc();
            return;
        }
        let mut next = match self
            .draining
            .iter()
            .position(|g| g.build_id == prepared.build_id)
        {
            // A revert to a version that is still polling: no new worker needed. It keeps its
            // `draining_since` until the swap succeeds (a failed swap gives it back).
            Some(i) => self.draining.remove(i),
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
        let started_at = Instant::now();
        if let (crate::config::Rollout::Ramp { percent, .. }, true) =
            (env.config.rollout, self.versioned)
        {
            self.start_ramp(env, next, percent, requested).await;
            return;
        }
        match make_current(env, &next.build_id).await {
            Ok(Outcome::Current) => {}
            // Without worker deployments from the start, swaps replace in place.
            Ok(Outcome::Unsupported(_)) if !self.versioned => {}
            // A server that routed our versions before refuses this one: a passing condition
            // or a policy, not a server without deployments. Keep the current generation (and
            // the pinned runs on the old ones) rather than fall back to an in-place swap.
            Ok(Outcome::Unsupported(why)) => {
                tracing::error!(reason = %why, build_id = %next.build_id, "the server refused to make the new version current; keeping the current one");
                env.metrics.swaps.with_label_values(&["failed"]).inc();
                self.abandon(next).await;
                return;
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), build_id = %next.build_id, "making the new version current failed; keeping the current one");
                env.metrics.swaps.with_label_values(&["failed"]).inc();
                self.abandon(next).await;
                return;
            }
        }
        next.draining_since = None;
        if self.versioned {
            self.track_propagation(env, "current", next.build_id.clone());
        }
        let mut old = std::mem::replace(&mut self.current, next);
        env.metrics.swaps.with_label_values(&["ok"]).inc();
        env.metrics
            .swap_seconds
            .observe(requested.elapsed().as_secs_f64());
        // Where the time went: loading (read, validate, compile), starting the worker, and
        // the server's part (version registration, routing change, propagation).
        tracing::info!(
            from = %old.build_id,
            to = %self.current.build_id,
            swap_ms = requested.elapsed().as_millis(),
            load_ms = (loaded_at - requested).as_millis(),
            start_ms = (started_at - loaded_at).as_millis(),
            route_ms = started_at.elapsed().as_millis(),
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

    /// Makes `next` the ramping version at `percent`; a generation that was ramping before
    /// it drains.
    async fn start_ramp(
        &mut self,
        env: &Env<'_>,
        mut next: Generation,
        percent: f32,
        requested: Instant,
    ) {
        let d = deployment_of(env);
        match deployment::set_ramping(d, Some((&next.build_id, percent)), env.stop).await {
            Ok(Outcome::Current) => {}
            Ok(Outcome::Unsupported(why)) => {
                tracing::error!(reason = %why, build_id = %next.build_id, "the server refused the ramp; keeping the current version");
                env.metrics.swaps.with_label_values(&["failed"]).inc();
                self.abandon(next).await;
                return;
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), build_id = %next.build_id, "ramping the new version failed; keeping the current one");
                env.metrics.swaps.with_label_values(&["failed"]).inc();
                self.abandon(next).await;
                return;
            }
        }
        next.draining_since = None;
        tracing::info!(
            build_id = %next.build_id,
            current = %self.current.build_id,
            percent,
            swap_ms = requested.elapsed().as_millis(),
            "new plugin set is ramping"
        );
        self.track_propagation(env, "ramping", next.build_id.clone());
        env.metrics.swaps.with_label_values(&["ramping"]).inc();
        env.metrics
            .swap_seconds
            .observe(requested.elapsed().as_secs_f64());
        if let Some((mut previous, _)) = self.ramping.replace((next, percent)) {
            previous.draining_since = Some(Instant::now());
            self.draining.push(previous);
        }
        self.publish(env);
    }

    /// After a failed swap: a generation revived from `draining` goes back to draining (its
    /// pinned runs still need it); a new one stops.
    async fn abandon(&mut self, next: Generation) {
        if next.draining_since.is_some() {
            self.draining.push(next);
        } else {
            next.shutdown().await;
        }
    }

    /// Removes the ramp from the server and drains `ramping` (its pinned runs finish on it).
    async fn end_ramp(&mut self, env: &Env<'_>, mut ramping: Generation) {
        match deployment::set_ramping(deployment_of(env), None, env.stop).await {
            Ok(Outcome::Current) => {
                self.track_propagation(env, "unramped", ramping.build_id.clone());
            }
            Ok(Outcome::Unsupported(why)) => {
                tracing::error!(reason = %why, build_id = %ramping.build_id, "the server refused to remove the ramp; it may still send it new runs");
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), build_id = %ramping.build_id, "removing the ramp failed; the server may still send it new runs");
            }
        }
        ramping.draining_since = Some(Instant::now());
        self.draining.push(ramping);
    }

    /// Judges the ramping generation's outcomes: promotes it, rolls it back, or waits.
    pub async fn check_ramp(&mut self, env: &Env<'_>) {
        let crate::config::Rollout::Ramp {
            promote_after,
            max_failure_rate,
            ..
        } = env.config.rollout
        else {
            return;
        };
        let Some((ramping, _)) = &self.ramping else {
            return;
        };
        let counts = ramping.outcomes.read();
        match crate::ramp::judge(counts, promote_after, max_failure_rate) {
            Verdict::Wait => {}
            Verdict::Promote => {
                let build_id = ramping.build_id.clone();
                match make_current(env, &build_id).await {
                    Ok(Outcome::Current) => {}
                    Ok(Outcome::Unsupported(why)) => {
                        tracing::error!(reason = %why, %build_id, "the server refused to promote the ramping version; will retry");
                        return;
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), %build_id, "promoting the ramping version failed; will retry");
                        return;
                    }
                }
                let Some((promoted, _)) = self.ramping.take() else {
                    return;
                };
                self.track_propagation(env, "current", build_id.clone());
                let mut old = std::mem::replace(&mut self.current, promoted);
                tracing::info!(from = %old.build_id, to = %build_id, runs_completed = counts.runs_completed, failed = counts.failed, "ramping version promoted to current");
                env.metrics.swaps.with_label_values(&["promoted"]).inc();
                old.draining_since = Some(Instant::now());
                self.draining.push(old);
                self.publish(env);
            }
            Verdict::RollBack(reason) => {
                let Some((ramping, _)) = self.ramping.take() else {
                    return;
                };
                tracing::error!(build_id = %ramping.build_id, current = %self.current.build_id, %reason, "rolling back the ramping version");
                env.metrics.swaps.with_label_values(&["rolled_back"]).inc();
                self.rolled_back.insert(ramping.build_id.clone());
                self.last_rollback = Some(RollbackStatus {
                    build_id: ramping.build_id.clone(),
                    reason,
                    at_unix: unix_now(),
                });
                self.end_ramp(env, ramping).await;
                self.publish(env);
            }
        }
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
                self.drained.push_front(g.status(GenerationState::Drained));
                self.drained.truncate(KEEP_DRAINED);
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

    /// Records the routing change the server just accepted on `/status` and watches, in the
    /// background, for it to reach every task-queue partition (a newer change replaces the
    /// watch).
    fn track_propagation(&mut self, env: &Env<'_>, change: &'static str, build_id: String) {
        if let Some(previous) = self.propagation.take() {
            previous.abort();
        }
        env.board.update(|s| {
            s.routing = Some(crate::status::RoutingStatus {
                change,
                build_id: build_id.clone(),
                propagated: false,
            });
        });
        let board = env.board.clone();
        let watch = deployment::wait_propagated(
            env.connection.clone(),
            env.config.namespace.clone(),
            env.config.deployment_name.clone(),
            env.stop.clone(),
        );
        self.propagation = Some(tokio::spawn(async move {
            let started = Instant::now();
            if watch.await {
                tracing::info!(
                    change,
                    %build_id,
                    propagated_ms = started.elapsed().as_millis(),
                    "routing change reached every task-queue partition"
                );
                board.update(|s| {
                    if let Some(r) = s.routing.as_mut().filter(|r| r.build_id == build_id) {
                        r.propagated = true;
                    }
                });
            }
        }));
    }

    /// Stops every generation, concurrently.
    pub async fn shutdown(self) {
        if let Some(p) = &self.propagation {
            p.abort();
        }
        let all = std::iter::once(self.current)
            .chain(self.ramping.map(|(g, _)| g))
            .chain(self.draining)
            .map(Generation::shutdown);
        futures::future::join_all(all).await;
    }

    fn publish(&self, env: &Env<'_>) {
        let mut generations = vec![self.current.status(GenerationState::Current)];
        if let Some((g, percent)) = &self.ramping {
            let mut status = g.status(GenerationState::Ramping);
            status.ramp_percent = Some(*percent);
            generations.push(status);
        }
        generations.extend(
            self.draining
                .iter()
                .map(|g| g.status(GenerationState::Draining)),
        );
        env.metrics.build_info.reset();
        // Stopped generations are history: on `/status`, not in the live build_info gauge.
        for g in &generations {
            env.metrics
                .build_info
                .with_label_values(&[&g.build_id, g.state.as_str()])
                .set(1);
        }
        generations.extend(self.drained.iter().cloned());
        let last_rollback = self.last_rollback.clone();
        env.board.update(|s| {
            s.deployment_name.clone_from(&env.config.deployment_name);
            s.generations = generations;
            s.last_rollback = last_rollback;
        });
    }
}

/// How many stopped generations `/status` remembers.
const KEEP_DRAINED: usize = 5;

fn deployment_of<'a>(env: &Env<'a>) -> deployment::Deployment<'a> {
    deployment::Deployment {
        connection: env.connection,
        namespace: &env.config.namespace,
        name: &env.config.deployment_name,
        task_queue: &env.config.task_queue,
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Makes `build_id` the deployment's current version.
async fn make_current(env: &Env<'_>, build_id: &str) -> anyhow::Result<Outcome> {
    deployment::make_current(deployment_of(env), build_id, env.stop).await
}

/// Whether the server reports `build_id`'s version drained (no open pinned workflows).
async fn drained(env: &Env<'_>, build_id: &str) -> bool {
    let call = deployment::describe_version(deployment_of(env), build_id);
    // Bounded: a slow server must not stall the supervisor (and with it reloads and shutdown).
    let Ok(answer) = tokio::time::timeout(std::time::Duration::from_secs(5), call).await else {
        tracing::debug!(%build_id, "describing a draining version timed out");
        return false;
    };
    match answer {
        Ok(info) => {
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
