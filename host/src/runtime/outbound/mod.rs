//! A plugin's way out: the outbound HTTP requests and TCP connections its manifest grants
//! (`allowed_outbound_hosts`), and nothing else.
//!
//! One [`Egress`] per loaded plugin, shared by all its attempts: the grants, the limits, the
//! TLS trust (the system's roots plus the manifest's `ca_files`), the permits that bound
//! requests in flight, and the metrics. The activity store's `wasi:http` hooks hand every
//! request to [`Egress::send`] ([`send`]), which checks the grant, resolves the name itself
//! and connects only to addresses the grant may reach ([`crate::allow_list::Rule::may_reach`]),
//! never follows a redirect, and bounds time and size. `wasi:sockets` TCP connections pass
//! [`Egress::socket_allowed`] ([`sockets`]). A refusal names the plugin, the activity, the
//! URL or address and the reason, in the log, in the guest's error and in
//! `wasm_worker_sandbox_denials_total`.

mod body;
mod send;
mod sockets;
mod tls;

use crate::allow_list::AllowList;
use crate::manifest::{Outbound, OutboundLimits};
use crate::metrics::HostMetrics;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub use send::Sent;
pub use tls::TlsError;

/// Counters and histograms of one plugin, resolved once.
#[derive(Clone)]
struct EgressMetrics {
    requests: prometheus::IntCounterVec,
    seconds: prometheus::HistogramVec,
    denied_http: prometheus::IntCounter,
    denied_tcp: prometheus::IntCounter,
    denied_dns: prometheus::IntCounter,
}

/// One plugin's outbound grants, limits and trust.
pub struct Egress {
    plugin: Arc<str>,
    allow: AllowList,
    limits: OutboundLimits,
    tls: Arc<rustls::ClientConfig>,
    permits: Arc<Semaphore>,
    metrics: EgressMetrics,
}

impl Egress {
    /// The egress of `plugin` as its manifest's `outbound` section grants; fails when a CA
    /// file does not hold a certificate.
    pub fn new(plugin: &str, outbound: &Outbound, metrics: &HostMetrics) -> Result<Self, TlsError> {
        Ok(Egress {
            plugin: Arc::from(plugin),
            allow: outbound.allow.clone(),
            limits: outbound.limits.clone(),
            tls: tls::client_config(&outbound.ca_files)?,
            permits: Arc::new(Semaphore::new(outbound.limits.max_concurrent_requests)),
            metrics: EgressMetrics {
                requests: metrics.outbound_requests.clone(),
                seconds: metrics.outbound_seconds.clone(),
                denied_http: metrics.sandbox_denials.with_label_values(&[plugin, "http"]),
                denied_tcp: metrics.sandbox_denials.with_label_values(&[plugin, "tcp"]),
                denied_dns: metrics.sandbox_denials.with_label_values(&[plugin, "dns"]),
            },
        })
    }

    /// The plugin's grants.
    pub fn allow(&self) -> &AllowList {
        &self.allow
    }

    /// Logs and counts a refusal; the message is what the guest is told.
    fn deny(&self, kind: &'static str, activity_type: &str, target: &str, reason: &str) -> String {
        match kind {
            "tcp" => self.metrics.denied_tcp.inc(),
            "dns" => self.metrics.denied_dns.inc(),
            _ => self.metrics.denied_http.inc(),
        }
        tracing::warn!(
            plugin = %self.plugin,
            activity_type,
            kind,
            target,
            reason,
            "plugin's outbound connection denied"
        );
        format!(
            "wasm-worker denied {target} for plugin {}: {reason}",
            self.plugin
        )
    }
}
