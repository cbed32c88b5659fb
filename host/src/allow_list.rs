//! A plugin's outbound grants, `allowed_outbound_hosts` in its manifest, in Spin's shape:
//! `scheme://host[:port]`, where host is a name, a `*.` wildcard of names, or an IP literal,
//! and port a number or `*` (absent: the scheme's default). Pure: parsing and matching only;
//! the sandbox's HTTP sender and socket check ask it.
//!
//! Beyond matching, one rule keeps a grant from reaching what it does not name: an address
//! that is loopback, private, link-local (cloud metadata lives at 169.254.169.254) or otherwise
//! internal is reachable only through a rule that names that address, or the exact name that
//! resolved to it — never through a wildcard, never by accident.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One granted destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `https`, `http`, or any other scheme (reached over TCP through `wasi:sockets`).
    pub scheme: String,
    /// Which hosts.
    pub host: HostPattern,
    /// Which port; `None` for any.
    pub port: Option<u16>,
    /// As written in the manifest: the label on metrics and in messages.
    pub text: String,
}

/// The host part of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// One name, lower-cased.
    Name(String),
    /// `*.example.org`: any name ending in `.example.org` (not `example.org` itself).
    Wildcard(String),
    /// An IP literal, matched as written (never resolved).
    Ip(IpAddr),
}

/// Why a grant was refused at load time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {reason}")]
pub struct RuleError {
    /// The rule as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The default port of a scheme, where it has a well-known one.
pub fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "postgres" | "postgresql" => 5432,
        "mysql" => 3306,
        "redis" => 6379,
        "mongodb" => 27017,
        "amqp" => 5672,
        "nats" => 4222,
        "smtp" => 25,
        "smtps" => 465,
        "ftp" => 21,
        _ => return None,
    })
}

impl Rule {
    /// Parses `scheme://host[:port]`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let fail = |reason: &str| RuleError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            fail("expected scheme://host[:port], e.g. \"https://api.example.com\"")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(fail("the scheme must be letters, digits, `+`, `-` or `.`"));
        }
        if rest.contains(['/', '?', '#', '@']) {
            return Err(fail(
                "a rule names a host and a port only: no path, query, fragment or user",
            ));
        }
        let (host, port) = split_host_port(rest)
            .ok_or_else(|| fail("the port must be a number from 1 to 65535, or `*`"))?;
        let port = match port {
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail("the port must be a number from 1 to 65535, or `*`"))?,
            ),
            None => Some(default_port(&scheme).ok_or_else(|| {
                fail("this scheme has no default port: write one (`host:5432`) or `:*`")
            })?),
        };
        let host = host_pattern(host).map_err(fail)?;
        Ok(Rule {
            scheme,
            host,
            port,
            text: text.to_string(),
        })
    }

    /// Whether the rule covers `scheme://host:port`, `host` as the guest wrote it.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if !self.scheme.eq_ignore_ascii_case(scheme) || self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.host, parse_ip(host)) {
            (HostPattern::Ip(ip), Some(addr)) => *ip == addr,
            (HostPattern::Name(name), None) => name.eq_ignore_ascii_case(host),
            (HostPattern::Wildcard(suffix), None) => {
                let host = host.to_ascii_lowercase();
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
            _ => false,
        }
    }

    /// Whether a match by this rule may reach `addr`, which the host resolved: internal
    /// addresses only through a rule that names the host exactly (name or literal).
    pub fn may_reach(&self, addr: IpAddr) -> bool {
        !is_internal(addr) || !matches!(self.host, HostPattern::Wildcard(_))
    }

    /// Whether the rule is reached over HTTP(S) (`wasi:http`) rather than a raw socket.
    pub fn is_http(&self) -> bool {
        self.scheme == "http" || self.scheme == "https"
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits `host[:port]`, with `[v6]` brackets; `None` when the port part is malformed.
fn split_host_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port))),
        Some(_) => None,
        None => Some((rest, None)),
    }
}

fn host_pattern(host: &str) -> Result<HostPattern, &'static str> {
    if let Some(ip) = parse_ip(host) {
        return Ok(HostPattern::Ip(ip));
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, host),
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        return Err(
            "the host must be a DNS name, `*.` and a DNS name, or an IP address (`*` alone grants everything and is not allowed)",
        );
    }
    let name = name.to_ascii_lowercase();
    Ok(if wildcard {
        HostPattern::Wildcard(name)
    } else {
        HostPattern::Name(name)
    })
}

/// An IP literal as a URL or socket address writes it (`[::1]` or `::1`).
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, multicast, broadcast,
/// documentation and benchmarking ranges, unique-local and site-local IPv6, and IPv4 mapped
/// into IPv6 as those: everything that is not the public internet.
pub fn is_internal(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 one carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::`). Each reaches that
/// IPv4 address, so each is judged as it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        _ => ip.to_ipv4(),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
}

/// A plugin's rules, in manifest order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    rules: Vec<Rule>,
}

impl AllowList {
    /// Parses every entry; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, RuleError> {
        let rules = entries
            .iter()
            .map(|e| Rule::parse(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowList { rules })
    }

    /// No grant at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule covering `scheme://host:port`.
    ///
    /// Exact rules (a name or an address) are asked before wildcards: an exact grant reaches
    /// internal addresses and a wildcard does not, so a wildcard listed first must not shadow
    /// it.
    pub fn find(&self, scheme: &str, host: &str, port: u16) -> Option<&Rule> {
        let wildcard = |r: &&Rule| matches!(r.host, HostPattern::Wildcard(_));
        let covers = |r: &&Rule| r.matches(scheme, host, port);
        self.rules
            .iter()
            .filter(|r| !wildcard(r))
            .find(covers)
            .or_else(|| self.rules.iter().filter(wildcard).find(covers))
    }

    /// Whether any rule is reached over a raw socket (so `wasi:sockets` TCP is needed).
    pub fn has_sockets(&self) -> bool {
        self.rules.iter().any(|r| !r.is_http())
    }

    /// Whether a socket rule names the host `name` (so the guest may resolve it).
    pub fn socket_names(&self, name: &str) -> bool {
        self.rules.iter().any(|r| {
            !r.is_http() && matches!(&r.host, HostPattern::Name(n) if n.eq_ignore_ascii_case(name))
        })
    }

    /// Whether a socket rule names a host (so the guest must resolve names).
    pub fn socket_names_any(&self) -> bool {
        self.rules
            .iter()
            .any(|r| !r.is_http() && matches!(r.host, HostPattern::Name(_)))
    }

    /// The first non-HTTP rule that covers a TCP connection to `addr:port`, given the names
    /// the host resolved for its rules (`resolved(name)` → that name's addresses).
    pub fn find_socket(
        &self,
        addr: IpAddr,
        port: u16,
        resolved: impl Fn(&str) -> Vec<IpAddr>,
    ) -> Option<&Rule> {
        self.rules.iter().filter(|r| !r.is_http()).find(|r| {
            r.port.is_none_or(|p| p == port)
                && match &r.host {
                    HostPattern::Ip(ip) => *ip == addr,
                    HostPattern::Name(name) => resolved(name).contains(&addr),
                    // A wildcard cannot be checked against an address (which name was it?):
                    // socket grants name their hosts.
                    HostPattern::Wildcard(_) => false,
                }
        })
    }
}

#[cfg(test)]
#[path = "allow_list_tests.rs"]
mod tests;
