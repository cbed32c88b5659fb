//! Every `wasmtime::Config` choice, in one place, each with its reason.
//!
//! One [`Engine`] is shared by all plugins, activities and workflows alike: each component is
//! compiled once (before its kind is known) and linked once (`InstancePre`). Every activity
//! attempt instantiates a fresh instance; every cached workflow run owns one.

use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// How often the epoch advances. A running guest yields to the async runtime at every tick,
/// which is how deadlines and cancellations interrupt it; 10 ms bounds that latency without
/// measurable cost (one counter increment per tick).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory any instance may have; per-plugin limits (default 64 MiB, manifest
/// `memory_limit_mib`) are enforced below it by the store limiter.
pub const MAX_MEMORY_BYTES: u64 = 1 << 30;

/// How many instances the pool must hold at once.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// Activity attempts running at once (each a fresh instance).
    pub activities: usize,
    /// Workflow runs kept in the cache (each owns an instance).
    pub workflow_runs: usize,
}

/// The engine for all plugins; `incremental` keeps Cranelift's per-function results, so a
/// changed component recompiles only the functions that changed.
pub fn plugin_engine(
    pool: PoolSize,
    incremental: Option<std::sync::Arc<dyn wasmtime::CacheStore>>,
) -> wasmtime::Result<Engine> {
    Engine::new(&plugin_config(pool, incremental)?)
}

/// The configuration [`plugin_engine`] uses (benchmarks vary it).
pub fn plugin_config(
    pool: PoolSize,
    incremental: Option<std::sync::Arc<dyn wasmtime::CacheStore>>,
) -> wasmtime::Result<Config> {
    let mut config = Config::new();
    if let Some(store) = incremental {
        config.enable_incremental_compilation(store)?;
    }
    config.wasm_component_model(true);
    // Calls are futures (`call_async`): a guest that loops still yields at every epoch tick,
    // so the tokio task that runs it can be cancelled or timed out.
    config.epoch_interruption(true);
    config.cranelift_opt_level(OptLevel::Speed);
    // Determinism for workflow replay: NaN bit patterns and relaxed-SIMD results must not
    // depend on the machine a run is replayed on. Activities pay only on float-heavy code,
    // and one engine means one compilation per plugin whatever its kind.
    config.cranelift_nan_canonicalization(true);
    config.relaxed_simd_deterministic(true);
    // Keep WASM backtraces: a trap's message names the guest functions involved.
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(32));
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(pool)));
    Ok(config)
}

/// Linear-memory bytes a slot keeps resident and resets with `memset` (see [`pooling`]).
const MEMORY_KEEP_RESIDENT: usize = 1 << 20;

/// Freed slots that keep their memory (and module affinity) for the next instance; beyond
/// them, a freed slot is reused before an untouched one is. With [`MEMORY_KEEP_RESIDENT`] this
/// bounds what idle slots hold resident: at most 32 MiB.
const MAX_UNUSED_WARM_SLOTS: u32 = 32;

/// Table bytes reset with `memset` rather than `madvise` when a slot is reused.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Pooling: instantiation reuses pre-reserved slots (about half the cost of mmap-per-instance)
/// and copy-on-write memory images make a fresh instance's memory nearly free. Slots reserve
/// address space, not memory.
fn pooling(pool: PoolSize) -> PoolingAllocationConfig {
    // Toolchains that embed an interpreter (componentize-py) use a dozen core instances and
    // several memories per component, for activities and for WIT-typed workflow runs alike
    // (a Python run: 14 core instances); a Rust workflow run uses one or two. Core instances
    // and tables are cheap to allow (no memory is reserved per slot), so runs get room for
    // interpreters; memories reserve address space, so they stay at two per run, and a pool
    // that runs out evicts the least recently used run (`RunBudget::make_room`). An activity
    // may briefly overlap with the next attempt, hence the doubling.
    let activities = pool.activities.saturating_mul(2);
    let runs = pool.workflow_runs;
    let mut p = PoolingAllocationConfig::default();
    p.total_component_instances(count(activities + runs + 16));
    p.total_core_instances(count(activities * 16 + runs * 16 + 64));
    p.total_memories(count(activities * 4 + runs * 2 + 16));
    p.total_tables(count(activities * 16 + runs * 16 + 64));
    p.max_core_instances_per_component(64);
    p.max_memories_per_component(8);
    p.max_tables_per_component(64);
    p.max_memory_size(usize::try_from(MAX_MEMORY_BYTES).unwrap_or(usize::MAX));
    // Interpreter-based components ship large initial memories; their data segments must fit.
    p.max_component_instance_size(16 << 20);
    p.max_core_instance_size(16 << 20);
    // A component's tables are a few KiB. Resetting them with `memset` instead of `madvise`
    // spares each activity call (a fresh instance) a syscall, the page faults on reuse and,
    // on a multi-core host, a TLB shootdown: ~55 → ~38 µs per `greet_activity` call
    // (`cargo bench --bench plugins`, profiled with perf).
    p.table_keep_resident(TABLE_KEEP_RESIDENT);
    // Linear memories: with Linux's PAGEMAP_SCAN (6.7+) wasmtime finds the pages an instance
    // dirtied and restores just those with `memset`, up to this many bytes, instead of
    // `madvise` over the whole slot — no syscall per page range, no TLB shootdown on the other
    // core, no page faults when the slot is reused. Measured (`cargo bench --bench plugins`):
    // `greet_activity` call 44 → 21 µs, new workflow run 113 → 52 µs, activation 24 → 17 µs
    // (4 MiB kept; 1 MiB measured within noise of it, 22.8 µs, and bounds idle memory four
    // times tighter). Slots keep at most this much resident each; an instance that dirtied
    // more (an interpreter's heap) gets `madvise` for the rest. Without the ioctl wasmtime would
    // `memset` the first MiB of every memory blindly (slower than `madvise`), so where the
    // ioctl is missing (older kernels, seccomp, gVisor) the `madvise` path stays.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        p.pagemap_scan(wasmtime::Enabled::Yes);
        p.linear_memory_keep_resident(MEMORY_KEEP_RESIDENT);
        p.max_unused_warm_slots(MAX_UNUSED_WARM_SLOTS);
    }
    p
}
