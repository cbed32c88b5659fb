//! # wasm-worker
//!
//! A Temporal worker host on Temporal's Rust core (`temporalio-sdk-core`) that runs workflows
//! and activities from WebAssembly components in a plugins folder.
//!
//! # Layout
//!
//! - [`config`]: every setting, layered flags > env > TOML file > defaults, validated at start.
//! - [`cli`]: the command line, generated from the settings table.
//! - [`host`]: starts everything in order and stops it in reverse; [`run`] is the entry point.
//! - [`connect`]: the first connection, with backoff and jitter.
//! - [`worker`]: one core worker and its workflow and activity poll loops.
//! - [`activity`]: the [`activity::Activity`] trait the loops dispatch activity tasks to.
//! - [`plugins`]: the plugins folder: load, validate, compile, manifests, exported functions.
//! - [`wasm_activity`]: plugin functions as activities: sandbox, host imports, one call.
//! - [`wasm_workflow`]: workflow plugins on Temporal's workflow-runtime ABI, one instance per run.
//! - [`convert`]: Temporal payloads ↔ WIT values; [`engine`]: every wasmtime setting.
//! - [`compile_cache`]: compiled components on disk, keyed by content and engine.
//! - [`deployment`]: makes the worker's deployment version current.
//! - [`generation`], [`swap`], [`watcher`], [`build_id`], [`outcomes`], [`ramp`]: hot swap — a changed plugins folder
//!   becomes a new generation under a content-derived build ID; old ones drain.
//! - [`status`]: the `/status` document; [`status_cmd`]: `wasm-worker status`, its reader.
//! - [`backlog`]: periodic DescribeTaskQueue for the backlog gauge and reachability.
//! - [`health`], [`http`], [`metrics`]: `/readyz`, the one HTTP port, the host's own metrics.
//! - [`shutdown`]: SIGINT/SIGTERM; [`dev`]: the embedded dev server; [`logging`].
//!
//! [`entry::main`] (all of `main.rs`) only parses, initialises logging and calls [`run`] or
//! [`run_dev`].

pub mod activity;
pub mod backlog;
pub mod build_id;
pub mod cli;
pub mod compile_cache;
pub mod config;
pub mod connect;
pub mod convert;
pub mod deployment;
pub mod dev;
pub mod engine;
pub mod entry;
pub mod generation;
pub mod health;
pub mod host;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod outcomes;
pub mod plugins;
pub mod ramp;
pub mod replay;
pub mod shutdown;
pub mod status;
pub mod status_cmd;
pub mod swap;
pub mod wasm_activity;
pub mod wasm_workflow;
pub mod watcher;
pub mod worker;

pub use config::Config;
pub use host::{Host, RunningHost};

/// Runs a host for `config` until `shutdown` resolves, then stops it gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    Host::new(config).start().await?.run_until(shutdown).await
}

/// Dev mode: starts the embedded dev server if nothing answers, runs the host, stops the
/// server again on the way out.
pub async fn run_dev(
    config: Config,
    dev: config::DevConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let server = dev::ensure_server(&config, &dev).await?;
    let result = run(config, shutdown).await;
    if let Some(server) = server {
        server.stop().await;
    }
    result
}
