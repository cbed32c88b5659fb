//! Where and how metrics are exported by OTLP (`--otlp-endpoint`), when they are.

use super::ConfigError;
use super::parse;
use super::sources::Sources;
use std::time::Duration;
use url::Url;

/// The OTLP wire format, as `OTEL_EXPORTER_OTLP_PROTOCOL` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpWire {
    /// OTLP/gRPC (the collector's port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318, path `/v1/metrics`).
    HttpProtobuf,
}

/// The OTLP metrics export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The collector: for HTTP the full URL of the metrics path.
    pub endpoint: Url,
    /// gRPC or HTTP.
    pub wire: OtlpWire,
    /// Time between exports.
    pub interval: Duration,
}

/// `None` unless an endpoint is set.
pub(super) fn resolve(src: &Sources) -> Result<Option<OtlpConfig>, ConfigError> {
    let Some(raw) = src.get("otlp_endpoint") else {
        return Ok(None);
    };
    let mut endpoint = Url::parse(raw.value.trim())
        .map_err(|e| raw.invalid(format!("not a URL like http://collector:4317: {e}")))?;
    if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host().is_none() {
        return Err(raw.invalid("must be an http:// or https:// URL with a host"));
    }
    let wire_raw = super::required(src, "otlp_protocol")?;
    let wire = match wire_raw.value.trim() {
        "grpc" => OtlpWire::Grpc,
        "http/protobuf" | "http" => OtlpWire::HttpProtobuf,
        "http/json" => {
            return Err(wire_raw.invalid(
                "OTLP/HTTP with JSON bodies is not supported; use `grpc` or `http/protobuf`",
            ));
        }
        _ => return Err(wire_raw.invalid("must be `grpc` or `http/protobuf`")),
    };
    // As with OTEL_EXPORTER_OTLP_ENDPOINT, a bare HTTP collector address means its metrics path.
    if wire == OtlpWire::HttpProtobuf && matches!(endpoint.path(), "" | "/") {
        endpoint.set_path("/v1/metrics");
    }
    let interval_raw = super::required(src, "otlp_interval")?;
    let interval = parse::duration(&interval_raw)?;
    if interval < Duration::from_secs(1) {
        return Err(interval_raw.invalid("must be at least 1s"));
    }
    Ok(Some(OtlpConfig {
        endpoint,
        wire,
        interval,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{err, resolve};
    use super::*;

    #[test]
    fn otlp_is_off_by_default_and_an_http_collector_gets_its_metrics_path() {
        assert_eq!(resolve(&[], &[], None).expect("defaults").otlp, None);
        let grpc = resolve(&[("otlp_endpoint", "http://collector:4317")], &[], None)
            .expect("grpc")
            .otlp
            .expect("on");
        assert_eq!(grpc.wire, OtlpWire::Grpc);
        assert_eq!(grpc.endpoint.as_str(), "http://collector:4317/");
        assert_eq!(grpc.interval, Duration::from_secs(10));
        let env = [
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://collector:4318",
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ];
        let http = resolve(&[], &env, None).expect("http").otlp.expect("on");
        assert_eq!(http.wire, OtlpWire::HttpProtobuf);
        assert_eq!(http.endpoint.as_str(), "http://collector:4318/v1/metrics");
        let own_path = resolve(
            &[
                ("otlp_endpoint", "https://c.example/otlp/metrics"),
                ("otlp_protocol", "http"),
            ],
            &[],
            None,
        )
        .expect("own path")
        .otlp
        .expect("on");
        assert_eq!(own_path.endpoint.path(), "/otlp/metrics");
    }

    #[test]
    fn bad_otlp_settings_are_refused_naming_them() {
        let e = err(&[("otlp_endpoint", "collector:4317")], &[], None);
        assert!(e.contains("--otlp-endpoint"), "{e}");
        let e = err(
            &[
                ("otlp_endpoint", "http://c:4318"),
                ("otlp_protocol", "http/json"),
            ],
            &[],
            None,
        );
        assert!(e.contains("JSON bodies is not supported"), "{e}");
        let e = err(
            &[
                ("otlp_endpoint", "http://c:4317"),
                ("otlp_interval", "100ms"),
            ],
            &[],
            None,
        );
        assert!(e.contains("at least 1s"), "{e}");
    }
}
