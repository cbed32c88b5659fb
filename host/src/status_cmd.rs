//! `wasm-worker status`: reads a running host's `GET /status` and prints it for people.
//!
//! The document is read as untyped JSON rather than as [`crate::status::Status`], so a newer
//! command still prints what an older host sends (and the reverse): fields it does not know
//! are skipped, missing ones are shown as absent.

use anyhow::Context as _;
use serde_json::Value;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

/// How long to wait for the host.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches `/status` from the host at `addr`.
pub(crate) async fn fetch(addr: SocketAddr) -> anyhow::Result<Value> {
    let url = format!("http://{addr}/status");
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let response = client.get(&url).send().await.with_context(|| {
        format!(
            "no wasm-worker answers at {url} (is the host running, and are --metrics-bind and \
             --metrics-port the ones it uses?)"
        )
    })?;
    let code = response.status();
    let body = response.text().await.context("reading the answer")?;
    anyhow::ensure!(code.is_success(), "{url} answered {code}: {body}");
    serde_json::from_str(&body).with_context(|| format!("{url} did not answer JSON: {body}"))
}

/// The document as text: one block per generation (build ID, state, each plugin with its
/// short digest and types), then the last load error if any.
pub(crate) fn render(addr: SocketAddr, doc: &Value) -> String {
    let mut out = String::new();
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    let _ = writeln!(
        out,
        "wasm-worker at {addr}, deployment {}",
        text(&doc["deployment_name"])
    );
    let generations = doc["generations"].as_array().cloned().unwrap_or_default();
    if generations.is_empty() {
        let _ = writeln!(out, "no generations (no worker polls yet)");
    }
    for g in &generations {
        let mut line = format!("\n{}  {}", text(&g["build_id"]), text(&g["state"]));
        if let Some(ramp) = g["ramp_percent"].as_f64() {
            let _ = write!(line, " ({ramp}% of new runs)");
        }
        let _ = writeln!(out, "{line}");
        for p in g["plugins"].as_array().into_iter().flatten() {
            let digest = text(&p["digest"]);
            let _ = writeln!(
                out,
                "  {}  sha256:{}  {}",
                text(&p["file"]),
                &digest[..digest.len().min(12)],
                text(&p["kind"])
            );
            for t in p["types"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "    {}", text(t));
            }
        }
    }
    if let Some(r) = doc["routing"].as_object() {
        let state = if r.get("propagated").and_then(serde_json::Value::as_bool) == Some(true) {
            "reached every task-queue partition"
        } else {
            "still spreading to the task-queue partitions (some new runs may go to the previous version)"
        };
        let _ = writeln!(
            out,
            "
routing: {} {}: {state}",
            text(&r["change"]),
            text(&r["build_id"])
        );
    }
    if let Some(errors) = doc["last_load_error"]["errors"].as_array() {
        let _ = writeln!(
            out,
            "\nlast load error (the files were refused, the set above serves):"
        );
        for e in errors {
            let _ = writeln!(out, "  {}", text(e));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_generations_plugins_types_and_the_last_error() {
        let doc = serde_json::json!({
            "deployment_name": "wasm-worker",
            "generations": [
                {"build_id": "v1.0.0-aaaa", "state": "current", "plugins": [
                    {"file": "hello_activity.wasm", "digest": "0123456789abcdef0123", "kind": "activities",
                     "types": ["greet_activity: func(name: string) -> string"]}
                ]},
                {"build_id": "v1.0.0-bbbb", "state": "draining", "plugins": []}
            ],
            "last_load_error": {"at_unix": 1, "errors": ["plugin broken.wasm: not a component"]},
            "routing": {"change": "current", "build_id": "v1.0.0-aaaa", "propagated": true}
        });
        let text = render(SocketAddr::from(([127, 0, 0, 1], 8078)), &doc);
        assert!(
            text.starts_with("wasm-worker at 127.0.0.1:8078, deployment wasm-worker\n"),
            "{text}"
        );
        assert!(text.contains("\nv1.0.0-aaaa  current\n  hello_activity.wasm  sha256:0123456789ab  activities\n    greet_activity: func(name: string) -> string\n"), "{text}");
        assert!(text.contains("\nv1.0.0-bbbb  draining\n"), "{text}");
        assert!(
            text.contains("\nrouting: current v1.0.0-aaaa: reached every task-queue partition\n"),
            "{text}"
        );
        assert!(
            text.contains("  plugin broken.wasm: not a component\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_an_error_that_says_what_to_check() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let e = fetch(addr).await.expect_err("nothing listens");
        assert!(
            format!("{e:#}").contains("no wasm-worker answers at http://"),
            "{e:#}"
        );
    }
}
