//! A response body as the guest reads it: bounded in size (`max_response_mib`) and in the
//! time between chunks.
//!
//! It does not hold its request's concurrency permit: a guest that starts many requests and
//! reads their bodies in an order of its own (`Promise.all` of `fetch`es, then the bodies)
//! would otherwise wait forever for a permit held by a body it has not reached.

use bytes::Bytes;
use http_body::{Body, Frame};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::Error;

/// The bounded body.
pub(super) struct LimitedBody {
    incoming: hyper::body::Incoming,
    limit: u64,
    read: u64,
    idle: Duration,
    /// Runs only while the guest waits for a chunk the peer has not sent: time the guest
    /// spends elsewhere (reading other bodies first) is not the peer's slowness.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Counts a body cut off at the limit.
    too_large: prometheus::IntCounter,
}

impl LimitedBody {
    pub(super) fn new(
        incoming: hyper::body::Incoming,
        limit: u64,
        idle: Duration,
        too_large: prometheus::IntCounter,
    ) -> Self {
        LimitedBody {
            incoming,
            limit,
            read: 0,
            idle,
            timer: None,
            too_large,
        }
    }
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read = this.read.saturating_add(data.len() as u64);
                    if this.read > this.limit {
                        this.too_large.inc();
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                            this.limit,
                        )))));
                    }
                }
                this.timer = None;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
