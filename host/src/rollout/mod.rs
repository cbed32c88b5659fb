//! Hot swap and ramped rollouts: a changed plugins folder becomes a new generation under a new
//! build ID, made current (or ramped), while older generations keep polling until their
//! pinned workflows are drained.
//!
//! Strategy: [`machine::Machine`] decides, purely, from events; [`Rollout`] (this file) is the
//! small executor that does the I/O its actions ask for — load the folder, start a generation,
//! call the server's routing APIs ([`crate::deployment`]), stop generations, publish `/status`
//! and metrics — and feeds each result back as the next event. The rules themselves (revert to
//! a draining build, refused sets, in-place swaps without worker deployments, ramp promotion
//! and rollback, drain limits) are in the machine and unit-tested there.

mod events;
mod fleet_link;
pub(crate) mod machine;
mod manual;
mod publish;
mod ramp;
pub(crate) mod report;
mod server;

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::deployment;
use crate::generation::{Generation, Prepared};
use crate::metrics::HostMetrics;
use crate::plugins::PluginSet;
use crate::runtime::Runtime;
use crate::status::{GenerationState, GenerationStatus, StatusBoard};
use events::{Action, Event, Now};
use machine::Machine;
use report::{Phases, Report, StopReason};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use temporalio_client::Connection;
use temporalio_sdk_core::CoreRuntime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the rollout needs from the host.
pub(crate) struct Env<'a> {
    pub config: &'a Config,
    pub core: &'a CoreRuntime,
    pub connection: &'a Connection,
    pub metrics: &'a HostMetrics,
    pub board: &'a Arc<StatusBoard>,
    pub runtime: &'a Arc<Runtime>,
    pub native: &'a ActivityRegistry,
    /// What the current build serves, shared with every generation's outcome counters.
    pub current_types: &'a Arc<crate::outcomes::CurrentTypes>,
    /// The memory budget of every generation's cached workflow runs.
    pub run_budget: &'a Arc<crate::wasm_workflow::RunBudget>,
    /// Fleet rollouts: the deployment's coordinator, which decides routing for every host.
    pub fleet: Option<&'a crate::fleet::client::FleetClient>,
    pub stop: &'a CancellationToken,
}

/// The generations and the machine that decides what becomes of them.
pub(crate) struct Rollout {
    machine: Machine,
    /// Every polling generation by build ID: current, ramping, draining, and one starting.
    generations: HashMap<String, Generation>,
    /// The set loaded last, until the machine starts it (or lets it go).
    prepared: Option<Prepared>,
    /// The last generations that stopped after draining, newest first, for `/status`.
    drained: VecDeque<GenerationStatus>,
    /// Generations shutting down in the background (their in-flight tasks finishing).
    stopping: Vec<JoinHandle<()>>,
    /// Watches the last routing change spread to every partition (for `/status`).
    propagation: Option<JoinHandle<()>>,
    /// When the reload in progress was requested, loaded and started, for its log line.
    timing: Option<Timing>,
    /// Fleet rollouts: this host's link to the coordinator.
    fleet: Option<fleet_link::FleetLink>,
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    requested: Instant,
    loaded: Instant,
    started: Option<Instant>,
}

/// How many stopped generations `/status` remembers.
const KEEP_DRAINED: usize = 5;

impl Rollout {
    /// Starts the first generation and makes it current; `refused` are the files of the first
    /// load that did not load (on `/status` until a clean reload).
    pub(crate) async fn start(
        prepared: Prepared,
        refused: Vec<String>,
        env: &Env<'_>,
    ) -> anyhow::Result<Self> {
        let machine = Machine::new(env.config.rollout.clone(), env.config.drain_limit);
        let mut rollout = Rollout {
            machine: if env.fleet.is_some() || manual::is_manual(env) {
                machine.following()
            } else {
                machine
            },
            fleet: env.fleet.map(|client| {
                fleet_link::FleetLink::new(client.clone(), env.connection.identity().to_string())
            }),
            generations: HashMap::new(),
            prepared: None,
            drained: VecDeque::new(),
            stopping: Vec::new(),
            propagation: None,
            timing: None,
        };
        for result in report::SwapResult::ALL {
            env.metrics.swaps.with_label_values(&[result.label()]);
        }
        let build_id = prepared.build_id.clone();
        rollout.prepared = Some(prepared);
        rollout
            .dispatch(env, Event::Loaded { build_id, refused })
            .await?;
        Ok(rollout)
    }

    /// True while some generation of this host polls. In a fleet every build of a host can
    /// be retired (a stale replica's, a rolled-back one) and stop: the host then serves
    /// nothing and must not look ready.
    pub(crate) fn polls(&self) -> bool {
        !self.generations.is_empty()
    }

    /// True when the current generation's worker died on its own.
    pub(crate) fn has_stopped(&self) -> bool {
        self.machine
            .current()
            .and_then(|b| self.generations.get(b))
            .is_some_and(Generation::has_stopped)
    }

    /// Reloads the plugins folder; `requested` is when the change was detected. Returns true
    /// when files were refused for a transient reason (out of descriptors, say): the caller
    /// tries again later, since no file event may ever come to trigger it.
    pub(crate) async fn reload(&mut self, env: &Env<'_>, requested: Instant) -> bool {
        if manual::is_manual(env) && !self.generations.is_empty() {
            self.refuse_manual_reload(env).await;
            return false;
        }
        let runtime = env.runtime.clone();
        let dir = env.config.plugins_dir.clone();
        let metrics = env.metrics.clone();
        // A file still being written (an empty manifest parses as the default one) must not
        // become a build: the folder has to look the same after the load as before it.
        let loaded = tokio::task::spawn_blocking(move || {
            let before = crate::watcher::fingerprint(&dir);
            let set = PluginSet::load(&runtime, &dir, &metrics);
            (before == crate::watcher::fingerprint(&dir)).then_some(set)
        })
        .await;
        let loaded = match loaded {
            Ok(None) => {
                tracing::info!("the plugins folder changed while it loaded; loading it again");
                return true;
            }
            Ok(Some(set)) => Ok(set),
            Err(e) => Err(e),
        };
        let transient = loaded
            .as_ref()
            .is_ok_and(|set| set.errors.iter().any(|e| e.reason.is_transient()));
        let event = match loaded {
            Err(e) => Event::Refused {
                errors: vec![format!("loading the plugins folder panicked: {e}")],
            },
            Ok(set) if !set.errors.is_empty() => Event::Refused {
                errors: set.errors.iter().map(ToString::to_string).collect(),
            },
            Ok(set) => {
                let prepared = Prepared::new(
                    &set,
                    env.native,
                    env.config,
                    env.metrics,
                    env.current_types,
                    env.run_budget,
                );
                let build_id = prepared.build_id.clone();
                self.prepared = Some(prepared);
                Event::Loaded {
                    build_id,
                    refused: Vec::new(),
                }
            }
        };
        self.timing = Some(Timing {
            requested,
            loaded: Instant::now(),
            started: None,
        });
        if let Some(link) = &mut self.fleet {
            let errors = match &event {
                Event::Refused { errors } => errors.clone(),
                _ => Vec::new(),
            };
            link.refused(errors).await;
        }
        if let Err(e) = self.dispatch(env, event).await {
            tracing::error!(error = %format!("{e:#}"), "reload failed; keeping the current plugins");
        }
        self.prepared = None;
        self.timing = None;
        transient
    }

    /// Forgets rolled-back builds, so their files may ramp again (the operator's SIGHUP).
    pub(crate) async fn retry(&mut self, env: &Env<'_>) {
        if let Err(e) = self.dispatch(env, Event::Retry).await {
            tracing::error!(error = %format!("{e:#}"), "retry failed");
        }
    }

    /// The periodic check: judges the ramp (or, in a fleet, reports outcomes and follows the
    /// coordinator), checks drainage, reaps stopped generations.
    pub(crate) async fn tick(&mut self, env: &Env<'_>) {
        self.follow_fleet(env).await;
        self.follow_server(env).await;
        let ramp = self
            .machine
            .ramping()
            .and_then(|(b, _)| self.generations.get(b))
            .map(|g| g.outcomes.read());
        if let Err(e) = self.dispatch(env, Event::Tick { ramp }).await {
            tracing::error!(error = %format!("{e:#}"), "rollout check failed");
        }
        self.stopping.retain(|t| !t.is_finished());
    }

    /// Stops every generation, concurrently.
    pub(crate) async fn shutdown(self) {
        if let Some(p) = &self.propagation {
            p.abort();
        }
        let all = self.generations.into_values().map(Generation::shutdown);
        // Drained generations still finishing their in-flight tasks in the background too.
        let stopping = self.stopping.into_iter().map(|t| async {
            let _ = t.await;
        });
        futures::future::join(
            futures::future::join_all(all),
            futures::future::join_all(stopping),
        )
        .await;
    }

    /// Hands `event` to the machine and performs its actions, feeding their results back,
    /// until nothing is left to do.
    async fn dispatch(&mut self, env: &Env<'_>, event: Event) -> anyhow::Result<()> {
        let mut events = VecDeque::from([event]);
        while let Some(event) = events.pop_front() {
            for action in self.machine.handle(Now::real(), event) {
                if let Some(next) = self.perform(env, action).await? {
                    events.push_back(next);
                }
            }
        }
        Ok(())
    }

    async fn perform(&mut self, env: &Env<'_>, action: Action) -> anyhow::Result<Option<Event>> {
        Ok(match action {
            Action::Start { build_id } => Some(self.start_generation(env, build_id).await),
            Action::Route(events::Change::Announce { build_id }) => match &self.fleet {
                Some(link) => Some(link.announce(env, &build_id).await),
                None if manual::is_manual(env) => Some(manual::polling(env, &build_id).await),
                None => anyhow::bail!("a fleet report without a fleet coordinator"),
            },
            Action::Route(change) => Some(server::route(env, change).await),
            Action::CheckDrained { build_id } => {
                let drained = server::drained(env, &build_id).await;
                Some(Event::DrainReport { build_id, drained })
            }
            Action::Stop { build_id, why } => {
                self.stop_generation(env, &build_id, why).await;
                None
            }
            Action::Report(report) => {
                self.report(env, &report);
                None
            }
            Action::TrackPropagation { change, build_id } => {
                self.track_propagation(env, change, build_id);
                None
            }
            Action::Publish => {
                publish::publish(self, env);
                None
            }
            Action::Fail { error } => anyhow::bail!(error),
        })
    }

    async fn start_generation(&mut self, env: &Env<'_>, build_id: String) -> Event {
        let Some(prepared) = self.prepared.take().filter(|p| p.build_id == build_id) else {
            return Event::StartFailed {
                error: format!("no loaded plugin set for {build_id}"),
            };
        };
        let started = Generation::start(
            prepared,
            env.core,
            env.connection.clone(),
            env.config,
            env.metrics,
        )
        .await;
        match started {
            Ok(g) => {
                if let Some(t) = &mut self.timing {
                    t.started = Some(Instant::now());
                }
                self.generations.insert(build_id, g);
                Event::Started
            }
            Err(e) => Event::StartFailed {
                error: format!("{e:#}"),
            },
        }
    }

    async fn stop_generation(&mut self, env: &Env<'_>, build_id: &str, why: StopReason) {
        let Some(g) = self.generations.remove(build_id) else {
            return;
        };
        match why {
            StopReason::Abandoned => g.shutdown().await,
            StopReason::ReplacedInPlace => {
                tracing::error!(
                    %build_id,
                    "in-place swap: the server has no worker deployments, so pinned semantics are OFF"
                );
                g.shutdown().await;
            }
            StopReason::Drained { after } | StopReason::DrainLimit { after } => {
                let reason = if matches!(why, StopReason::Drained { .. }) {
                    "drained"
                } else {
                    "drain limit"
                };
                tracing::info!(%build_id, drain_s = after.as_secs_f64(), reason, "stopping a drained generation");
                if let Some(link) = &self.fleet {
                    let at_limit = matches!(why, StopReason::DrainLimit { .. });
                    link.drained(build_id, at_limit).await;
                }
                env.metrics.drain_seconds.observe(after.as_secs_f64());
                self.drained.push_front(g.status(GenerationState::Drained));
                self.drained.truncate(KEEP_DRAINED);
                self.stopping.push(tokio::spawn(g.shutdown()));
            }
        }
    }

    fn report(&self, env: &Env<'_>, report: &Report) {
        let phases = self.timing.filter(|_| report.went_live()).map(|t| {
            let now = Instant::now();
            let started = t.started.unwrap_or(t.loaded);
            let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            Phases {
                swap_ms: ms(now - t.requested),
                load_ms: ms(t.loaded - t.requested),
                start_ms: ms(started - t.loaded),
                route_ms: ms(now - started),
            }
        });
        report.log(phases);
        if let Some(result) = report.result() {
            env.metrics.swaps.with_label_values(&[result.label()]).inc();
        }
        if let Some(p) = phases {
            env.metrics.swap_seconds.observe(p.swap_ms as f64 / 1000.0);
        }
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
}
