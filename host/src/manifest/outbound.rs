//! The manifest's network grants: `allowed_outbound_hosts` (see [`crate::allow_list`]), the
//! extra certificate authorities HTTPS trusts, the `[outbound]` limits, and `env_from_host`,
//! the names of secrets the host hands the plugin.
//!
//! ```toml
//! allowed_outbound_hosts = ["https://api.example.com", "postgres://db.internal:5432"]
//! ca_files = ["certs/internal-ca.pem"]   # PEM, relative to the plugins folder
//! env_from_host = ["APEX_API_TOKEN"]     # values from the host's environment or --secrets-file
//!
//! [outbound]
//! max_concurrent_requests = 16           # default 16, at most 256
//! connect_timeout = "10s"                # default 10s, at most 1m
//! first_byte_timeout = "1m"              # default 1m, at most 10m
//! max_response_mib = 16                  # default 16, at most 1024
//! ```

use super::{HOST_MAX_CALL_TIME, ManifestError, invalid};
use crate::allow_list::AllowList;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest a connection may take to open (TCP and TLS handshakes).
pub(super) const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Most requests one plugin may have in flight, all its attempts together.
pub(super) const MAX_CONCURRENT_REQUESTS: usize = 256;
/// Largest response body a plugin may be sent.
pub(super) const MAX_RESPONSE_MIB: u64 = 1024;

/// What `[outbound]` may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    max_concurrent_requests: Option<usize>,
    connect_timeout: Option<String>,
    first_byte_timeout: Option<String>,
    max_response_mib: Option<u64>,
}

/// Bounds on one plugin's outbound traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Requests in flight at once, over all of the plugin's attempts.
    pub max_concurrent_requests: usize,
    /// Opening a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// From the request sent to the response's first byte.
    pub first_byte_timeout: Duration,
    /// Largest response body, bytes.
    pub max_response_bytes: u64,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        OutboundLimits {
            max_concurrent_requests: 16,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            max_response_bytes: 16 << 20,
        }
    }
}

/// A plugin's network grants, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbound {
    /// Where it may connect; empty: nowhere.
    pub allow: AllowList,
    /// PEM files of extra certificate authorities for HTTPS, resolved.
    pub ca_files: Vec<PathBuf>,
    /// Its limits.
    pub limits: OutboundLimits,
}

impl Outbound {
    /// Validates the raw fields; relative CA paths are resolved against `plugins_dir`.
    pub(super) fn parse(
        hosts: &[String],
        ca_files: Vec<PathBuf>,
        raw: Option<RawLimits>,
        plugins_dir: &Path,
    ) -> Result<Outbound, ManifestError> {
        let allow = AllowList::parse(hosts).map_err(|e| {
            invalid(
                format!("allowed_outbound_hosts entry {:?}", e.text),
                e.reason,
            )
        })?;
        let ca_files = ca_files
            .into_iter()
            .map(|f| {
                let path = if f.is_absolute() {
                    f.clone()
                } else {
                    plugins_dir.join(&f)
                };
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(invalid(
                        format!("ca_files entry {f:?}"),
                        format!("no such file ({})", path.display()),
                    ))
                }
            })
            .collect::<Result<_, _>>()?;
        let mut limits = OutboundLimits::default();
        let raw = raw.unwrap_or_default();
        if let Some(n) = raw.max_concurrent_requests {
            if n == 0 || n > MAX_CONCURRENT_REQUESTS {
                return Err(invalid(
                    format!("outbound.max_concurrent_requests = {n}"),
                    format!("must be between 1 and {MAX_CONCURRENT_REQUESTS}"),
                ));
            }
            limits.max_concurrent_requests = n;
        }
        let duration = |key: &str, text: &str, max: Duration| {
            let setting = format!("outbound.{key} = {text:?}");
            let d =
                humantime::parse_duration(text).map_err(|e| invalid(&setting, e.to_string()))?;
            if d.is_zero() || d > max {
                return Err(invalid(
                    setting,
                    format!("must be above 0 and at most {max:?}"),
                ));
            }
            Ok(d)
        };
        if let Some(t) = raw.connect_timeout {
            limits.connect_timeout = duration("connect_timeout", &t, MAX_CONNECT_TIMEOUT)?;
        }
        if let Some(t) = raw.first_byte_timeout {
            limits.first_byte_timeout = duration("first_byte_timeout", &t, HOST_MAX_CALL_TIME)?;
        }
        if let Some(mib) = raw.max_response_mib {
            if mib == 0 || mib > MAX_RESPONSE_MIB {
                return Err(invalid(
                    format!("outbound.max_response_mib = {mib}"),
                    format!("must be between 1 and {MAX_RESPONSE_MIB}"),
                ));
            }
            limits.max_response_bytes = mib << 20;
        }
        Ok(Outbound {
            allow,
            ca_files,
            limits,
        })
    }
}

/// Checks an environment variable name (for `env` and `env_from_host`): what a process
/// environment cannot hold is refused rather than mangled.
pub(super) fn env_name(field: &str, name: &str) -> Result<(), ManifestError> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(invalid(
            format!("{field} {name:?}"),
            "an environment variable name must be non-empty, without `=` or NUL",
        ));
    }
    Ok(())
}
