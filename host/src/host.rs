//! The host as a whole: the HTTP port, the core runtime, the connection, the worker and the
//! status refresher, started together and stopped in order.
//!
//! Strategy: [`Host::start`] binds the HTTP port and starts core's metrics exporter at once
//! (so `/healthz` answers and `/readyz` says "connecting" while the server is still down),
//! then spawns the supervisor task. The supervisor connects with retry, starts the polling
//! worker, makes its deployment version current, marks the host ready and waits for the stop
//! token; then it stops the worker gracefully. [`RunningHost::stop`] fires the token and joins.

use crate::activity::{Activity, ActivityRegistry};
use crate::config::Config;
use crate::connect::{self, ConnectError};
use crate::deployment::{self, Outcome};
use crate::health::Health;
use crate::http::{self, HttpState};
use crate::metrics::HostMetrics;
use crate::worker::PollingWorker;
use anyhow::Context as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
};
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
    pub async fn start(mut self) -> anyhow::Result<RunningHost> {
        let metrics = HostMetrics::new();
        let pool = crate::engine::PoolSize {
            activities: self.config.max_concurrent_activities,
            workflow_runs: self.config.max_cached_workflows,
        };
        let plugin_runtime = crate::wasm_activity::PluginRuntime::new(pool)
            .context("starting the WebAssembly runtime")?;
        let plugins_dir = self.config.plugins_dir.clone();
        let (plugin_runtime, set) = tokio::task::spawn_blocking({
            let metrics = metrics.clone();
            move || {
                let set = crate::plugins::PluginSet::load(&plugin_runtime, &plugins_dir, &metrics);
                (plugin_runtime, set)
            }
        })
        .await
        .context("loading plugins")?;
        crate::wasm_activity::register(&set, &mut self.activities, &metrics);
        let workflows = Arc::new(crate::wasm_workflow::Workflows::new(
            &set.workflows,
            &self.config.namespace,
            &self.config.task_queue,
            &metrics,
        ));
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

        // Core's exporter stays on loopback; `/metrics` on our port re-serves its text.
        let exporter = start_prometheus_metric_exporter(
            PrometheusExporterOptions::builder()
                .socket_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .build(),
        )
        .context("starting core's metrics exporter")?;
        let meter: Arc<dyn temporalio_common::telemetry::metrics::CoreMeter> =
            exporter.meter.clone();
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
            core_metrics: exporter.bound_addr,
            client: reqwest::Client::new(),
        };
        let http_stop = CancellationToken::new();
        let (metrics_addr, http_task) =
            http::serve(c.metrics_addr, state, http_stop.clone()).await?;
        tracing::info!(%metrics_addr, "serving /metrics, /healthz and /readyz");

        let supervisor = Supervisor {
            _plugin_runtime: plugin_runtime,
            workflows,
            config: self.config,
            activities: self.activities,
            metrics,
            health: health.clone(),
            runtime,
            stop: stop.clone(),
        };
        let task = tokio::spawn(async move {
            let result = supervisor.run().await;
            http_stop.cancel();
            let _ = http_task.await;
            exporter.abort_handle.abort();
            result
        });
        Ok(RunningHost {
            metrics_addr,
            stop,
            task,
            health,
        })
    }
}

/// A started host.
pub struct RunningHost {
    metrics_addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    health: Arc<Health>,
}

impl RunningHost {
    /// Where `/metrics`, `/healthz` and `/readyz` answer.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
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

/// The background task that owns the connection and the worker.
struct Supervisor {
    /// Keeps the engine (and its epoch ticker) alive while the worker runs.
    _plugin_runtime: crate::wasm_activity::PluginRuntime,
    workflows: Arc<crate::wasm_workflow::Workflows>,
    config: Config,
    activities: ActivityRegistry,
    metrics: HostMetrics,
    health: Arc<Health>,
    runtime: CoreRuntime,
    stop: CancellationToken,
}

impl Supervisor {
    async fn run(self) -> anyhow::Result<()> {
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
        let worker = PollingWorker::start(
            &self.runtime,
            connection.clone(),
            c,
            &c.build_id,
            self.activities.clone(),
            self.workflows.clone(),
            &self.metrics,
        )
        .await?;
        match deployment::make_current(
            &connection,
            &c.namespace,
            &c.deployment_name,
            worker.build_id(),
            &self.stop,
        )
        .await
        {
            Ok(Outcome::Current) => {}
            Ok(Outcome::Unsupported(why)) => tracing::error!(
                reason = %why,
                "the server does not support worker deployments: tasks are routed without versioning and pinned semantics are OFF"
            ),
            Err(e) if self.stop.is_cancelled() => {
                tracing::info!(error = %e, "stopping before the version became current")
            }
            Err(e) => {
                worker.shutdown().await;
                return Err(e);
            }
        }
        self.health.set_polling(true, "");
        let status = tokio::spawn(crate::status::refresh_loop(
            connection.clone(),
            c.namespace.clone(),
            c.task_queue.clone(),
            c.status_interval,
            self.metrics.clone(),
            self.health.clone(),
            self.stop.child_token(),
        ));

        let mut failed = None;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    if worker.has_stopped() {
                        failed = Some(anyhow::anyhow!("the worker stopped polling after a fatal error (see the log above)"));
                        break;
                    }
                }
            }
        }
        self.health.set_polling(false, "shutting down");
        self.stop.cancel();
        let _ = status.await;
        worker.shutdown().await;
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
