//! Connecting to the Temporal server, with exponential backoff and full jitter.
//!
//! Only the first connection needs this loop: once connected, core's pollers retry on their
//! own and tonic re-establishes the channel when the server comes back, so a server that goes
//! away later is survived without a restart.

use crate::config::{Config, Pem};
use crate::metrics::HostMetrics;
use anyhow::Context as _;
use rand::Rng as _;
use std::time::{Duration, Instant};
use temporalio_client::{ClientTlsOptions, Connection, ConnectionOptions, TlsOptions};
use tokio_util::sync::CancellationToken;

/// First wait between attempts; doubles up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// Ceiling on the wait, so a server that comes back is found within seconds.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// One attempt's TCP/TLS connect limit; an unroutable address must not eat the whole budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why connecting stopped without a connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The configured limit passed; carries the last attempt's error.
    #[error(
        "could not reach the Temporal server at {address} within {limit:?} ({attempts} attempts); last error: {last}"
    )]
    GaveUp {
        /// `host:port` tried.
        address: String,
        /// The configured limit.
        limit: Duration,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
    /// Shutdown was requested while connecting.
    #[error("shutdown requested while connecting")]
    Cancelled,
    /// The TLS files could not be read.
    #[error(transparent)]
    Setup(#[from] anyhow::Error),
}

/// The identity the worker shows in Temporal's UI: `pid@hostname (wasm-worker)`.
pub(crate) fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{}@{host}", std::process::id())
}

/// Builds the connection options from the configuration, loading TLS material.
pub(crate) fn options(config: &Config) -> anyhow::Result<ConnectionOptions> {
    let tls = match &config.tls {
        None => None,
        Some(t) => {
            let read = |pem: &Pem| {
                pem.read()
                    .with_context(|| format!("reading TLS certificate or key {pem:?}"))
            };
            let client_tls_options = match (&t.client_cert, &t.client_key) {
                (Some(c), Some(k)) => Some(
                    ClientTlsOptions::builder()
                        .client_cert(read(c)?)
                        .client_private_key(read(k)?)
                        .build(),
                ),
                _ => None,
            };
            let mut opts = TlsOptions::default();
            opts.server_root_ca_cert = t.server_ca_cert.as_ref().map(read).transpose()?;
            opts.domain.clone_from(&t.server_name);
            opts.client_tls_options = client_tls_options;
            Some(opts)
        }
    };
    let headers =
        (!config.grpc_meta.is_empty()).then(|| config.grpc_meta.clone().into_iter().collect());
    Ok(ConnectionOptions::new(config.address.clone())
        .identity(identity())
        .maybe_tls_options(tls)
        .maybe_api_key(config.api_key.clone())
        .maybe_headers(headers)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .build())
}

/// Connects, retrying until it works, the configured limit passes or `cancel` fires. Each
/// failed attempt is logged with the address and the error.
pub(crate) async fn connect(
    config: &Config,
    metrics: &HostMetrics,
    cancel: &CancellationToken,
    on_error: impl Fn(&str),
) -> Result<Connection, ConnectError> {
    let opts = options(config)?;
    let address = config.host_port();
    let started = Instant::now();
    let mut backoff = INITIAL_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let attempt = tokio::select! {
            r = Connection::connect(opts.clone()) => r,
            () = cancel.cancelled() => return Err(ConnectError::Cancelled),
        };
        let err = match attempt {
            Ok(conn) => {
                metrics.connect_attempts.with_label_values(&["ok"]).inc();
                tracing::info!(%address, attempts, "connected to the Temporal server");
                return Ok(conn);
            }
            Err(e) => e.to_string(),
        };
        metrics.connect_attempts.with_label_values(&["error"]).inc();
        on_error(&format!("cannot reach {address}: {err}"));
        // Full jitter: a fleet restarted together must not reconnect in lockstep.
        let wait = rand::rng().random_range(Duration::ZERO..=backoff);
        if let Some(limit) = config.connect_timeout
            && started.elapsed() + wait >= limit
        {
            return Err(ConnectError::GaveUp {
                address,
                limit,
                attempts,
                last: err,
            });
        }
        tracing::warn!(%address, attempt = attempts, error = %err, retry_in = ?wait, "Temporal server not reachable; retrying");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = cancel.cancelled() => return Err(ConnectError::Cancelled),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
