//! The coordinator's worker inside every host: polls the deployment's coordinator task queue
//! for the coordinator workflow and its routing activities, so any live host carries the
//! rollout on.
//!
//! The SDK's worker future is not `Send` (workflow code is single-threaded), so it runs on a
//! thread of its own with a current-thread runtime; it shares the host's connection.

use super::coordinator::{RolloutCoordinator, coordinator_queue};
use super::routing::RoutingActivities;
use anyhow::Context as _;
use temporalio_client::{Client, ClientOptions, Connection};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

type StopFn = Box<dyn Fn() + Send + Sync>;

/// A running coordinator worker.
pub struct CoordinatorWorker {
    stop: StopFn,
    thread: std::thread::JoinHandle<()>,
}

fn build(
    connection: Connection,
    namespace: &str,
    deployment: &str,
) -> anyhow::Result<(Worker, Runtime)> {
    let client = Client::new(connection.clone(), ClientOptions::new(namespace).build())
        .context("a client for the coordinator worker")?;
    let runtime = Runtime::from_current_tokio(Default::default())
        .context("a runtime for the coordinator worker")?;
    let options = WorkerOptions::new(coordinator_queue(deployment))
        .register_activities(RoutingActivities {
            connection,
            namespace: namespace.to_string(),
        })
        .register_workflow::<RolloutCoordinator>()
        .context("registering the coordinator workflow")?
        .max_cached_workflows(10usize)
        .build();
    let worker =
        Worker::new(&runtime, client, options).context("starting the coordinator worker")?;
    Ok((worker, runtime))
}

impl CoordinatorWorker {
    /// Starts polling for `deployment`'s coordinator.
    pub fn start(
        connection: Connection,
        namespace: &str,
        deployment: &str,
    ) -> anyhow::Result<Self> {
        let (namespace, deployment) = (namespace.to_string(), deployment.to_string());
        let (started_tx, started_rx) = std::sync::mpsc::channel::<anyhow::Result<StopFn>>();
        let thread = std::thread::Builder::new()
            .name("rollout-coordinator".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = started_tx.send(Err(e.into()));
                        return;
                    }
                };
                rt.block_on(async move {
                    // The runtime outlives the worker: it is dropped after `run` returns.
                    let (mut worker, _runtime) = match build(connection, &namespace, &deployment) {
                        Ok(built) => built,
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(Box::new(worker.shutdown_handle())));
                    if let Err(e) = worker.run().await {
                        tracing::error!(error = %e, "the rollout coordinator's worker stopped");
                    }
                });
            })
            .context("starting the coordinator worker's thread")?;
        let stop = started_rx
            .recv()
            .context("the coordinator worker's thread ended at start")??;
        Ok(CoordinatorWorker { stop, thread })
    }

    /// Stops polling; in-flight tasks finish (the workflow continues on another host).
    pub async fn shutdown(self) {
        (self.stop)();
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
