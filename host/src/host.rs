//! The host as a whole: the HTTP port, the core runtime, the connection, the worker and the
//! status refresher, started together and stopped in order.
//!
//! Strategy: [`Host::start`] binds the HTTP port and starts core's metrics exporter at once
//! (so `/healthz` answers and `/readyz` says "connecting" while the server is still down),
//! then spawns the supervisor task. The supervisor connects with retry, starts the polling
//! worker, makes its deployment version current, marks the host ready and waits for the stop
//! token; then it stops the worker gracefully. [`RunningHost::stop`] fires the token and joins.

use crate::activity::{Activity, ActivityRegistry};
use crate::backoff::RetryLater;
use crate::config::Config;
use crate::connect::{self, ConnectError};
use crate::generation::Prepared;
use crate::health::Health;
use crate::http::{self, HttpState};
use crate::metrics::HostMetrics;
use crate::rollout::{Env, Rollout};
use crate::status::StatusBoard;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use temporalio_common::telemetry::TelemetryOptions;
use temporalio_sdk_core::{CoreRuntime, RuntimeOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A host ready to start.
pub struct Host {
    config: Config,
    activities: ActivityRegistry,
}

impl Host {
    /// A host for `config` with no activities registered yet.
    pub fn new(config: Config) -> Self {
        Host {
            config,
            activities: ActivityRegistry::default(),
        }
    }

    /// Registers a native activity type (embedding and tests; plugins register their own).
    pub fn activity(mut self, name: &str, activity: impl Activity) -> Self {
        self.activities.insert(name, Arc::new(activity));
        self
    }

    /// Loads the plugins folder, binds the HTTP port and starts the supervisor in the
    /// background.
    pub async fn start(self) -> anyhow::Result<RunningHost> {
        let metrics = HostMetrics::new();
        let pool = crate::engine::PoolSize {
            activities: self.config.max_concurrent_activities,
            workflow_runs: self.config.max_cached_workflows,
        };
        let plugins = Arc::new(
            plugin_runtime(pool, &metrics, &self.config)?
                .with_conversion_budget(self.config.conversion_budget),
        );
        // Taken before loading: a file published while the first set loads and the worker
        // connects (no watch yet) is noticed when the watch starts.
        let loaded_fingerprint = crate::watcher::fingerprint(&self.config.plugins_dir);
        let set = {
            let (plugins, dir, metrics) = (
                plugins.clone(),
                self.config.plugins_dir.clone(),
                metrics.clone(),
            );
            tokio::task::spawn_blocking(move || {
                crate::plugins::PluginSet::load(&plugins, &dir, &metrics)
            })
            .await
            .context("loading plugins")?
        };
        let board = Arc::new(StatusBoard::default());
        let refused = set.errors.iter().map(ToString::to_string).collect();
        let current_types = Arc::new(crate::outcomes::CurrentTypes::default());
        let run_budget =
            crate::wasm_workflow::RunBudget::new(self.config.workflow_memory_budget, &metrics);
        let prepared = Prepared::new(
            &set,
            &self.activities,
            &self.config,
            &metrics,
            &current_types,
            &run_budget,
        );
        let c = &self.config;
        metrics
            .info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                &c.build_id,
                &c.deployment_name,
                &c.namespace,
                &c.task_queue,
            ])
            .set(1);
        let health = Arc::new(Health::new(metrics.clone()));

        let core_metrics = crate::core_meter::CoreMetrics::start(c, &metrics)?;
        let stop_core_metrics = core_metrics.stopper();
        let meter = core_metrics.meter.clone();
        let telemetry = TelemetryOptions::builder().metrics(meter).build();
        let runtime = CoreRuntime::new_assume_tokio(
            RuntimeOptions::builder()
                .telemetry_options(telemetry)
                .build()
                .map_err(anyhow::Error::msg)?,
        )
        .context("starting the core runtime")?;

        let stop = CancellationToken::new();
        let state = HttpState {
            metrics: metrics.clone(),
            health: health.clone(),
            core_metrics: core_metrics.scrape,
            client: reqwest::Client::new(),
            status: board.clone(),
            types: current_types.clone(),
        };
        let http_stop = CancellationToken::new();
        let bound = http::serve(c.metrics_addr, c.status_addr, state, http_stop.clone()).await?;
        let (metrics_addr, http_task) = (bound.metrics, bound.task);
        match bound.status {
            Some(status_addr) => {
                tracing::info!(%metrics_addr, %status_addr, "serving /metrics, /healthz and /readyz; /status on its own port")
            }
            None => {
                tracing::info!(%metrics_addr, "serving /metrics, /healthz, /readyz and /status")
            }
        }

        let supervisor = Supervisor {
            runtime: plugins,
            first: Some((prepared, refused)),
            current_types,
            run_budget,
            loaded_fingerprint,
            config: self.config,
            native: self.activities,
            metrics,
            board,
            health: health.clone(),
            core: runtime,
            stop: stop.clone(),
        };
        let task = tokio::spawn(async move {
            let result = supervisor.run().await;
            http_stop.cancel();
            let _ = http_task.await;
            stop_core_metrics();
            result
        });
        Ok(RunningHost {
            metrics_addr,
            status_addr: bound.status.unwrap_or(metrics_addr),
            stop,
            task,
            health,
        })
    }
}

/// A started host.
pub struct RunningHost {
    metrics_addr: SocketAddr,
    status_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    health: Arc<Health>,
}

impl RunningHost {
    /// Where `/metrics`, `/healthz` and `/readyz` answer.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// Where `/status` answers (the metrics port unless `/status` has its own).
    pub fn status_addr(&self) -> SocketAddr {
        self.status_addr
    }

    /// `Ok` when connected and polling, else why not.
    pub fn readiness(&self) -> Result<(), String> {
        self.health.check()
    }

    /// Runs until `shutdown` resolves (then stops gracefully) or the host fails on its own.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown => self.stop().await,
            joined = &mut self.task => joined.context("the host task panicked")?,
        }
    }

    /// Stops polling, lets in-flight tasks finish within the grace period, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await.context("the host task panicked")?
    }
}

/// The background task that owns the connection and the generations.
struct Supervisor {
    /// The engine, its compile cache and the epoch ticker; alive while the host runs.
    runtime: Arc<crate::runtime::Runtime>,
    /// The first generation and the files its load refused, until it starts.
    first: Option<(Prepared, Vec<String>)>,
    /// What the current build serves (for the ramp's judgement of unknown types).
    current_types: Arc<crate::outcomes::CurrentTypes>,
    run_budget: Arc<crate::wasm_workflow::RunBudget>,
    /// The plugins folder as it was when the first generation was loaded.
    loaded_fingerprint: crate::watcher::Fingerprint,
    config: Config,
    native: ActivityRegistry,
    metrics: HostMetrics,
    board: Arc<StatusBoard>,
    health: Arc<Health>,
    core: CoreRuntime,
    stop: CancellationToken,
}

/// How often the ramping and draining generations are checked.
const DRAIN_CHECK: Duration = Duration::from_secs(2);

impl Supervisor {
    async fn run(mut self) -> anyhow::Result<()> {
        let c = &self.config;
        self.health
            .set_polling(false, &format!("connecting to {}", c.host_port()));
        let health = self.health.clone();
        let connection = match connect::connect(c, &self.metrics, &self.stop, |e| {
            health.set_reachable(Err(e.to_string()));
        })
        .await
        {
            Ok(conn) => conn,
            Err(ConnectError::Cancelled) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        self.health.set_reachable(Ok(()));
        // Fleet rollouts: this host runs a coordinator worker (whichever host is alive carries
        // the rollout) and reports to the coordinator instead of routing on its own.
        let fleet = c
            .fleet
            .then(|| {
                crate::fleet::client::FleetClient::new(
                    connection.clone(),
                    &c.namespace,
                    &c.deployment_name,
                    &c.task_queue,
                )
            })
            .transpose()?;
        let coordinator = c
            .fleet
            .then(|| {
                crate::fleet::worker::CoordinatorWorker::start(
                    connection.clone(),
                    &c.namespace,
                    &c.deployment_name,
                )
            })
            .transpose()?;
        let env = Env {
            config: &self.config,
            core: &self.core,
            connection: &connection,
            metrics: &self.metrics,
            board: &self.board,
            runtime: &self.runtime,
            native: &self.native,
            current_types: &self.current_types,
            run_budget: &self.run_budget,
            fleet: fleet.as_ref(),
            stop: &self.stop,
        };
        let (prepared, refused) = self
            .first
            .take()
            .context("the first generation is prepared once")?;
        let mut rollout = match Rollout::start(prepared, refused, &env).await {
            Ok(r) => r,
            Err(e) if self.stop.is_cancelled() => {
                tracing::info!(error = %e, "stopping before the worker became current");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.health.set_polling(true, "");
        let backlog = tokio::spawn(crate::backlog::refresh_loop(
            connection.clone(),
            c.namespace.clone(),
            c.task_queue.clone(),
            c.status_interval,
            self.metrics.clone(),
            self.health.clone(),
            self.stop.child_token(),
        ));
        let (reload_tx, mut reload_rx) = tokio::sync::mpsc::channel(1);
        let watch = |tx| match crate::watcher::watch(&c.plugins_dir, tx) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, dir = %c.plugins_dir.display(), "cannot watch the plugins folder; hot swap is off until it can be watched");
                None
            }
        };
        let mut watcher = watch(reload_tx.clone());
        let mut again = RetryLater::default();
        if crate::watcher::fingerprint(&c.plugins_dir) != self.loaded_fingerprint {
            tracing::info!("the plugins folder changed during start-up; reloading");
            again.after(rollout.reload(&env, Instant::now()).await);
        }
        // SIGHUP re-reads the secrets file and the plugins folder and forgets rolled-back
        // builds: rotated secrets reach the next attempts, a plugin refused for a missing secret
        // gets another chance, and files rolled back may ramp again.
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
            .ok();
        let hung_up = async |h: &mut Option<tokio::signal::unix::Signal>| match h {
            Some(h) => h.recv().await,
            None => std::future::pending().await,
        };
        let mut drain_check = tokio::time::interval(DRAIN_CHECK);
        let mut failed = None;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => break,
                Some(()) = reload_rx.recv() => again.after(rollout.reload(&env, Instant::now()).await),
                () = again.due() => {
                    tracing::info!("reloading the plugins folder again after a transient failure");
                    again.after(rollout.reload(&env, Instant::now()).await);
                }
                Some(()) = hung_up(&mut hangup) => {
                    match self.runtime.secrets().reload() {
                        Ok(()) => tracing::info!("SIGHUP: secrets re-read; reloading the plugins folder"),
                        Err(e) => tracing::error!(error = %e, "SIGHUP: the secrets file could not be re-read; keeping the secrets read before"),
                    }
                    rollout.retry(&env).await;
                    again.after(rollout.reload(&env, Instant::now()).await);
                }
                _ = drain_check.tick() => {
                    // A deleted (or never watchable) folder loses its watch: once the folder
                    // is back, watch it again and load what it holds.
                    if !c.plugins_dir.is_dir() {
                        watcher = None;
                    } else if watcher.is_none() {
                        watcher = watch(reload_tx.clone());
                        if watcher.is_some() {
                            tracing::info!(dir = %c.plugins_dir.display(), "plugins folder is back; watching it again");
                            again.after(rollout.reload(&env, Instant::now()).await);
                        }
                    }
                    rollout.tick(&env).await;
                    self.health.set_polling(
                        rollout.polls(),
                        "no generation polls: the fleet's coordinator retired every build of this host (publish current plugin files to start one)",
                    );
                    if rollout.has_stopped() {
                        failed = Some(anyhow::anyhow!("the worker stopped polling after a fatal error (see the log above)"));
                        break;
                    }
                }
            }
        }
        self.health.set_polling(false, "shutting down");
        self.stop.cancel();
        let _ = backlog.await;
        rollout.shutdown().await;
        if let Some(coordinator) = coordinator {
            coordinator.shutdown().await;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The runtime plugins load into, as `c` configures it (compile cache, secrets, grants): the
/// host's, and `wasm-worker check`'s, so both give the same verdict.
pub(crate) fn plugin_runtime(
    pool: crate::engine::PoolSize,
    metrics: &HostMetrics,
    c: &Config,
) -> anyhow::Result<crate::runtime::Runtime> {
    Ok(
        crate::runtime::Runtime::new(pool, metrics, c.compile_cache.as_deref())
            .context("starting the WebAssembly runtime")?
            .with_secrets(crate::runtime::secrets::Secrets::new(
                c.secrets_file.as_deref(),
            )?)
            .with_grants(grant_policy(c)),
    )
}

/// The folders manifests may grant: never one holding the host's own config, secrets or TLS
/// files; outside the plugins folder with a warning unless the operator allowed it.
fn grant_policy(c: &Config) -> crate::manifest::GrantPolicy {
    let tls = c.tls.as_ref();
    let protected = [
        c.config_file.clone(),
        c.secrets_file.clone(),
        c.temporal_config_file.clone(),
        tls.and_then(|t| t.client_key.as_ref()?.path().map(Path::to_path_buf)),
        tls.and_then(|t| t.client_cert.as_ref()?.path().map(Path::to_path_buf)),
    ]
    .into_iter()
    .flatten()
    .collect();
    crate::manifest::GrantPolicy {
        allow_absolute: c.allow_absolute_grants,
        protected,
    }
}
