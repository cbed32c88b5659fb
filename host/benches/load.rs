//! Load costs of each example plugin, and memory per cached workflow run, as a table:
//! compile (what a first start or a new file costs), compile-cache load (what a restart or a
//! revert costs), and RSS per cached `GreetingWorkflow` run at 1k and 10k runs.
//!
//! `cargo bench -p wasm-worker --bench load` (after `make plugins`)

mod common;

use common::{load, start, tokio};
use std::time::{Duration, Instant};
use wasm_worker::compile_cache::CompileCache;
use wasm_worker::engine::{PoolSize, plugin_engine};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary bare, and
    // compiling every plugin in a debug build is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("load: a benchmark; run it with `cargo bench -p wasm-worker --bench load`");
        return;
    }
    let engine = plugin_engine(
        PoolSize {
            activities: 4,
            workflow_runs: 4,
        },
        None,
    )
    .expect("engine");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = CompileCache::open(cache_dir.path(), &engine).expect("cache");
    println!("| plugin | size | compile | cached load (median of 5) |");
    println!("|---|---|---|---|");
    for path in common::plugin_files() {
        let bytes = std::fs::read(&path).expect("read");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let started = Instant::now();
        let component = wasmtime::component::Component::new(&engine, &bytes).expect("compile");
        let compile = started.elapsed();
        cache.store(&digest, &component);
        let loads: Vec<Duration> = (0..5)
            .map(|_| {
                let started = Instant::now();
                let c = cache.load(&engine, &digest).expect("cached");
                let t = started.elapsed();
                drop(c);
                t
            })
            .collect();
        println!(
            "| {} | {:.1} MiB | {:.2} s | {:.1} ms |",
            path.file_name().expect("name").to_string_lossy(),
            bytes.len() as f64 / (1 << 20) as f64,
            compile.as_secs_f64(),
            median(loads).as_secs_f64() * 1000.0
        );
    }

    println!();
    println!("| cached GreetingWorkflow runs | RSS growth | per run |");
    println!("|---|---|---|");
    for runs in [1_000usize, 10_000] {
        let (_runtime, set, metrics) = load(
            &["greeting_workflow.wasm"],
            PoolSize {
                activities: 2,
                workflow_runs: runs + 8,
            },
        );
        let workflows = common::workflows(&set, &metrics);
        let rt = tokio();
        // One run first, so the growth measured is per run, not the first run's set-up.
        rt.block_on(workflows.handle(start("warm")))
            .expect("served");
        let before = rss_kib();
        for i in 0..runs {
            rt.block_on(workflows.handle(start(&format!("run-{i}"))))
                .expect("served");
        }
        let after = rss_kib();
        let growth = after.saturating_sub(before);
        println!(
            "| {runs} | {:.1} MiB | {:.0} KiB |",
            growth as f64 / 1024.0,
            growth as f64 / runs as f64
        );
    }
}
