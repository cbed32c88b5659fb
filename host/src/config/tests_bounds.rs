//! Unit tests of the settings that bound what clients and plugins can reach: where `/status`
//! listens, the workflow memory budget, absolute grants and yes/no switches.

use super::tests::{err, resolve};
use super::*;

#[test]
fn status_shares_a_loopback_metrics_port_and_stays_on_loopback_otherwise() {
    let loopback = resolve(&[("metrics_bind", "127.0.0.1")], &[], None).expect("loopback");
    assert_eq!(loopback.status_addr, None, "one loopback port serves both");
    let exposed = resolve(&[], &[], None).expect("defaults");
    assert_eq!(exposed.metrics_addr.ip().to_string(), "0.0.0.0");
    assert_eq!(
        exposed.status_addr,
        Some("127.0.0.1:8079".parse().expect("addr")),
        "metrics on every interface, /status on loopback only"
    );
    let chosen = resolve(
        &[("status_bind", "0.0.0.0"), ("metrics_bind", "0.0.0.0")],
        &[],
        None,
    )
    .expect("opt in");
    assert_eq!(chosen.status_addr, None, "the operator chose to expose it");
    let own_port = resolve(
        &[("status_bind", "::1"), ("status_port", "9999")],
        &[("WASM_WORKER_METRICS_BIND", "10.1.2.3")],
        None,
    )
    .expect("own port");
    assert_eq!(
        own_port.status_addr,
        Some("[::1]:9999".parse().expect("addr"))
    );
    assert!(err(&[("status_bind", "localhost")], &[], None).contains("not an IP address"));
}

#[test]
fn the_status_command_reads_where_status_listens() {
    let src = |flags: &[(&'static str, &str)]| {
        Sources::new(
            flags.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            |_| None,
            None,
        )
        .expect("sources")
    };
    assert_eq!(
        status_addr(&src(&[])).expect("defaults").to_string(),
        "127.0.0.1:8079"
    );
    assert_eq!(
        status_addr(&src(&[
            ("metrics_bind", "127.0.0.1"),
            ("metrics_port", "7000")
        ]))
        .expect("shared")
        .to_string(),
        "127.0.0.1:7000"
    );
    assert_eq!(
        status_addr(&src(&[
            ("status_bind", "0.0.0.0"),
            ("metrics_port", "7000")
        ]))
        .expect("both on every interface")
        .to_string(),
        "127.0.0.1:7000"
    );
}

#[test]
fn the_workflow_memory_budget_takes_binary_units_or_auto() {
    const MIB: u64 = 1 << 20;
    let at = |v: &str| {
        resolve(&[("workflow_memory_budget", v)], &[], None).map(|c| c.workflow_memory_budget)
    };
    assert_eq!(at("512MiB").expect("MiB"), 512 * MIB);
    assert_eq!(at("2GiB").expect("GiB"), 2048 * MIB);
    assert_eq!(at(" 64 MiB ").expect("spaces"), 64 * MIB);
    let auto = at("auto").expect("auto");
    assert!(auto >= 256 * MIB, "{auto}");
    assert!(auto <= machine::usable_memory().max(1024 * MIB), "{auto}");
    for bad in ["2GB", "lots", "MiB", "99999999999999999999GiB", ""] {
        let e = at(bad).expect_err(bad).to_string();
        assert!(e.contains("not a size like 512MiB"), "{bad}: {e}");
    }
    let e = at("1MiB").expect_err("too small").to_string();
    assert!(e.contains("at least 16MiB"), "{e}");
}

#[test]
fn absolute_grants_are_off_unless_switched_on() {
    assert!(
        !resolve(&[], &[], None)
            .expect("defaults")
            .allow_absolute_grants
    );
    let on = resolve(&[], &[("WASM_WORKER_ALLOW_ABSOLUTE_GRANTS", "yes")], None).expect("env");
    assert!(on.allow_absolute_grants);
    assert!(err(&[("allow_absolute_grants", "maybe")], &[], None).contains("not a boolean"));
}

#[test]
fn yes_no_settings_are_plain_switches_on_the_command_line() {
    let cli = crate::cli::parse(["wasm-worker", "run", "--tls", "--allow-absolute-grants"])
        .expect("switches");
    assert_eq!(cli.flags.get("tls").map(String::as_str), Some("true"));
    assert_eq!(
        cli.flags.get("allow_absolute_grants").map(String::as_str),
        Some("true")
    );
    let cli = crate::cli::parse(["wasm-worker", "run", "--tls=false"]).expect("a value with =");
    assert_eq!(cli.flags.get("tls").map(String::as_str), Some("false"));
}
