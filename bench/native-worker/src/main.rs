//! `bench-native-worker --address HOST:PORT --task-queue Q [--namespace NS]`: the benchmark's
//! native Rust worker. It registers the very workflow crates wasm-worker runs as plugins
//! (`GreetingWorkflow`, `FanOutWorkflow`, `SequentialWorkflow`) and `greet_activity` as a Rust
//! function, on `temporalio-sdk` with its default slots (100 workflow tasks, 100 activities)
//! and the same sticky cache size as wasm-worker (1000). Runs until SIGTERM or SIGINT.

use anyhow::Context as _;
use std::str::FromStr as _;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// The activities, as the SDK's macro wants them (it generates public definitions).
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the `activities` macro's generated items"
)]
mod native {
    use temporalio_macros::activities;
    use temporalio_sdk::activities::{ActivityContext, ActivityError};

    pub struct Activities;

    #[activities]
    impl Activities {
        /// What `plugins/hello-activity` does, natively.
        // The SDK names activities `Type::method` unless told; the workflows call it by name.
        #[activity(name = "greet_activity")]
        pub async fn greet_activity(
            _ctx: ActivityContext,
            name: String,
        ) -> Result<String, ActivityError> {
            Ok(format!("Hello, {name}!"))
        }
    }
}
use native::Activities;

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let address = arg(&args, "--address").unwrap_or_else(|| "localhost:7233".into());
    let queue = arg(&args, "--task-queue").context("--task-queue is required")?;
    let namespace = arg(&args, "--namespace").unwrap_or_else(|| "default".into());
    let url = Url::from_str(&format!("http://{address}")).context("--address")?;
    let connection = Connection::connect(ConnectionOptions::new(url).build())
        .await
        .context("connecting")?;
    let client = Client::new(connection, ClientOptions::new(namespace).build())?;
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let options = WorkerOptions::new(&queue)
        .register_activities(Activities)
        .register_workflow::<greeting_workflow::GreetingWorkflow>()?
        .register_workflow::<bench_workflows::FanOutWorkflow>()?
        .register_workflow::<bench_workflows::SequentialWorkflow>()?
        .max_cached_workflows(1000usize)
        .build();
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        stop();
    });
    worker.run().await?;
    Ok(())
}
