//! What a WIT-typed workflow run costs, per language: a new run to its first command, one
//! activation of a cached run (an activity's result in, the next command out), and the memory
//! a cached run holds (process RSS grown per run, and the guest's linear memory per run) —
//! the figures behind the manifest's `max_cached_runs`.
//!
//! `cargo bench -p wasm-worker --bench wit_workflows` (after `make plugins`)

mod common;

use common::{activation, evict, json, load, tokio};
use std::time::{Duration, Instant};
use temporalio_common::protos::coresdk::activity_result::{
    ActivityResolution, Success, activity_resolution,
};
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, ResolveActivity, WorkflowActivation, workflow_activation_job::Variant,
};
use wasm_worker::engine::PoolSize;
use wasm_worker::wasm_workflow::Workflows;

/// One language's example and the two activations that drive it.
struct Flow {
    language: &'static str,
    workflow_type: &'static str,
    input: serde_json::Value,
    /// The result of the run's first activity (`seq` 1).
    first_result: serde_json::Value,
    /// A command the run must issue after that result.
    next: &'static str,
    samples: usize,
    /// Runs kept cached at once for the memory figures.
    cached: usize,
}

fn start(run_id: &str, flow: &Flow) -> WorkflowActivation {
    activation(
        run_id,
        Variant::InitializeWorkflow(InitializeWorkflow {
            workflow_type: flow.workflow_type.into(),
            workflow_id: format!("wf-{run_id}"),
            arguments: vec![json(&flow.input)],
            randomness_seed: 7,
            ..Default::default()
        }),
    )
}

fn resolved(run_id: &str, flow: &Flow) -> WorkflowActivation {
    activation(
        run_id,
        Variant::ResolveActivity(ResolveActivity {
            seq: 1,
            result: Some(ActivityResolution {
                status: Some(activity_resolution::Status::Completed(Success {
                    result: Some(json(&flow.first_result)),
                })),
            }),
            is_local: false,
        }),
    )
}

/// `field` (`VmRSS`, `RssAnon`) of this process, KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

fn p(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort_unstable();
    let i = ((samples.len() as f64 * q) as usize).min(samples.len() - 1);
    samples[i].as_secs_f64() * 1e6
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("wit_workflows: a benchmark; run it with `cargo bench --bench wit_workflows`");
        return;
    }
    let flows = [
        Flow {
            language: "Rust (wit-bindgen)",
            workflow_type: "process_order",
            input: serde_json::json!({
                "order": common::order(),
                "customers": [],
                "cool-off-ms": 1000,
            }),
            first_result: serde_json::json!({
                "id": "A-17", "items": 4, "total": 33.0, "skus": ["tea", "cup", "pot"],
                "express": true, "label": "courier: DHL",
            }),
            // No customers: straight on to waiting for the approval signal.
            next: "",
            samples: 2_000,
            cached: 500,
        },
        Flow {
            language: "Python (componentize-py)",
            workflow_type: "review_documents",
            input: serde_json::json!({
                "documents": ["{\"title\": \"a\", \"body\": \"the cat sat\"}"],
                "required": ["title"],
                "cool-off-ms": 1000,
            }),
            first_result: serde_json::json!({
                "field-count": 2, "fields": ["body", "title"], "missing": [], "title": "a",
                "depth": 1, "valid": true,
            }),
            next: "word_stats",
            samples: 200,
            cached: 100,
        },
        Flow {
            language: "JavaScript (componentize-js)",
            workflow_type: "send_mailing",
            input: serde_json::json!({
                "template": "Dear {{name}}",
                "recipients": [{"id": "r1", "email": "r1@example.com", "values": [["name", "Ann"]]}],
                "cool-off-ms": 1000,
            }),
            first_result: serde_json::json!({
                "text": "Dear Ann", "used-keys": ["name"], "unused-keys": [],
            }),
            next: "render_batch",
            samples: 200,
            cached: 100,
        },
    ];
    let rt = tokio();
    println!(
        "| workflow | new run p50 | new run p99 | activation p50 | activation p99 | RSS per cached run | guest memory per cached run |"
    );
    println!("|---|---|---|---|---|---|---|");
    for flow in &flows {
        let pool = PoolSize {
            activities: 2,
            workflow_runs: flow.cached + 8,
        };
        let file = match flow.workflow_type {
            "process_order" => "order_workflow.wasm",
            "review_documents" => "python_workflow.wasm",
            _ => "js_workflow.wasm",
        };
        let (_runtime, set, metrics) = load(&[file], pool);
        let workflows = common::workflows(&set, &metrics);
        let (mut starts, mut activations) = (Vec::new(), Vec::new());
        for i in 0..flow.samples * 2 {
            let run = format!("run-{i}");
            let began = Instant::now();
            rt.block_on(workflows.handle(start(&run, flow)))
                .expect("served");
            let started = began.elapsed();
            let began = Instant::now();
            let done = rt
                .block_on(workflows.handle(resolved(&run, flow)))
                .expect("served");
            let activated = began.elapsed();
            let text = format!("{done:?}");
            assert!(
                text.contains("Successful") && text.contains(flow.next),
                "{}: the run goes on after its first activity: {text}",
                flow.language
            );
            rt.block_on(workflows.handle(evict(&run))).expect("evicted");
            // The first half warms caches and pool slots.
            if i >= flow.samples {
                starts.push(started);
                activations.push(activated);
            }
        }
        let (rss_kib, guest) = cached_cost(&rt, &workflows, flow, &metrics);
        println!(
            "| {} `{}` | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.2} MiB | {:.2} MiB |",
            flow.language,
            flow.workflow_type,
            p(&mut starts, 0.5),
            p(&mut starts, 0.99),
            p(&mut activations, 0.5),
            p(&mut activations, 0.99),
            rss_kib / 1024.0,
            guest / 1024.0 / 1024.0,
        );
    }
}

/// Starts `flow.cached` runs and keeps them waiting (cached, as on a host whose runs wait for
/// a signal); returns the process RSS grown per run (KiB) and the guest memory per run
/// (bytes).
fn cached_cost(
    rt: &tokio::runtime::Runtime,
    workflows: &Workflows,
    flow: &Flow,
    metrics: &wasm_worker::metrics::HostMetrics,
) -> (f64, f64) {
    let before = status_kib("VmRSS");
    for i in 0..flow.cached {
        let run = format!("cached-{i}");
        let started = rt
            .block_on(workflows.handle(start(&run, flow)))
            .expect("served");
        let text = format!("{started:?}");
        assert!(
            text.contains("Successful"),
            "{}: run {i} of {} to keep cached did not start: {text}",
            flow.language,
            flow.cached
        );
        rt.block_on(workflows.handle(resolved(&run, flow)))
            .expect("served");
    }
    let after = status_kib("VmRSS");
    let guest = metrics.workflow_memory_bytes.get() as f64;
    for i in 0..flow.cached {
        rt.block_on(workflows.handle(evict(&format!("cached-{i}"))))
            .expect("evicted");
    }
    (
        (after.saturating_sub(before)) as f64 / flow.cached as f64,
        guest / flow.cached as f64,
    )
}
