//! The host's own Prometheus metrics (`wasm_worker_*`), beside core's `temporal_*` series.
//!
//! Kept in a `prometheus::Registry` the HTTP endpoint renders after core's text; see `http.rs`
//! for why the two are joined at render time.

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

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
    /// Tasks for a type no plugin provides, by kind (`workflow`, `activity`) and type.
    pub unknown_type_tasks: IntCounterVec,
    /// Activities in flight right now.
    pub activities_in_flight: IntGauge,
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
        for c in [
            Box::new(info.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ready.clone()),
            Box::new(connect_attempts.clone()),
            Box::new(task_queue_backlog.clone()),
            Box::new(unknown_type_tasks.clone()),
            Box::new(activities_in_flight.clone()),
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
            activities_in_flight,
        }
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
