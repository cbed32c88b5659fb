//! Accepting connections on the HTTP port without letting clients hold the host's file
//! descriptors: at most [`connection_cap`] connections at once (the rest wait in the kernel's
//! backlog, which costs the host nothing), request heads must arrive within
//! [`HEADER_READ_TIMEOUT`], and a connection with no traffic for [`IDLE_TIMEOUT`] is closed.
//!
//! Without these, ~20k clients that each sent half a request exhausted the fd limit: probes
//! stopped answering and a reload of the plugins folder failed for want of a descriptor.

use super::idle::IdleTimeout;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A client must send a whole request head within this long.
pub(super) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection with no byte moving either way for this long is closed (Prometheus scrapes
/// every 15–60 s; a closed keep-alive connection only costs it a reconnect).
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Never more connections than this, whatever the fd limit.
const MAX_CONNECTIONS: usize = 256;

/// Concurrent connections allowed: a quarter of the soft fd limit, at most
/// [`MAX_CONNECTIONS`], so the worker's gRPC channels, the compile cache, the folder watcher
/// and the plugins' own sockets always find descriptors.
pub(crate) fn connection_cap() -> usize {
    (fd_limit() / 4).clamp(4, MAX_CONNECTIONS as u64) as usize
}

/// The soft `RLIMIT_NOFILE` (1024 when it cannot be read).
fn fd_limit() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Raises the soft fd limit to the hard one, as Go and most servers do at start: the soft
/// default (1024) is a relic of `select(2)`, which nothing here uses.
pub(crate) fn raise_fd_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::debug!(error = %e, soft, hard, "cannot raise the fd limit");
    }
}

/// Serves `app` on `listener` until `stop` fires.
pub(super) async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    cap: usize,
    stop: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(cap));
    loop {
        // A permit first: while all are taken, new clients wait in the backlog instead of
        // costing a descriptor each.
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (the host's other users took them) or a connection
                    // reset before accept: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let io = TokioIo::new(IdleTimeout::new(stream, IDLE_TIMEOUT));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(64 * 1024);
            let conn = builder.serve_connection(io, TowerToHyperService::new(app));
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}
