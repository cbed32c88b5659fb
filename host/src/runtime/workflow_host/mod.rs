//! The store state of one workflow run: the commands the guest pushes, and WASI stand-ins that
//! make every import the toolchains bring along deterministic — the workflow reaches nothing
//! outside the ABI.
//!
//! A `temporalio-workflow` guest built for `wasm32-wasip2` imports `wasi:cli/*`, `wasi:io/*`
//! and `wasi:random/insecure-seed`. They are linked, but: the environment, arguments and stdin
//! are empty; no directory is open and no socket allowed; both clocks read *workflow time*
//! (the activation's timestamp); every random source is seeded from the run's randomness seed;
//! stdout/stderr become log records, and only when the run is not replaying; `exit` traps,
//! which fails the workflow task.

pub mod bindings;

use super::limits::{Limited, MemoryLimiter};
use super::output::Captured;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_commands::WorkflowCommand;
use wasmtime::Engine;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

/// Output kept per activation for the log.
const OUTPUT_BUDGET: usize = 16 * 1024;

/// Workflow time, shared by both clocks: nanoseconds since the Unix epoch of the current
/// activation.
#[derive(Clone, Default)]
pub struct WorkflowTime(Arc<AtomicU64>);

impl WorkflowTime {
    /// Sets the time to the activation's timestamp.
    pub fn set(&self, since_epoch: Duration) {
        self.0.store(
            u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl HostWallClock for WorkflowTime {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos())
    }
}

impl HostMonotonicClock for WorkflowTime {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        self.nanos()
    }
}

/// What a run's store holds.
pub struct WorkflowState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    /// Commands pushed during the current activation.
    pub commands: Vec<WorkflowCommand>,
    /// Their encoded size, bounded by `bindings::MAX_ACTIVATION_COMMAND_BYTES`.
    pub command_bytes: usize,
    /// A command that could not be decoded, reported as a task failure.
    pub bad_command: Option<String>,
    /// The workflow's "current details" (shown in the UI).
    pub details: String,
    /// The guest's stdout, for the log.
    pub stdout: Captured,
    /// The guest's stderr, for the log and failure messages.
    pub stderr: Captured,
    /// Workflow time, set from each activation.
    pub time: WorkflowTime,
}

impl WorkflowState {
    /// A deterministic state for a run seeded with `seed`.
    pub fn new(seed: u64, memory_limit: u64) -> Self {
        let time = WorkflowTime::default();
        let stdout = Captured::new(OUTPUT_BUDGET);
        let stderr = Captured::new(OUTPUT_BUDGET);
        let seed_bytes: Vec<u8> = seed
            .to_le_bytes()
            .iter()
            .chain(b"wasm-worker")
            .copied()
            .collect();
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(time.clone())
            .monotonic_clock(time.clone())
            .secure_random(wasmtime_wasi::Deterministic::new(seed_bytes.clone()))
            .insecure_random(wasmtime_wasi::Deterministic::new(seed_bytes))
            .insecure_random_seed(u128::from(seed))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        WorkflowState {
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_limit),
            commands: Vec::new(),
            command_bytes: 0,
            bad_command: None,
            details: String::new(),
            stdout,
            stderr,
            time,
        }
    }
}

impl Limited for WorkflowState {
    fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }
}

/// The workflow linker: `workflow-host` and the deterministic WASI stand-ins.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<WorkflowState>> {
    let mut linker = Linker::new(engine);
    bindings::add_to_linker(&mut linker)?;
    Ok(linker)
}

impl WasiView for WorkflowState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
