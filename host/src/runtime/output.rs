//! A guest's stdout/stderr, captured for the log: up to a budget per attempt, and silently
//! dropped (and counted) beyond it, so a plugin that floods its output neither traps on a full
//! pipe nor fills the host's memory or log.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Captured output of one stream.
#[derive(Clone)]
pub struct Captured {
    inner: Arc<Mutex<Buffer>>,
}

struct Buffer {
    bytes: Vec<u8>,
    dropped: usize,
    budget: usize,
}

impl Captured {
    /// Keeps at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Captured {
            inner: Arc::new(Mutex::new(Buffer {
                bytes: Vec::new(),
                dropped: 0,
                budget,
            })),
        }
    }

    /// What was kept, and how many bytes were dropped, since the last `take`: each call of a
    /// reused instance starts with the whole budget.
    pub fn take(&self) -> (Vec<u8>, usize) {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (std::mem::take(&mut b.bytes), std::mem::take(&mut b.dropped))
    }
}

pub use crate::logging::printable;

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn truncated(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lines of guest stderr quoted in failure messages.
pub const STDERR_TAIL_LINES: usize = 5;

/// The last `n` non-empty lines of `text`, for failure messages (a panic message lands at the
/// end of stderr).
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for Captured {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = b.budget.saturating_sub(b.bytes.len());
        let kept = room.min(buf.len());
        b.bytes.extend_from_slice(&buf[..kept]);
        b.dropped += buf.len() - kept;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("héllo", 3), "hé");
        assert_eq!(truncated("hi", 10), "hi");
    }
}
