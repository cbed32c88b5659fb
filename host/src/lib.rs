//! # wasm-worker
//!
//! A Temporal worker host on Temporal's Rust core (`temporalio-sdk-core`) that runs workflows
//! and activities from WebAssembly components in a plugins folder.
//!
//! # Layout
//!
//! Layers, top uses bottom (no module imports one above it):
//!
//! - [`run`] / [`Host`] (`host`): starts everything in order and stops it in reverse; `main.rs`
//!   is only [`entry::main`]: parse, initialise logging, call [`run`] or [`run_dev`].
//! - `rollout`: hot swap and ramps — a pure state machine (`rollout::machine`) and the executor
//!   that performs its actions (generations, routing calls, `/status`).
//! - `generation`: one plugin set under one content-derived build ID (`build_id`), registered
//!   and polling; `deployment`: the server's routing calls; `watcher`: the plugins folder.
//! - [`plugins`]: one folder scan: read, check, compile, tell activity from workflow plugins.
//! - `worker`: one core worker's poll loops, behind two seams — [`activity::Activity`] and
//!   [`workflow::WorkflowRuntime`] — and one observer of completions (`outcomes`).
//! - `wasm_activity`, [`wasm_workflow`]: the two executors (a fresh instance per activity
//!   attempt; one instance per cached workflow run).
//! - [`runtime`]: engine, linkers, compile caches, epoch ticker, guest output, memory limits,
//!   and what each kind of store holds; on [`engine`] (every wasmtime setting) and
//!   [`compile_cache`] (compiled components on disk).
//! - Beside them: [`config`] (flags > env > TOML > defaults), [`manifest`] (a plugin's
//!   grants), [`convert`] (payloads ↔ WIT values), [`metrics`], `http` (`/metrics`,
//!   `/healthz`, `/readyz`, `/status`), `connect`, `backlog`, `health`, `status`, `dev`,
//!   `shutdown`, [`logging`], [`replay`].
//!
//! Only what the binary, the tests and the benchmarks use is public; everything else is
//! `pub(crate)`, so `unreachable_pub` keeps it that way.

pub mod activity;
pub mod allow_list;
mod backlog;
mod backoff;
mod build_id;
mod check;
mod cli;
pub mod compile_cache;
pub mod config;
mod connect;
mod contract;
pub mod convert;
mod core_meter;
mod deployment;
mod dev;
pub mod engine;
pub mod entry;
pub mod fleet;
mod generation;
mod health;
mod host;
mod http;
pub mod incremental_cache;
pub mod logging;
pub mod manifest;
pub mod metrics;
mod otlp;
mod outcomes;
pub mod plugin_file;
pub mod plugins;
pub mod replay;
mod rollout;
mod rollout_cmd;
pub mod runtime;
mod scaffold;
mod shutdown;
mod status;
mod status_cmd;
mod wasm_activity;
pub mod wasm_workflow;
mod watcher;
mod worker;
pub mod workflow;

pub use config::Config;
pub use generation::register_activities;
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
