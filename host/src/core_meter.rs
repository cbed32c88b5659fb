//! Where core's `temporal_*` metrics go: its Prometheus exporter on loopback, whose text
//! `/metrics` re-serves beside the host's own series, or an OTLP collector (`otlp.rs`).

use crate::config::Config;
use crate::metrics::HostMetrics;
use anyhow::Context as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{PrometheusExporterOptions, start_prometheus_metric_exporter};
use tokio_util::sync::CancellationToken;

/// Core's meter and what to stop with the host.
pub(crate) struct CoreMetrics {
    /// What core records into.
    pub meter: Arc<dyn CoreMeter>,
    /// Core's own Prometheus endpoint, which `/metrics` re-serves; `None` with OTLP.
    pub scrape: Option<SocketAddr>,
    stop: Stop,
}

enum Stop {
    Prometheus(tokio::task::AbortHandle),
    Otlp(CancellationToken),
}

impl CoreMetrics {
    /// Starts the export the configuration asks for.
    pub(crate) fn start(config: &Config, host: &HostMetrics) -> anyhow::Result<Self> {
        if let Some(otlp) = &config.otlp {
            let stop = CancellationToken::new();
            let meter = crate::otlp::start(otlp, host.registry().clone(), stop.clone())
                .with_context(|| format!("starting the OTLP exporter for {}", otlp.endpoint))?;
            tracing::info!(endpoint = %otlp.endpoint, wire = ?otlp.wire, interval = ?otlp.interval, "exporting metrics by OTLP");
            return Ok(CoreMetrics {
                meter,
                scrape: None,
                stop: Stop::Otlp(stop),
            });
        }
        // Core's exporter stays on loopback; `/metrics` on our port re-serves its text.
        let exporter = start_prometheus_metric_exporter(
            PrometheusExporterOptions::builder()
                .socket_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .build(),
        )
        .context("starting core's metrics exporter")?;
        Ok(CoreMetrics {
            meter: exporter.meter.clone(),
            scrape: Some(exporter.bound_addr),
            stop: Stop::Prometheus(exporter.abort_handle),
        })
    }

    /// Stops the exporter's own tasks (core's meter goes when core's runtime does).
    pub(crate) fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let stop = match &self.stop {
            Stop::Prometheus(h) => Stop::Prometheus(h.clone()),
            Stop::Otlp(t) => Stop::Otlp(t.clone()),
        };
        move || match stop {
            Stop::Prometheus(h) => h.abort(),
            Stop::Otlp(t) => t.cancel(),
        }
    }
}
