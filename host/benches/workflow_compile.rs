//! Compile time of workflow plugins under Cranelift's settings that keep workflows
//! deterministic (NaN canonicalisation on): the optimising default, `opt-level none`, the
//! single-pass register allocator, and both. The measurement behind the decision on how a
//! workflow plugin never seen before can go current in under a second (#18, README
//! Benchmarks).
//!
//! `cargo bench -p wasm-worker --bench workflow_compile` (after `make plugins`; with
//! `WORKFLOW_COMPILE_EXTRA=a.wasm:b.wasm` further files, say `bench_workflows.wasm`, and
//! `WORKFLOW_COMPILE_ONLY=text` only the files whose path contains it). Each compile is cold
//! (a new engine; an empty function cache where a column says so), median of three.

mod common;

use std::time::{Duration, Instant};
use wasm_worker::engine::{PoolSize, plugin_config};
use wasmtime::{Engine, OptLevel, RegallocAlgorithm};

/// An engine with these settings; with `function_cache`, Cranelift's function cache (empty,
/// in a new folder that lives as long as the engine) as the host keeps it.
fn engine(opt: OptLevel, regalloc: RegallocAlgorithm, function_cache: bool) -> Engine {
    let store = function_cache.then(|| {
        let dir = Box::leak(Box::new(tempfile::tempdir().expect("tempdir")));
        let store = wasm_worker::incremental_cache::DiskCacheStore::open(dir.path())
            .expect("function cache");
        std::sync::Arc::new(store) as std::sync::Arc<dyn wasmtime::CacheStore>
    });
    let mut config = plugin_config(
        PoolSize {
            activities: 4,
            workflow_runs: 4,
        },
        store,
    )
    .expect("config");
    config.cranelift_opt_level(opt);
    config.cranelift_regalloc_algorithm(regalloc);
    Engine::new(&config).expect("engine")
}

fn median_compile(engine: impl Fn() -> Engine, bytes: &[u8]) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let engine = engine();
            let started = Instant::now();
            wasmtime::component::Component::new(&engine, bytes).expect("compiles");
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("workflow_compile: a benchmark; run it with `cargo bench`");
        return;
    }
    use OptLevel::{None as Unoptimised, Speed};
    use RegallocAlgorithm::{Backtracking, SinglePass};
    let settings = [
        ("default", Speed, Backtracking, false),
        ("default, empty function cache", Speed, Backtracking, true),
        ("opt none", Unoptimised, Backtracking, false),
        ("single-pass", Speed, SinglePass, false),
        ("both", Unoptimised, SinglePass, false),
        ("both, empty function cache", Unoptimised, SinglePass, true),
    ];
    let mut files: Vec<std::path::PathBuf> = common::plugin_files()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("workflow"))
        .collect();
    if let Some(extra) = std::env::var_os("WORKFLOW_COMPILE_EXTRA") {
        files.extend(std::env::split_paths(&extra));
    }
    if let Ok(only) = std::env::var("WORKFLOW_COMPILE_ONLY") {
        files.retain(|p| p.to_string_lossy().contains(&only));
    }
    let names: Vec<&str> = settings.iter().map(|(n, ..)| *n).collect();
    println!("| plugin | size | {} |", names.join(" | "));
    println!("|---|---|{}", "---|".repeat(names.len()));
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let cells: Vec<String> = settings
            .iter()
            .map(|(_, opt, regalloc, cache)| {
                let took = median_compile(|| engine(*opt, *regalloc, *cache), &bytes);
                format!("{:.2} s", took.as_secs_f64())
            })
            .collect();
        println!(
            "| {} | {:.1} MiB | {} |",
            path.file_name().expect("name").to_string_lossy(),
            bytes.len() as f64 / (1 << 20) as f64,
            cells.join(" | ")
        );
    }
}
