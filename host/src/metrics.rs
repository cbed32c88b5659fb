//! The host's own Prometheus metrics (`wasm_worker_*`), beside core's `temporal_*` series.
//!
//! Kept in a `prometheus::Registry` the HTTP endpoint renders after core's text; see `http.rs`
//! for why the two are joined at render time.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Distinct unknown type names that get a series of their own; the rest share `other`.
/// Clients choose these names: without a bound, random names grow `/metrics` without end.
pub const UNKNOWN_TYPE_SERIES: usize = 100;

/// Every host metric, registered once at start.
#[derive(Clone)]
pub struct HostMetrics {
    registry: Registry,
    /// `wasm_worker_info{version, build_id, deployment_name, namespace, task_queue}` = 1.
    pub info: IntGaugeVec,
    /// 1 while connected and polling (what `/readyz` answers), else 0.
    pub ready: IntGauge,
    /// Connection attempts by result (`ok`, `error`).
    pub connect_attempts: IntCounterVec,
    /// Approximate backlog of the task queue by task type (`workflow`, `activity`), from
    /// DescribeTaskQueue.
    pub task_queue_backlog: IntGaugeVec,
    /// Tasks for a type no plugin provides, by kind (`workflow`, `activity`) and type. Clients
    /// choose these names: use [`HostMetrics::unknown_type`], which bounds them.
    pub unknown_type_tasks: IntCounterVec,
    /// Unknown type names given their own series so far.
    unknown_type_names: Arc<Mutex<HashSet<String>>>,
    /// Activities in flight right now.
    pub activities_in_flight: IntGauge,
    /// Plugin activity calls by plugin file and activity type.
    pub plugin_calls: IntCounterVec,
    /// Failed plugin calls by plugin, activity type and cause (`conversion`, `trap`,
    /// `deadline`, `memory`, `plugin_error`, `cancelled`, `sandbox`).
    pub plugin_failures: IntCounterVec,
    /// Time inside a plugin call (instantiate + call), seconds.
    pub plugin_call_seconds: HistogramVec,
    /// Sandbox refusals by plugin and kind (`http`: an outbound HTTP request no grant
    /// covers or that resolves to an internal address; `tcp`: a socket connection no grant
    /// covers): a plugin trying what it was not granted.
    pub sandbox_denials: IntCounterVec,
    /// Outbound HTTP requests by plugin, granted rule (as written in the manifest: bounded
    /// cardinality, never the raw URL) and result (`ok`: answered; `timeout`, `error`;
    /// `too_large`: a declared length over the limit, or a body cut off at it — that request
    /// was counted `ok` when its headers came).
    pub outbound_requests: IntCounterVec,
    /// Outbound request → response headers, seconds, by plugin and granted rule.
    pub outbound_seconds: HistogramVec,
    /// Plugins currently loaded.
    pub plugins_loaded: IntGauge,
    /// Plugin files refused, by file.
    pub plugin_load_failures: IntCounterVec,
    /// Components looked up by the loader, by where they came from (`memory`, `disk`,
    /// `compiled`): a restart that compiles is a cache that does not work.
    pub compile_cache: IntCounterVec,
    /// Workflow activations processed, by workflow type.
    pub workflow_activations: IntCounterVec,
    /// Time inside the guest per activation, seconds.
    pub workflow_activation_seconds: HistogramVec,
    /// Workflow runs held in instances now.
    pub workflow_runs_cached: IntGauge,
    /// Runs evicted from the cache.
    pub workflow_evictions: prometheus::IntCounter,
    /// Guest memory all cached runs hold now, bytes (bounded by `--workflow-memory-budget`).
    pub workflow_memory_bytes: IntGauge,
    /// Evictions the memory budget asked core for.
    pub workflow_memory_evictions: prometheus::IntCounter,
    /// Failed workflow tasks by workflow type and cause (`trap`, `deadline`, `guest`).
    pub workflow_task_failures: IntCounterVec,
    /// Signals a WIT-typed workflow dropped, by workflow type: their argument did not fit
    /// the type the workflow's `signals` interface declares.
    pub workflow_signals_dropped: IntCounterVec,
    /// Plugin-folder reloads and ramp decisions by result (`rollout::report::SwapResult`:
    /// `ok`, `promoted`, `ramping`, `reverted`, `rolled_back`, `unchanged`, `refused`,
    /// `failed`).
    pub swaps: IntCounterVec,
    /// Detect → new version current, seconds.
    pub swap_seconds: prometheus::Histogram,
    /// Not current → stopped, seconds.
    pub drain_seconds: prometheus::Histogram,
    /// 1 per live generation: `wasm_worker_build_info{build_id, state}`.
    pub build_info: IntGaugeVec,
}

impl HostMetrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let info = IntGaugeVec::new(
            Opts::new("wasm_worker_info", "Static facts about this host; always 1"),
            &[
                "version",
                "build_id",
                "deployment_name",
                "namespace",
                "task_queue",
            ],
        )
        .expect("static metric definition");
        let ready = IntGauge::new(
            "wasm_worker_ready",
            "1 while connected to Temporal and polling",
        )
        .expect("static metric definition");
        let connect_attempts = IntCounterVec::new(
            Opts::new(
                "wasm_worker_connect_attempts_total",
                "Connection attempts to the Temporal server",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let task_queue_backlog = IntGaugeVec::new(
            Opts::new(
                "wasm_worker_task_queue_backlog",
                "Approximate number of tasks waiting in the task queue (DescribeTaskQueue)",
            ),
            &["task_queue", "task_type"],
        )
        .expect("static metric definition");
        let unknown_type_tasks = IntCounterVec::new(
            Opts::new(
                "wasm_worker_unknown_type_tasks_total",
                "Tasks failed because no loaded plugin provides their type",
            ),
            &["kind", "type"],
        )
        .expect("static metric definition");
        let activities_in_flight = IntGauge::new(
            "wasm_worker_activities_in_flight",
            "Activity tasks currently executing",
        )
        .expect("static metric definition");
        let plugin_calls = IntCounterVec::new(
            Opts::new(
                "wasm_worker_plugin_calls_total",
                "Activity calls into plugins",
            ),
            &["plugin", "activity_type"],
        )
        .expect("static metric definition");
        let plugin_failures = IntCounterVec::new(
            Opts::new(
                "wasm_worker_plugin_failures_total",
                "Failed activity calls into plugins, by cause",
            ),
            &["plugin", "activity_type", "cause"],
        )
        .expect("static metric definition");
        // From 50 µs (a warm call) to 60 s (a long activity).
        let buckets = vec![
            0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        ];
        let plugin_call_seconds = HistogramVec::new(
            HistogramOpts::new(
                "wasm_worker_plugin_call_seconds",
                "Time inside plugin calls (instantiate + call)",
            )
            .buckets(buckets.clone()),
            &["plugin", "activity_type"],
        )
        .expect("static metric definition");
        let sandbox_denials = IntCounterVec::new(
            Opts::new(
                "wasm_worker_sandbox_denials_total",
                "Plugin requests the sandbox refused, by plugin and kind (http, tcp)",
            ),
            &["plugin", "kind"],
        )
        .expect("static metric definition");
        let outbound_requests = IntCounterVec::new(
            Opts::new(
                "wasm_worker_outbound_requests_total",
                "Granted outbound HTTP requests by plugin, rule and result (ok, timeout, error, too_large)",
            ),
            &["plugin", "host", "result"],
        )
        .expect("static metric definition");
        let outbound_seconds = HistogramVec::new(
            HistogramOpts::new(
                "wasm_worker_outbound_request_seconds",
                "Outbound HTTP request to response headers, by plugin and granted rule",
            )
            .buckets(buckets.clone()),
            &["plugin", "host"],
        )
        .expect("static metric definition");
        let plugins_loaded =
            IntGauge::new("wasm_worker_plugins_loaded", "Plugins currently loaded")
                .expect("static metric definition");
        let plugin_load_failures = IntCounterVec::new(
            Opts::new(
                "wasm_worker_plugin_load_failures_total",
                "Plugin files refused at load",
            ),
            &["file"],
        )
        .expect("static metric definition");
        let compile_cache = IntCounterVec::new(
            Opts::new(
                "wasm_worker_compile_cache_total",
                "Plugin components made ready, by source: memory, disk (compile cache) or compiled",
            ),
            &["source"],
        )
        .expect("static metric definition");
        let workflow_activations = IntCounterVec::new(
            Opts::new(
                "wasm_worker_workflow_activations_total",
                "Workflow activations processed in plugins",
            ),
            &["workflow_type"],
        )
        .expect("static metric definition");
        let workflow_activation_seconds = HistogramVec::new(
            HistogramOpts::new(
                "wasm_worker_workflow_activation_seconds",
                "Time inside the guest per activation",
            )
            .buckets(vec![
                0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0,
            ]),
            &["workflow_type"],
        )
        .expect("static metric definition");
        let workflow_runs_cached = IntGauge::new(
            "wasm_worker_workflow_runs_cached",
            "Workflow runs held in instances",
        )
        .expect("static metric definition");
        let workflow_signals_dropped = IntCounterVec::new(
            Opts::new(
                "wasm_worker_workflow_signals_dropped_total",
                "Signals dropped because their argument did not fit the declared type",
            ),
            &["workflow_type"],
        )
        .expect("static metric definition");
        let workflow_evictions = prometheus::IntCounter::new(
            "wasm_worker_workflow_evictions_total",
            "Workflow runs evicted",
        )
        .expect("static metric definition");
        let workflow_memory_bytes = IntGauge::new(
            "wasm_worker_workflow_memory_bytes",
            "Guest memory held by all cached workflow runs, bytes",
        )
        .expect("static metric definition");
        let workflow_memory_evictions = prometheus::IntCounter::new(
            "wasm_worker_workflow_memory_evictions_total",
            "Cached workflow runs evicted because the runs together crossed --workflow-memory-budget",
        )
        .expect("static metric definition");
        let workflow_task_failures = IntCounterVec::new(
            Opts::new(
                "wasm_worker_workflow_task_failures_total",
                "Workflow tasks failed by a plugin, by cause",
            ),
            &["workflow_type", "cause"],
        )
        .expect("static metric definition");
        let swaps = IntCounterVec::new(
            Opts::new(
                "wasm_worker_swaps_total",
                "Plugin-folder reloads and ramp decisions by result (ok, promoted, ramping, reverted, rolled_back, unchanged, refused, failed)",
            ),
            &["result"],
        )
        .expect("static metric definition");
        let swap_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "wasm_worker_swap_seconds",
                "Change detected to new version current",
            )
            .buckets(vec![0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]),
        )
        .expect("static metric definition");
        let drain_seconds = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "wasm_worker_drain_seconds",
                "Generation no longer current to stopped",
            )
            .buckets(vec![
                1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
            ]),
        )
        .expect("static metric definition");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "wasm_worker_build_info",
                "Live generations: 1 per build ID and state",
            ),
            &["build_id", "state"],
        )
        .expect("static metric definition");
        for c in [
            Box::new(info.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ready.clone()),
            Box::new(connect_attempts.clone()),
            Box::new(task_queue_backlog.clone()),
            Box::new(unknown_type_tasks.clone()),
            Box::new(activities_in_flight.clone()),
            Box::new(plugin_calls.clone()),
            Box::new(plugin_failures.clone()),
            Box::new(plugin_call_seconds.clone()),
            Box::new(sandbox_denials.clone()),
            Box::new(outbound_requests.clone()),
            Box::new(outbound_seconds.clone()),
            Box::new(plugins_loaded.clone()),
            Box::new(plugin_load_failures.clone()),
            Box::new(compile_cache.clone()),
            Box::new(workflow_activations.clone()),
            Box::new(workflow_activation_seconds.clone()),
            Box::new(workflow_runs_cached.clone()),
            Box::new(workflow_evictions.clone()),
            Box::new(workflow_memory_bytes.clone()),
            Box::new(workflow_memory_evictions.clone()),
            Box::new(workflow_task_failures.clone()),
            Box::new(workflow_signals_dropped.clone()),
            Box::new(swaps.clone()),
            Box::new(swap_seconds.clone()),
            Box::new(drain_seconds.clone()),
            Box::new(build_info.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        HostMetrics {
            registry,
            info,
            ready,
            connect_attempts,
            task_queue_backlog,
            unknown_type_tasks,
            unknown_type_names: Arc::default(),
            activities_in_flight,
            plugin_calls,
            plugin_failures,
            plugin_call_seconds,
            sandbox_denials,
            outbound_requests,
            outbound_seconds,
            plugins_loaded,
            plugin_load_failures,
            compile_cache,
            workflow_activations,
            workflow_activation_seconds,
            workflow_runs_cached,
            workflow_evictions,
            workflow_memory_bytes,
            workflow_memory_evictions,
            workflow_task_failures,
            workflow_signals_dropped,
            swaps,
            swap_seconds,
            drain_seconds,
            build_info,
        }
    }

    /// Counts a task for a type no plugin provides: under its own name for the first
    /// [`UNKNOWN_TYPE_SERIES`] names, under `other` after that.
    pub fn unknown_type(&self, kind: &str, name: &str) {
        let label = {
            let mut names = self
                .unknown_type_names
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if names.contains(name) || names.len() < UNKNOWN_TYPE_SERIES {
                names.insert(name.to_string());
                name
            } else {
                "other"
            }
        };
        self.unknown_type_tasks
            .with_label_values(&[kind, label])
            .inc();
    }

    /// The registry holding every host metric (the OTLP bridge reads it).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Renders every host metric in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)
        {
            tracing::warn!(error = %e, "rendering host metrics failed");
        }
        out
    }
}

impl Default for HostMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
