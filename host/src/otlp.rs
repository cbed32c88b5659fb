//! Metrics by OTLP, for shops whose collector is OpenTelemetry rather than a Prometheus scrape.
//!
//! Core's `temporal_*` metrics go to the collector through core's own OTel meter (the same
//! exporter the other Temporal SDKs use, so the series are named as theirs are). The host's
//! `wasm_worker_*` metrics live in a Prometheus registry (they also stay on `/metrics`); they
//! are bridged as observable instruments read from that registry at each export, which keeps
//! one source of truth for both exports. A Prometheus histogram has no observable OTel
//! counterpart, so it is exported the way Prometheus exposes it: `NAME_count`, `NAME_sum` and
//! `NAME_bucket{le}` counters.

use crate::config::{OtlpConfig, OtlpWire};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{AsyncInstrument, Meter};
use prometheus::Registry;
use prometheus::proto::{MetricFamily, MetricType};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    OtelCollectorOptions, OtlpProtocol, build_otlp_metric_exporter,
};
use tokio_util::sync::CancellationToken;

/// Starts the OTLP exporter for core's metrics and bridges the host's registry into it;
/// returns the meter core records into. The bridge registers families as they first get a
/// series, until `stop`.
pub(crate) fn start(
    config: &OtlpConfig,
    registry: Registry,
    stop: CancellationToken,
) -> anyhow::Result<Arc<dyn CoreMeter>> {
    let protocol = match config.wire {
        OtlpWire::Grpc => OtlpProtocol::Grpc,
        OtlpWire::HttpProtobuf => OtlpProtocol::Http,
    };
    let exporter = build_otlp_metric_exporter(
        OtelCollectorOptions::builder()
            .url(config.endpoint.clone())
            .protocol(protocol)
            .metric_periodicity(config.interval)
            .build(),
    )?;
    let meter = exporter.meter.clone();
    let mut bridge = Bridge {
        meter,
        registry: Snapshot::new(registry),
        bridged: HashSet::new(),
    };
    bridge.register_new();
    let interval = config.interval;
    tokio::spawn(async move {
        // Label vectors appear in the registry's output with their first series.
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => bridge.register_new(),
                () = stop.cancelled() => return,
            }
        }
    });
    Ok(Arc::new(exporter))
}

/// The registry's contents, gathered at most once per export: every instrument's callback of
/// one collection reads the same samples (a histogram's `_count` and its `+Inf` bucket agree),
/// and a collection costs one gather, not one per instrument.
#[derive(Clone)]
struct Snapshot {
    registry: Registry,
    last: Arc<Mutex<Option<Gathered>>>,
}

/// When the registry was gathered, and what it held.
type Gathered = (Instant, Arc<Vec<MetricFamily>>);

/// Callbacks of one collection run within this of each other.
const SNAPSHOT_FRESH: Duration = Duration::from_millis(500);

impl Snapshot {
    fn new(registry: Registry) -> Self {
        Snapshot {
            registry,
            last: Arc::new(Mutex::new(None)),
        }
    }

    fn families(&self) -> Arc<Vec<MetricFamily>> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((at, families)) if at.elapsed() < SNAPSHOT_FRESH => families.clone(),
            _ => {
                let families = Arc::new(self.registry.gather());
                *last = Some((Instant::now(), families.clone()));
                families
            }
        }
    }
}

/// The host's registry seen through observable instruments.
struct Bridge {
    meter: Meter,
    registry: Snapshot,
    /// Families that already have instruments.
    bridged: HashSet<String>,
}

impl Bridge {
    fn register_new(&mut self) {
        for family in self.registry.families().iter() {
            let name = family.name().to_string();
            if self.bridged.contains(&name) {
                continue;
            }
            let help = family.help().to_string();
            match family.get_field_type() {
                MetricType::COUNTER => self.counter(&name, &help, Read::Counter),
                MetricType::GAUGE => {
                    let registry = self.registry.clone();
                    let family_name = name.clone();
                    self.meter
                        .f64_observable_gauge(name.clone())
                        .with_description(help)
                        .with_callback(move |o| observe(&registry, &family_name, Read::Gauge, o))
                        .build();
                }
                MetricType::HISTOGRAM => {
                    self.counter(&format!("{name}_count"), &help, Read::Count);
                    self.counter(&format!("{name}_sum"), &help, Read::Sum);
                    self.counter(&format!("{name}_bucket"), &help, Read::Buckets);
                }
                // The host registers no summaries or untyped metrics.
                _ => {}
            }
            self.bridged.insert(name);
        }
    }

    /// A cumulative counter named `instrument` read from the family the name starts with.
    fn counter(&self, instrument: &str, help: &str, read: Read) {
        let registry = self.registry.clone();
        let family = match read {
            Read::Count | Read::Sum | Read::Buckets => instrument
                .rsplit_once('_')
                .map_or(instrument, |(base, _)| base)
                .to_string(),
            Read::Counter | Read::Gauge => instrument.to_string(),
        };
        self.meter
            .f64_observable_counter(instrument.to_string())
            .with_description(help.to_string())
            .with_callback(move |o| observe(&registry, &family, read, o))
            .build();
    }
}

/// Which number of a Prometheus sample an instrument reports.
#[derive(Clone, Copy)]
enum Read {
    Counter,
    Gauge,
    Count,
    Sum,
    Buckets,
}

fn observe(registry: &Snapshot, family: &str, read: Read, o: &dyn AsyncInstrument<f64>) {
    let families = registry.families();
    let Some(f) = families.iter().find(|f| f.name() == family) else {
        return;
    };
    for m in f.get_metric() {
        let labels: Vec<KeyValue> = m
            .get_label()
            .iter()
            .map(|l| KeyValue::new(l.name().to_string(), l.value().to_string()))
            .collect();
        match read {
            Read::Counter => o.observe(m.get_counter().get_value(), &labels),
            Read::Gauge => o.observe(m.get_gauge().get_value(), &labels),
            Read::Count => o.observe(m.get_histogram().get_sample_count() as f64, &labels),
            Read::Sum => o.observe(m.get_histogram().get_sample_sum(), &labels),
            Read::Buckets => {
                let h = m.get_histogram();
                for b in h.get_bucket() {
                    let mut with_le = labels.clone();
                    with_le.push(KeyValue::new("le", b.upper_bound().to_string()));
                    o.observe(b.cumulative_count() as f64, &with_le);
                }
                // The registry leaves the implicit `+Inf` bucket out (its text encoder adds it).
                let mut inf = labels.clone();
                inf.push(KeyValue::new("le", "+Inf"));
                o.observe(h.get_sample_count() as f64, &inf);
            }
        }
    }
}
