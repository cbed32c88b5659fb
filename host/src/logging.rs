//! Structured logging with `tracing`: human-readable lines by default, JSON for machines.
//!
//! Core's own logs flow through the same subscriber (the core runtime is built without a logger
//! of its own), so one filter governs both.
//!
//! Many logged values are chosen by others — workflow and activity type names, run IDs,
//! plugin output, manifest text — so in the text format every field value is written with its
//! control characters escaped: a newline in a type name cannot forge a second log line, and
//! an escape sequence cannot recolour or rewrite the reader's terminal. (JSON escapes them by
//! itself.)

use crate::config::LogFormat;
use std::fmt::Write as _;
use tracing_subscriber::field::MakeExt as _;
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
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .fmt_fields(escaped_fields()),
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

/// The text format's fields, `name=value` separated by spaces as tracing writes them, with
/// [`printable`] applied to every value (the message included).
fn escaped_fields() -> impl for<'w> fmt::FormatFields<'w> + Send + Sync + 'static {
    fmt::format::debug_fn(|w, field, value| {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            write!(w, "{}", printable(&text))
        } else {
            write!(w, "{}={}", field.name(), printable(&text))
        }
    })
    .delimited(" ")
}

/// `text` with control characters (newlines, carriage returns, escape sequences…) written as
/// `\u{..}` escapes; tabs stay. One value, one line of the host's log.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            let _ = write!(out, "{}", c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn client_chosen_values_cannot_forge_lines_or_colours() {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(
            fmt::layer()
                .with_ansi(false)
                .without_time()
                .fmt_fields(escaped_fields())
                .with_writer(move || writer.clone()),
        );
        let forged = "Greeting\n2026-12-03T00:00:00Z  INFO wasm_worker: all good\u{1b}[31m";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(workflow_type = %forged, "type `{forged}` is not provided");
            tracing::warn!(run_id = forged, "a str field");
        });
        let text = String::from_utf8(sink.0.lock().expect("sink").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("workflow_type=Greeting\\u{a}2026"), "{text}");
        assert!(text.contains("type `Greeting\\u{a}2026"), "{text}");
        assert!(text.contains("\\u{1b}[31m"), "{text}");
    }

    #[test]
    fn control_characters_cannot_forge_a_log_line() {
        assert!(matches!(
            printable("plain text\twith a tab"),
            std::borrow::Cow::Borrowed("plain text\twith a tab")
        ));
        assert_eq!(
            printable("ok\n2026-01-01 ERROR forged\u{1b}[31m"),
            "ok\\u{a}2026-01-01 ERROR forged\\u{1b}[31m"
        );
    }
}
