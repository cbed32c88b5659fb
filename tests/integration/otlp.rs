//! Metrics by OTLP: a host with `--otlp-endpoint` sends core's and its own metrics to a
//! collector (here a small OTLP/HTTP receiver that decodes what arrives).

use crate::common::guests::{self, HELLO_ACTIVITY};
use crate::common::workflows::{Call, run};
use crate::common::{eventually, http_get, plugin_host_with};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message as _;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasm_worker::config::{OtlpConfig, OtlpWire};

/// Metric names received, with the request paths they came on.
#[derive(Default)]
struct Received {
    names: BTreeSet<String>,
    paths: BTreeSet<String>,
}

/// An OTLP/HTTP (protobuf) receiver: answers every export with 200 and records the metric
/// names in it.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Received>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Received::default()));
    let state = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, state.clone()));
        }
    });
    (addr, seen)
}

async fn serve(mut s: tokio::net::TcpStream, seen: Arc<Mutex<Received>>) {
    let mut buf = Vec::new();
    loop {
        // Headers, then a Content-Length body; several requests per connection.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let path = head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + length {
            let mut chunk = [0u8; 65536];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..end + length).skip(end).collect();
        if let Ok(req) = ExportMetricsServiceRequest::decode(body.as_slice()) {
            let mut seen = seen.lock().expect("lock");
            seen.paths.insert(path);
            for rm in req.resource_metrics {
                for sm in rm.scope_metrics {
                    seen.names.extend(sm.metrics.into_iter().map(|m| m.name));
                }
            }
        }
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if s.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_and_host_metrics_reach_an_otlp_collector() {
    let (collector, seen) = receiver().await;
    let (host, queue, _dir) = plugin_host_with(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
        |c| {
            c.otlp = Some(OtlpConfig {
                endpoint: format!("http://{collector}/v1/metrics")
                    .parse()
                    .expect("url"),
                wire: OtlpWire::HttpProtobuf,
                interval: Duration::from_secs(1),
            });
        },
    )
    .await;
    let out = run(
        &queue,
        Call::new("greet_activity", &queue).json(json!("OTLP")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, OTLP!"));

    let names = eventually(
        Duration::from_secs(30),
        "core's and the host's metrics at the collector",
        || {
            let seen = seen.clone();
            async move {
                let names = seen.lock().expect("lock").names.clone();
                let wanted = [
                    // The host's: a counter, a gauge, a histogram's three parts.
                    "wasm_worker_plugin_calls_total",
                    "wasm_worker_ready",
                    "wasm_worker_plugin_call_seconds_count",
                    "wasm_worker_plugin_call_seconds_sum",
                    "wasm_worker_plugin_call_seconds_bucket",
                ];
                let core = names.iter().any(|n| n.starts_with("temporal_"));
                (core && wanted.iter().all(|w| names.contains(*w))).then_some(names)
            }
        },
    )
    .await;
    assert!(
        names.contains("temporal_activity_execution_latency")
            || names.iter().any(|n| n.starts_with("temporal_activity")),
        "core's activity metrics: {names:?}"
    );
    assert_eq!(
        seen.lock().expect("lock").paths,
        BTreeSet::from(["/v1/metrics".to_string()])
    );
    // Core's series went to the collector instead of `/metrics`; the host's stay there too.
    let (_, text) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(text.contains("wasm_worker_plugin_calls_total"), "{text}");
    assert!(!text.contains("\ntemporal_"), "{text}");
    host.stop().await.expect("stop");
}
