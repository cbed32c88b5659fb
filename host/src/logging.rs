//! Structured logging with `tracing`: human-readable lines by default, JSON for machines.
//!
//! Core's own logs flow through the same subscriber (the core runtime is built without a logger
//! of its own), so one filter governs both.

use crate::config::LogFormat;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. Returns an error if one is already installed (tests that
/// embed the host install their own).
pub fn init(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::builder().parse(filter)?;
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Colour codes only for a terminal: in a file or a journal they are noise, and a log
        // reader that renders them can be fooled by a plugin's own escape sequences.
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_target(true)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .try_init()?,
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false),
            )
            .try_init()?,
    }
    Ok(())
}
