//! Latency distribution of the hot paths `plugins` measures (criterion reports means): every
//! operation timed alone, many thousand times, as a table of p50, p99 and mean — activity
//! calls (fresh instance, JSON → WIT → call → JSON) of a Rust and a Python plugin, each also
//! with `isolation = "reuse"`, a new workflow run to its first command, and one activation of
//! a cached run.
//!
//! `cargo bench -p wasm-worker --bench latency` (after `make plugins`)

mod common;

use common::{context, evict, greeting_resolved, json, load_as, order, start, tokio};
use std::time::{Duration, Instant};
use wasm_worker::activity::ActivityRegistry;
use wasm_worker::engine::PoolSize;

/// Timed samples per operation, after as many untimed ones to warm caches and pool slots.
const SAMPLES: usize = 20_000;

/// The same for calls of the Python plugin (each fresh one starts an interpreter).
const PYTHON_SAMPLES: usize = 300;

struct Row {
    name: String,
    samples: Vec<Duration>,
}

impl Row {
    fn print(mut self) {
        self.samples.sort_unstable();
        let at = |q: f64| {
            let i = ((self.samples.len() as f64 * q) as usize).min(self.samples.len() - 1);
            self.samples[i].as_secs_f64() * 1e6
        };
        let mean =
            self.samples.iter().sum::<Duration>().as_secs_f64() * 1e6 / self.samples.len() as f64;
        println!(
            "| {} | {} | {:.1} µs | {:.1} µs | {:.1} µs |",
            self.name,
            self.samples.len(),
            at(0.50),
            at(0.99),
            mean
        );
    }
}

/// Times `op` `n` times after `n` untimed runs; `op` times its own part.
fn sample(name: impl Into<String>, n: usize, mut op: impl FnMut() -> Duration) -> Row {
    for _ in 0..n {
        op();
    }
    Row {
        name: name.into(),
        samples: (0..n).map(|_| op()).collect(),
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("latency: a benchmark; run it with `cargo bench --bench latency`");
        return;
    }
    let rt = tokio();
    let pool = PoolSize {
        activities: 8,
        workflow_runs: 64,
    };
    // Each activity plugin twice: as is, and renamed with a manifest asking for reuse.
    let (_runtime, set, metrics) = load_as(
        &[
            ("hello_activity.wasm", "hello_activity.wasm"),
            ("hello_activity.wasm", "hello_reused.wasm"),
            ("python_activity.wasm", "python_activity.wasm"),
            ("python_activity.wasm", "python_reused.wasm"),
            ("greeting_workflow.wasm", "greeting_workflow.wasm"),
        ],
        &[
            (
                "hello_reused.toml",
                "isolation = \"reuse\"\n[rename]\ngreet-activity = \"greet_reused\"\nsummarize-order = \"summarize_reused\"\n",
            ),
            (
                "python_reused.toml",
                "isolation = \"reuse\"\n[rename]\nvalidate-document = \"validate_reused\"\nword-stats = \"word_stats_reused\"\ncount-feed-items = \"count_feed_items_reused\"\n",
            ),
        ],
        pool,
    );
    let mut registry = ActivityRegistry::default();
    wasm_worker::register_activities(&set, &mut registry, &metrics);
    let mut rows = Vec::new();
    let text = serde_json::json!(["the quick brown fox jumps over the lazy dog the end", 3]);
    for (name, activity, input, n) in [
        (
            "`greet_activity` (Rust)",
            "greet_activity",
            serde_json::json!("World"),
            SAMPLES,
        ),
        (
            "`greet_activity` (Rust), reuse",
            "greet_reused",
            serde_json::json!("World"),
            SAMPLES,
        ),
        (
            "`summarize_order` (Rust)",
            "summarize_order",
            order(),
            SAMPLES,
        ),
        (
            "`summarize_order` (Rust), reuse",
            "summarize_reused",
            order(),
            SAMPLES,
        ),
        (
            "`word_stats` (Python)",
            "word_stats",
            text.clone(),
            PYTHON_SAMPLES,
        ),
        (
            "`word_stats` (Python), reuse",
            "word_stats_reused",
            text.clone(),
            PYTHON_SAMPLES,
        ),
    ] {
        let a = registry.get(activity).expect(activity);
        let input: Vec<_> = match &input {
            serde_json::Value::Array(args) if n == PYTHON_SAMPLES => {
                args.iter().map(json).collect()
            }
            one => vec![json(one)],
        };
        rows.push(sample(format!("activity call {name}"), n, || {
            // The task's context and payloads come from the worker loop; the call starts here.
            let (ctx, input) = (context(activity), input.clone());
            let started = Instant::now();
            rt.block_on(a.execute(ctx, input))
                .expect("the call succeeds");
            started.elapsed()
        }));
    }
    let workflows = common::workflows(&set, &metrics);
    let mut n = 0u64;
    rows.push(sample(
        "new workflow run (to its first command)",
        SAMPLES,
        || {
            n += 1;
            let run = format!("run-{n}");
            let started = Instant::now();
            rt.block_on(workflows.handle(start(&run))).expect("served");
            let took = started.elapsed();
            rt.block_on(workflows.handle(evict(&run))).expect("evicted");
            took
        },
    ));
    rows.push(sample(
        "activation of a cached run (result → completion)",
        SAMPLES,
        || {
            n += 1;
            let run = format!("run-{n}");
            rt.block_on(workflows.handle(start(&run))).expect("served");
            let resolve = greeting_resolved(&run);
            let started = Instant::now();
            let done = rt.block_on(workflows.handle(resolve)).expect("served");
            let took = started.elapsed();
            assert!(
                format!("{done:?}").contains("CompleteWorkflowExecution"),
                "the run completes: {done:?}"
            );
            rt.block_on(workflows.handle(evict(&run))).expect("evicted");
            took
        },
    ));
    println!("| operation | samples | p50 | p99 | mean |");
    println!("|---|---|---|---|---|");
    for row in rows {
        row.print();
    }
}
