//! Where the HTTP listeners go: `/status` shares the metrics port or gets one of its own.

use super::sources::Sources;
use super::{ConfigError, parse, required};
use std::net::{IpAddr, SocketAddr};

/// Where a running host's `/status` answers, from the same settings that bound it
/// (`--metrics-bind`, `--metrics-port`, `--status-bind`, `--status-port`): what
/// `wasm-worker status` reads. A wildcard bind address is reached through loopback.
pub fn status_addr(src: &Sources) -> Result<SocketAddr, ConfigError> {
    let metrics_bind = parse::ip(&required(src, "metrics_bind")?)?;
    let status_bind = parse::ip(&required(src, "status_bind")?)?;
    let (ip, port) = if shares_port(metrics_bind, status_bind) {
        (metrics_bind, parse::port(&required(src, "metrics_port")?)?)
    } else {
        (status_bind, parse::port(&required(src, "status_port")?)?)
    };
    let ip = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, port))
}

/// `/status` is served on the metrics port when the two binds agree, or when both are
/// loopback (nothing more is exposed then); otherwise it needs a listener of its own.
pub(super) fn shares_port(metrics_bind: IpAddr, status_bind: IpAddr) -> bool {
    metrics_bind == status_bind || (metrics_bind.is_loopback() && status_bind.is_loopback())
}
