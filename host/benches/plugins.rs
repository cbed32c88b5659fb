//! Micro-benchmarks of the host's hot paths, on the example plugins (`make plugins` first):
//! one activity call end to end (instance from the pool, JSON → WIT, call, WIT → JSON), a new
//! workflow run (instantiation and its first activation), and one activation of a cached run.
//!
//! `cargo bench -p wasm-worker --bench plugins`

mod common;

use common::{context, evict, greeting_resolved, json, load, order, start, tokio};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use wasm_worker::activity::ActivityRegistry;
use wasm_worker::engine::PoolSize;

fn activity_calls(c: &mut Criterion) {
    let pool = PoolSize {
        activities: 8,
        workflow_runs: 8,
    };
    let (_runtime, set, metrics) = load(&["hello_activity.wasm"], pool);
    let mut registry = ActivityRegistry::default();
    wasm_worker::register_activities(&set, &mut registry, &metrics);
    let rt = tokio();
    let mut group = c.benchmark_group("activity_call");
    for (activity, input) in [
        ("greet_activity", serde_json::json!("World")),
        ("summarize_order", order()),
    ] {
        let a = registry.get(activity).expect(activity);
        let input = json(&input);
        group.bench_function(activity, |b| {
            b.iter(|| {
                rt.block_on(a.execute(context(activity), vec![input.clone()]))
                    .expect("the call succeeds")
            })
        });
    }
    group.finish();
}

fn workflow_activations(c: &mut Criterion) {
    let pool = PoolSize {
        activities: 2,
        workflow_runs: 64,
    };
    let (_runtime, set, metrics) = load(&["greeting_workflow.wasm"], pool);
    let workflows = common::workflows(&set, &metrics);
    let rt = tokio();
    let mut group = c.benchmark_group("workflow");
    let mut n = 0u64;
    // A new run: instantiate from the pool, initialise, run to the first command.
    group.bench_function("new_run", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let run = format!("run-{n}");
                let started = Instant::now();
                rt.block_on(workflows.handle(start(&run))).expect("served");
                total += started.elapsed();
                rt.block_on(workflows.handle(evict(&run))).expect("evicted");
            }
            total
        })
    });
    // One activation of a cached run: the activity's result arrives, the run completes.
    group.bench_function("activation", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                n += 1;
                let run = format!("run-{n}");
                rt.block_on(workflows.handle(start(&run))).expect("served");
                let resolve = greeting_resolved(&run);
                let started = Instant::now();
                let done = rt.block_on(workflows.handle(resolve)).expect("served");
                total += started.elapsed();
                assert!(
                    format!("{done:?}").contains("CompleteWorkflowExecution"),
                    "the run completes: {done:?}"
                );
                rt.block_on(workflows.handle(evict(&run))).expect("evicted");
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, activity_calls, workflow_activations);
criterion_main!(benches);
