//! Shared set-up of the host benchmarks: the example plugins `make plugins` builds, loaded the
//! way the host loads them.

#![allow(dead_code, unreachable_pub, reason = "each bench binary uses a subset")]

use std::path::PathBuf;
use std::sync::Arc;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, RemoveFromCache, WorkflowActivation, WorkflowActivationJob,
    workflow_activation_job,
};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use wasm_worker::engine::PoolSize;
use wasm_worker::metrics::HostMetrics;
use wasm_worker::plugins::PluginSet;
use wasm_worker::runtime::Runtime;

/// `dist/plugins` (or `WASM_WORKER_BENCH_PLUGINS`): what `make plugins` builds.
pub fn plugins_dir() -> PathBuf {
    let dir = std::env::var_os("WASM_WORKER_BENCH_PLUGINS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist/plugins"),
        PathBuf::from,
    );
    assert!(
        dir.join("hello_activity.wasm").is_file(),
        "{} has no built plugins: run `make plugins` first",
        dir.display()
    );
    dir
}

/// Every `*.wasm` in [`plugins_dir`], sorted.
pub fn plugin_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(plugins_dir())
        .expect("plugins")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    files
}

/// A runtime and the plugin set of `files` (names in [`plugins_dir`]).
pub fn load(files: &[&str], pool: PoolSize) -> (Runtime, PluginSet, HostMetrics) {
    load_as(
        &files.iter().map(|f| (*f, *f)).collect::<Vec<_>>(),
        &[],
        pool,
    )
}

/// Like [`load`], each file under a name of its own (`(file, as)`), with manifests
/// (`(name.toml, text)`).
pub fn load_as(
    files: &[(&str, &str)],
    manifests: &[(&str, &str)],
    pool: PoolSize,
) -> (Runtime, PluginSet, HostMetrics) {
    let metrics = HostMetrics::new();
    let runtime = Runtime::new(pool, &metrics, None).expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    for (f, to) in files {
        std::fs::copy(plugins_dir().join(f), dir.path().join(to)).expect("copy");
    }
    for (name, text) in manifests {
        std::fs::write(dir.path().join(name), text).expect("manifest");
    }
    let set = PluginSet::load(&runtime, dir.path(), &metrics);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    (runtime, set, metrics)
}

/// The workflow types of `set`, served the way a generation serves them (pinned, on queue
/// `bench`).
pub fn workflows(set: &PluginSet, metrics: &HostMetrics) -> wasm_worker::wasm_workflow::Workflows {
    wasm_worker::wasm_workflow::Workflows::new(
        &set.workflows,
        "default",
        "bench",
        wasm_worker::config::Versioning::Pinned,
        metrics,
        &wasm_worker::wasm_workflow::RunBudget::new(u64::MAX, metrics),
    )
}

pub fn json(v: &serde_json::Value) -> Payload {
    wasm_worker::convert::payload::json_payload(v)
}

pub fn activation(run_id: &str, variant: workflow_activation_job::Variant) -> WorkflowActivation {
    WorkflowActivation {
        run_id: run_id.to_string(),
        jobs: vec![WorkflowActivationJob {
            variant: Some(variant),
        }],
        ..Default::default()
    }
}

/// The first activation of a new `GreetingWorkflow("World")` run.
pub fn start(run_id: &str) -> WorkflowActivation {
    activation(
        run_id,
        workflow_activation_job::Variant::InitializeWorkflow(InitializeWorkflow {
            workflow_type: "GreetingWorkflow".into(),
            workflow_id: format!("wf-{run_id}"),
            arguments: vec![json(&serde_json::json!("World"))],
            randomness_seed: 7,
            ..Default::default()
        }),
    )
}

/// The activation that resolves the greeting run's activity (`seq` 1) with "Hello, World!":
/// the run then completes.
pub fn greeting_resolved(run_id: &str) -> WorkflowActivation {
    use temporalio_common::protos::coresdk::activity_result::{
        ActivityResolution, Success, activity_resolution,
    };
    activation(
        run_id,
        workflow_activation_job::Variant::ResolveActivity(
            temporalio_common::protos::coresdk::workflow_activation::ResolveActivity {
                seq: 1,
                result: Some(ActivityResolution {
                    status: Some(activity_resolution::Status::Completed(Success {
                        result: Some(json(&serde_json::json!("Hello, World!"))),
                    })),
                }),
                is_local: false,
            },
        ),
    )
}

pub fn evict(run_id: &str) -> WorkflowActivation {
    activation(
        run_id,
        workflow_activation_job::Variant::RemoveFromCache(RemoveFromCache::default()),
    )
}

pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
}

pub fn shared<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

/// The context of attempt 1 of `activity_type`, 30 s to run.
pub fn context(activity_type: &str) -> wasm_worker::activity::ActivityContext {
    wasm_worker::activity::ActivityContext::new(
        wasm_worker::activity::ActivityInfo {
            activity_id: "1".into(),
            activity_type: activity_type.into(),
            workflow_id: "wf".into(),
            run_id: "run".into(),
            workflow_type: "Bench".into(),
            namespace: "default".into(),
            task_queue: "bench".into(),
            attempt: 1,
            heartbeat_details: Vec::new(),
            start_to_close_timeout: Some(std::time::Duration::from_secs(30)),
            deadline: None,
        },
        tokio_util::sync::CancellationToken::new(),
        Arc::new(|_| {}),
    )
}

/// The input of `summarize_order`: a record with a list, a variant, an enum, flags, an option.
pub fn order() -> serde_json::Value {
    serde_json::json!({
        "id": "A-17",
        "lines": [
            {"sku": "tea", "quantity": 2, "unit_price": 4.5},
            {"sku": "cup", "quantity": 1, "unit_price": 12.0},
            {"sku": "pot", "quantity": 1, "unit_price": 30.0}
        ],
        "shipping": {"courier": "DHL"},
        "priority": "high",
        "extras": ["gift-wrap", "express"],
        "coupon": "HALF"
    })
}
