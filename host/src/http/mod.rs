//! The HTTP ports: `/metrics`, `/healthz` and `/readyz` where `--metrics-bind` says, and
//! `/status` (file names, digests, signatures, paths) on loopback unless `--status-bind` says
//! otherwise — on the same port when both binds agree, on `--status-port` when they do not.
//!
//! Core's `temporal_*` metrics live in a Prometheus registry that core keeps private and only
//! serves through its own exporter. Rather than reimplement core's meter, the host runs that
//! exporter on an ephemeral loopback port and `/metrics` appends core's text to the host's own
//! (type names no plugin provides folded into `other`), so users scrape one port and get both.

mod accept;
mod core_text;
mod idle;

pub(crate) use accept::raise_fd_limit;

use crate::health::Health;
use crate::metrics::HostMetrics;
use crate::outcomes::CurrentTypes;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Scrapes rendered at once; more wait (each holds a copy of both registries' text).
const CONCURRENT_SCRAPES: usize = 4;

/// What the handlers read.
#[derive(Clone)]
pub(crate) struct HttpState {
    /// The host's own metrics.
    pub metrics: HostMetrics,
    /// Readiness.
    pub health: Arc<Health>,
    /// Where core's exporter listens (loopback, ephemeral port).
    pub core_metrics: Option<SocketAddr>,
    /// Client for scraping core's exporter.
    pub client: reqwest::Client,
    /// Generations and the last load error.
    pub status: Arc<crate::status::StatusBoard>,
    /// The type names plugins have provided: the only ones core's series may carry.
    pub types: Arc<CurrentTypes>,
}

/// Where the listeners ended up.
pub(crate) struct Bound {
    /// `/metrics`, `/healthz`, `/readyz` (and `/status` when `status` is `None`).
    pub metrics: SocketAddr,
    /// `/status`, when it has a listener of its own.
    pub status: Option<SocketAddr>,
    /// Ends when `stop` fires.
    pub task: tokio::task::JoinHandle<()>,
}

/// Binds the ports now (so a taken port fails the start) and serves until `stop` fires.
/// `status_addr` is `None` when `/status` shares the metrics port.
pub(crate) async fn serve(
    addr: SocketAddr,
    status_addr: Option<SocketAddr>,
    state: HttpState,
    stop: CancellationToken,
) -> anyhow::Result<Bound> {
    let bind = async |addr: SocketAddr, what: &str| {
        TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the {what} port {addr}: {e}"))
    };
    let listener = bind(addr, "metrics").await?;
    let status_listener = match status_addr {
        Some(a) => Some(bind(a, "status").await?),
        None => None,
    };
    let metrics = listener.local_addr()?;
    let status = status_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
    let scrapes = Arc::new(Semaphore::new(CONCURRENT_SCRAPES));
    let mut app = Router::new()
        .route("/metrics", get(move |s| metrics_page(s, scrapes.clone())))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz));
    let status_app = Router::new()
        .route("/status", get(status_page))
        .with_state(state.clone());
    if status_listener.is_none() {
        app = app.route("/status", get(status_page));
    }
    let app = app.with_state(state);
    // Each listener gets its own share of the connection cap.
    let cap = accept::connection_cap();
    let task = tokio::spawn(async move {
        let main = accept::accept_loop(listener, app, cap, stop.clone());
        match status_listener {
            Some(l) => {
                let status = accept::accept_loop(l, status_app, cap.div_ceil(4), stop);
                tokio::join!(main, status);
            }
            None => main.await,
        }
    });
    Ok(Bound {
        metrics,
        status,
        task,
    })
}

async fn metrics_page(State(s): State<HttpState>, scrapes: Arc<Semaphore>) -> Response {
    let Ok(_turn) = scrapes.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut body = s.metrics.render();
    // With OTLP core's series go to the collector, not here.
    if let Some(core) = s.core_metrics {
        let url = format!("http://{core}/metrics");
        match s.client.get(&url).send().await {
            Ok(resp) => match resp.text().await {
                Ok(text) => body.push_str(&core_text::fold_unknown_types(&text, |name| {
                    s.types.is_known(name)
                })),
                Err(e) => tracing::warn!(error = %e, "reading core metrics failed"),
            },
            Err(e) => tracing::warn!(error = %e, "scraping core metrics failed"),
        }
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

async fn status_page(State(s): State<HttpState>) -> Response {
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
