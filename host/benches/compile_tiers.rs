//! Winch (wasmtime's baseline compiler) against Cranelift (the optimising one): compile time
//! of each example plugin, the bulk of a new file's time to current, and an activity call's
//! time on each tier. The measurement behind the decision on a "serve with Winch first, tier
//! up in the background" mode (README, Benchmarks).
//!
//! `cargo bench -p wasm-worker --features winch-eval --bench compile_tiers` (after
//! `make plugins`). Not built by default: the `winch` feature of wasmtime is not part of the
//! product.
//!
//! The edit loop, where an author waits most: with `COMPILE_TIERS_EDITS=DIR`, for each
//! `NAME.wasm` in DIR beside `NAME.edited.wasm` (the same plugin rebuilt after a one-line
//! edit), a second table compares what the host does today — Cranelift with its function
//! cache filled by compiling `NAME.wasm` — against Winch compiling the edited file.

mod common;

use std::time::{Duration, Instant};
use wasm_worker::engine::{PoolSize, plugin_config};
use wasmtime::{Engine, Strategy};

fn engine(strategy: Strategy) -> Engine {
    engine_with(strategy, None)
}

fn engine_with(
    strategy: Strategy,
    incremental: Option<std::sync::Arc<dyn wasmtime::CacheStore>>,
) -> Engine {
    let mut config = plugin_config(
        PoolSize {
            activities: 4,
            workflow_runs: 4,
        },
        incremental,
    )
    .expect("config");
    config.strategy(strategy);
    if matches!(strategy, Strategy::Winch) {
        // Winch implements no NaN canonicalisation; an activity-only tier would not need it.
        config.cranelift_nan_canonicalization(false);
    }
    Engine::new(&config).expect("engine")
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Duration, String> {
    let started = Instant::now();
    wasmtime::component::Component::new(engine, bytes)
        .map(|_| started.elapsed())
        .map_err(|e| {
            format!("{e:#}")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("compile_tiers: a benchmark; run it with `cargo bench --features winch-eval`");
        return;
    }
    let cranelift = engine(Strategy::Cranelift);
    let winch = engine(Strategy::Winch);
    // Cranelift without its optimisations: a faster first tier that keeps NaN
    // canonicalisation, so workflows could use it too (Winch may not).
    let unoptimised = {
        let mut config = plugin_config(
            PoolSize {
                activities: 4,
                workflow_runs: 4,
            },
            None,
        )
        .expect("config");
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        Engine::new(&config).expect("engine")
    };
    println!(
        "| plugin | size | Cranelift compile | Winch compile | Winch / Cranelift | Cranelift, opt-level none |"
    );
    println!("|---|---|---|---|---|---|");
    for path in common::plugin_files() {
        let bytes = std::fs::read(&path).expect("read");
        let c = compile(&cranelift, &bytes);
        let w = compile(&winch, &bytes);
        let n = compile(&unoptimised, &bytes);
        let cell = |r: &Result<Duration, String>| match r {
            Ok(d) => format!("{:.2} s", d.as_secs_f64()),
            Err(e) => format!("refused: {e}"),
        };
        let ratio = match (&c, &w) {
            (Ok(c), Ok(w)) => format!("{:.2}", w.as_secs_f64() / c.as_secs_f64()),
            _ => "—".into(),
        };
        println!(
            "| {} | {:.1} MiB | {} | {} | {ratio} | {} |",
            path.file_name().expect("name").to_string_lossy(),
            bytes.len() as f64 / (1 << 20) as f64,
            cell(&c),
            cell(&w),
            cell(&n),
        );
    }
    if let Some(dir) = std::env::var_os("COMPILE_TIERS_EDITS") {
        edits(std::path::Path::new(&dir), &winch);
    }
}

/// The edit-loop table (module docs).
fn edits(dir: &std::path::Path, winch: &Engine) {
    println!();
    println!(
        "| plugin (one-line edit) | Cranelift, function cache from the previous build | Winch | Winch / Cranelift |"
    );
    println!("|---|---|---|---|");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("edits folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".edited.wasm"))
        .collect();
    names.sort();
    for edited in names {
        let name = edited.to_string_lossy().replace(".edited.wasm", ".wasm");
        let before = std::fs::read(&name).expect("the plugin before the edit");
        let after = std::fs::read(&edited).expect("edited");
        let cache = tempfile::tempdir().expect("tempdir");
        let store = std::sync::Arc::new(
            wasm_worker::incremental_cache::DiskCacheStore::open(cache.path()).expect("store"),
        );
        let cranelift = engine_with(Strategy::Cranelift, Some(store.clone()));
        compile(&cranelift, &before).expect("the plugin before the edit compiles");
        store.take_counts();
        let c = compile(&cranelift, &after).expect("edited, Cranelift");
        let (reused, compiled, _) = store.take_counts();
        let w = compile(winch, &after).expect("edited, Winch");
        println!(
            "| {} | {:.2} s ({compiled} functions compiled, {reused} reused) | {:.2} s | {:.2} |",
            edited.file_name().expect("name").to_string_lossy(),
            c.as_secs_f64(),
            w.as_secs_f64(),
            w.as_secs_f64() / c.as_secs_f64()
        );
    }
}
