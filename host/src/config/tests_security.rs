//! Unit tests of the settings that carry secrets: the API key and TLS files, never echoed,
//! and the start-up log line that shows every setting but them.

use super::tests::{err, resolve};
use std::path::PathBuf;

#[test]
fn tls_is_implied_by_an_api_key_and_the_key_is_never_echoed() {
    let c = resolve(&[], &[("TEMPORAL_API_KEY", "sekret-123")], None).expect("api key");
    assert_eq!(c.address.scheme(), "https");
    assert!(c.tls.is_some());
    assert!(!format!("{c:?}").contains("sekret-123"));
    let e = err(&[("api_key", " ")], &[], None);
    assert!(!e.contains("sekret"), "{e}");
    assert!(e.contains("<redacted>"), "{e}");
}

#[test]
fn the_start_up_log_line_shows_every_setting() {
    let c = resolve(&[], &[], None).expect("defaults");
    let shown = format!("{c:?}");
    for field in [
        "address",
        "namespace",
        "task_queue",
        "build_id",
        "deployment_name",
        "metrics_addr",
        "status_addr",
        "max_concurrent_workflow_tasks",
        "max_concurrent_activities",
        "max_cached_workflows",
        "workflow_memory_budget",
        "allow_absolute_grants",
        "conversion_budget",
        "plugins_dir",
        "shutdown_grace",
        "compile_cache",
        "secrets_file",
        "default_versioning",
        "rollout",
        "drain_limit",
        "connect_timeout",
        "status_interval",
        "log_filter",
        "log_format",
        "tls",
        "api_key",
    ] {
        assert!(
            shown.contains(&format!("{field}: ")),
            "{field} missing from {shown}"
        );
    }
    assert!(!shown.contains(".."), "no field left out: {shown}");
}

#[test]
fn tls_files_must_exist_and_pair_up() {
    let e = err(
        &[],
        &[("TEMPORAL_TLS_CLIENT_CERT_PATH", "/nonexistent.pem")],
        None,
    );
    assert!(
        e.starts_with("TEMPORAL_TLS_CLIENT_CERT_PATH=/nonexistent.pem: cannot read file"),
        "{e}"
    );
    let cert = tempfile::NamedTempFile::new().expect("cert");
    let p = cert.path().display().to_string();
    let e = err(&[], &[("TEMPORAL_TLS_CLIENT_CERT_PATH", &p)], None);
    assert!(e.contains("must be set together"), "{e}");
    let e = err(
        &[],
        &[
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", &p),
            ("TEMPORAL_TLS", "false"),
        ],
        None,
    );
    assert!(e.contains("conflicts"), "{e}");
    let c = resolve(&[], &[("TEMPORAL_TLS_SERVER_CA_CERT_PATH", &p)], None).expect("ca only");
    assert_eq!(
        c.tls.expect("tls").server_ca_cert,
        Some(super::Pem::File(PathBuf::from(&p)))
    );
}
