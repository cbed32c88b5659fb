//! The one HTTP port: `/metrics`, `/healthz`, `/readyz` and `/status`.
//!
//! Core's `temporal_*` metrics live in a Prometheus registry that core keeps private and only
//! serves through its own exporter. Rather than reimplement core's meter, the host runs that
//! exporter on an ephemeral loopback port and `/metrics` appends core's text to the host's own,
//! so users scrape one port and get both.

use crate::health::Health;
use crate::metrics::HostMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
#[derive(Clone)]
pub(crate) struct HttpState {
    /// The host's own metrics.
    pub metrics: HostMetrics,
    /// Readiness.
    pub health: Arc<Health>,
    /// Where core's exporter listens (loopback, ephemeral port).
    pub core_metrics: SocketAddr,
    /// Client for scraping core's exporter.
    pub client: reqwest::Client,
    /// Generations and the last load error.
    pub status: Arc<crate::status::StatusBoard>,
}

/// Binds the port now (so a taken port fails the start) and serves until `stop` fires.
pub(crate) async fn serve(
    addr: SocketAddr,
    state: HttpState,
    stop: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind the metrics port {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .with_state(state);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "metrics/health server failed");
        }
    });
    Ok((bound, task))
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let mut body = s.metrics.render();
    let url = format!("http://{}/metrics", s.core_metrics);
    match s.client.get(&url).send().await {
        Ok(resp) => match resp.text().await {
            Ok(text) => body.push_str(&text),
            Err(e) => tracing::warn!(error = %e, "reading core metrics failed"),
        },
        Err(e) => tracing::warn!(error = %e, "scraping core metrics failed"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn status(State(s): State<HttpState>) -> Response {
    axum::Json(s.status.snapshot()).into_response()
}

async fn readyz(State(s): State<HttpState>) -> Response {
    match s.health.check() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}
