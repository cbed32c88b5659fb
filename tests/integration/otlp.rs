//! Metrics by OTLP: a host with `--otlp-endpoint` sends core's and its own metrics to a
//! collector (here a small OTLP/HTTP receiver that decodes what arrives).

use crate::common::guests::{self, HELLO_ACTIVITY};
use crate::common::workflows::{Call, run};
use crate::common::{eventually, http_get, plugin_host_with};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use prost::Message as _;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasm_worker::config::{OtlpConfig, OtlpWire};

/// Metric names received, with the request paths they came on, the `le` bounds of bucket
/// series, the largest value of each sum, and bodies that did not decode.
#[derive(Default)]
struct Received {
    names: BTreeSet<String>,
    paths: BTreeSet<String>,
    bucket_bounds: BTreeSet<String>,
    sums: std::collections::BTreeMap<String, f64>,
    undecodable: usize,
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
        {
            let mut seen_now = seen.lock().expect("lock");
            match ExportMetricsServiceRequest::decode(body.as_slice()) {
                Ok(req) => {
                    seen_now.paths.insert(path);
                    for m in req
                        .resource_metrics
                        .into_iter()
                        .flat_map(|rm| rm.scope_metrics)
                        .flat_map(|sm| sm.metrics)
                    {
                        if let Some(Data::Sum(sum)) = &m.data {
                            for p in &sum.data_points {
                                if m.name.ends_with("_bucket") {
                                    seen_now.bucket_bounds.extend(
                                        p.attributes.iter().filter(|a| a.key == "le").filter_map(
                                            |a| match &a.value.as_ref()?.value {
                                                Some(AnyValue::StringValue(s)) => Some(s.clone()),
                                                _ => None,
                                            },
                                        ),
                                    );
                                }
                                if let Some(Value::AsDouble(v)) = p.value {
                                    let max = seen_now.sums.entry(m.name.clone()).or_insert(v);
                                    *max = max.max(v);
                                }
                            }
                        }
                        seen_now.names.insert(m.name);
                    }
                }
                Err(_) => seen_now.undecodable += 1,
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
        "core's activity and the host's metrics at the collector",
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
                // Core exports on its own schedule: its activity series may
                // arrive in a later export than its worker series.
                let core = names.iter().any(|n| n.starts_with("temporal_activity"));
                (core && wanted.iter().all(|w| names.contains(*w))).then_some(names)
            }
        },
    )
    .await;
    assert!(
        names.iter().any(|n| n.starts_with("temporal_worker")),
        "core's worker metrics: {names:?}"
    );
    {
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.paths, BTreeSet::from(["/v1/metrics".to_string()]));
        assert_eq!(seen.undecodable, 0, "every export decodes");
        assert!(
            seen.sums
                .get("wasm_worker_plugin_calls_total")
                .is_some_and(|v| *v >= 1.0),
            "the call was counted: {:?}",
            seen.sums
        );
        assert!(
            seen.bucket_bounds.contains("+Inf"),
            "histograms carry the +Inf bucket: {:?}",
            seen.bucket_bounds
        );
    }
    // Core's series went to the collector instead of `/metrics`; the host's stay there too.
    let (_, text) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(text.contains("wasm_worker_plugin_calls_total"), "{text}");
    assert!(!text.contains("\ntemporal_"), "{text}");
    host.stop().await.expect("stop");
}
