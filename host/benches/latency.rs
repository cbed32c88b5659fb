//! Latency distribution of the hot paths `plugins` measures (criterion reports means): every
//! operation timed alone, many thousand times, as a table of p50, p99 and mean — activity
//! calls (fresh instance, JSON → WIT → call → JSON), a new workflow run to its first command,
//! and one activation of a cached run.
//!
//! `cargo bench -p wasm-worker --bench latency` (after `make plugins`)

mod common;

use common::{activation, context, evict, json, load, order, start, tokio};
use std::time::{Duration, Instant};
use temporalio_common::protos::coresdk::activity_result::{
    ActivityResolution, Success, activity_resolution,
};
use temporalio_common::protos::coresdk::workflow_activation::{
    ResolveActivity, workflow_activation_job,
};
use wasm_worker::activity::ActivityRegistry;
use wasm_worker::engine::PoolSize;

/// Timed samples per operation, after as many untimed ones to warm caches and pool slots.
const SAMPLES: usize = 20_000;

struct Row {
    name: &'static str,
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
            "| {} | {:.1} µs | {:.1} µs | {:.1} µs |",
            self.name,
            at(0.50),
            at(0.99),
            mean
        );
    }
}

/// Times `op` [`SAMPLES`] times after [`SAMPLES`] untimed runs; `op` times its own part.
fn sample(name: &'static str, mut op: impl FnMut() -> Duration) -> Row {
    for _ in 0..SAMPLES {
        op();
    }
    Row {
        name,
        samples: (0..SAMPLES).map(|_| op()).collect(),
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
    let (_runtime, set, metrics) = load(&["hello_activity.wasm", "greeting_workflow.wasm"], pool);
    let mut registry = ActivityRegistry::default();
    wasm_worker::register_activities(&set, &mut registry, &metrics);
    let mut rows = Vec::new();
    for (name, activity, input) in [
        (
            "activity call `greet_activity`",
            "greet_activity",
            serde_json::json!("World"),
        ),
        (
            "activity call `summarize_order`",
            "summarize_order",
            order(),
        ),
    ] {
        let a = registry.get(activity).expect(activity);
        let input = json(&input);
        rows.push(sample(name, || {
            let started = Instant::now();
            rt.block_on(a.execute(context(activity), vec![input.clone()]))
                .expect("the call succeeds");
            started.elapsed()
        }));
    }
    let workflows = common::workflows(&set, &metrics);
    let mut n = 0u64;
    rows.push(sample("new workflow run (to its first command)", || {
        n += 1;
        let run = format!("run-{n}");
        let started = Instant::now();
        rt.block_on(workflows.handle(start(&run))).expect("served");
        let took = started.elapsed();
        rt.block_on(workflows.handle(evict(&run))).expect("evicted");
        took
    }));
    rows.push(sample(
        "activation of a cached run (result → completion)",
        || {
            n += 1;
            let run = format!("run-{n}");
            rt.block_on(workflows.handle(start(&run))).expect("served");
            let resolve = activation(
                &run,
                workflow_activation_job::Variant::ResolveActivity(ResolveActivity {
                    seq: 1,
                    result: Some(ActivityResolution {
                        status: Some(activity_resolution::Status::Completed(Success {
                            result: Some(json(&serde_json::json!("Hello, World!"))),
                        })),
                    }),
                    is_local: false,
                }),
            );
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
    println!("| operation ({SAMPLES} samples each) | p50 | p99 | mean |");
    println!("|---|---|---|---|");
    for row in rows {
        row.print();
    }
}
