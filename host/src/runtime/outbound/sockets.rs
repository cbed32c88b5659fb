//! `wasi:sockets` for the grants that are not HTTP (`postgres://db:5432`): the check wasi
//! runs before every socket use. A TCP connection passes when a grant names its address, or
//! names a host the address is one of (resolved by the host at the time of the check); the
//! implicit bind a connection makes passes; listening, accepting and UDP never do.

use super::Egress;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use wasmtime_wasi::sockets::SocketAddrUse;

/// The future wasi awaits for one check.
type Check = Pin<Box<dyn Future<Output = bool> + Send + Sync>>;

impl Egress {
    /// The socket check for one attempt of `activity_type`.
    pub(crate) fn socket_check(
        self: &Arc<Self>,
        activity_type: Arc<str>,
    ) -> impl Fn(SocketAddr, SocketAddrUse) -> Check + Send + Sync + 'static {
        let egress = self.clone();
        move |addr, use_| -> Check {
            let egress = egress.clone();
            let activity_type = activity_type.clone();
            Box::pin(async move {
                match use_ {
                    // The bind `connect` makes on its own: to the wildcard address, any port.
                    SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => {
                        true
                    }
                    SocketAddrUse::TcpConnect => egress.tcp_allowed(addr, &activity_type).await,
                    _ => {
                        egress.deny(
                            "tcp",
                            &activity_type,
                            &addr.to_string(),
                            &format!(
                                "{use_:?} is never granted: plugins connect out, they do not listen"
                            ),
                        );
                        false
                    }
                }
            })
        }
    }

    /// Logs and counts a name lookup no socket grant lists.
    pub(crate) fn deny_lookup(&self, activity_type: &str, name: &str) {
        self.deny(
            "dns",
            activity_type,
            name,
            "no non-HTTP entry in allowed_outbound_hosts names this host",
        );
    }

    async fn tcp_allowed(&self, addr: SocketAddr, activity_type: &str) -> bool {
        let mut names: Vec<(String, Vec<IpAddr>)> = Vec::new();
        for rule in self.allow.rules() {
            if let crate::allow_list::HostPattern::Name(name) = &rule.host
                && !rule.is_http()
                && !names.iter().any(|(n, _)| n == name)
            {
                let lookup = tokio::net::lookup_host((name.as_str(), 0));
                let found = match tokio::time::timeout(self.limits.connect_timeout, lookup).await {
                    Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                    _ => Vec::new(),
                };
                names.push((name.clone(), found));
            }
        }
        let resolved = |name: &str| {
            names
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a.clone())
                .unwrap_or_default()
        };
        if self
            .allow
            .find_socket(addr.ip(), addr.port(), resolved)
            .is_some()
        {
            return true;
        }
        self.deny(
            "tcp",
            activity_type,
            &addr.to_string(),
            "no non-HTTP entry in allowed_outbound_hosts names this address and port",
        );
        false
    }
}
