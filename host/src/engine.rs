//! Every `wasmtime::Config` choice for activity plugins, in one place, each with its reason.
//!
//! One [`Engine`] is shared by all activity plugins: components are compiled once per engine,
//! and an `InstancePre` per plugin is linked once; each activity attempt instantiates a fresh
//! instance from it (so attempts never share guest state).

use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// How often the epoch advances. A running guest yields to the async runtime at every tick,
/// which is how deadlines and cancellations interrupt it; 10 ms bounds that latency without
/// measurable cost (one counter increment per tick).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory any activity instance may have; per-plugin limits (default 64 MiB,
/// manifest `memory_limit_mib`) are enforced below it by the store limiter. 4 GiB is the
/// 32-bit address space, so the pooling allocator reserves address space, not memory.
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// The engine for activity plugins.
pub fn activity_engine(max_concurrent: usize) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Calls are futures (`call_async`): a guest that loops still yields at every epoch tick,
    // so the tokio task that runs it can be cancelled or timed out.
    config.epoch_interruption(true);
    config.cranelift_opt_level(OptLevel::Speed);
    // Keep WASM backtraces: a trap's message names the guest functions involved.
    config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(32));
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(max_concurrent)));
    Engine::new(&config)
}

/// Pooling: instantiation reuses pre-reserved slots (about half the cost of mmap-per-instance)
/// and copy-on-write memory images make a fresh instance's memory nearly free.
fn pooling(max_concurrent: usize) -> PoolingAllocationConfig {
    // Each in-flight activity holds one component instance; toolchains that embed an
    // interpreter (componentize-py) use a dozen core instances and several memories each.
    let slots = u32::try_from(max_concurrent.saturating_mul(2).max(16)).unwrap_or(u32::MAX);
    let mut p = PoolingAllocationConfig::default();
    p.total_component_instances(slots);
    p.total_core_instances(slots.saturating_mul(16));
    p.total_memories(slots.saturating_mul(4));
    p.total_tables(slots.saturating_mul(16));
    p.max_core_instances_per_component(64);
    p.max_memories_per_component(8);
    p.max_tables_per_component(64);
    p.max_memory_size(usize::try_from(MAX_MEMORY_BYTES).unwrap_or(usize::MAX));
    // Interpreter-based components ship large initial memories; their data segments must fit.
    p.max_component_instance_size(16 << 20);
    p.max_core_instance_size(16 << 20);
    p
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on its own thread; stops when the engine
/// is dropped or the ticker is.
pub struct EpochTicker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`.
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let weak = engine.weak();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
