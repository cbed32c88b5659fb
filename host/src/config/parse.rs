//! Parsers from a setting's raw text to its typed value, each with an error a user can act on.

use super::ConfigError;
use super::sources::Raw;
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// A non-empty string without surrounding whitespace.
pub(super) fn name(raw: &Raw) -> Result<String, ConfigError> {
    let v = raw.value.trim();
    if v.is_empty() {
        return Err(raw.invalid("must not be empty"));
    }
    if v != raw.value {
        return Err(raw.invalid("must not start or end with whitespace"));
    }
    Ok(v.to_string())
}

/// A build ID: a name that also fits Temporal's limits and contains no whitespace.
pub(super) fn build_id(raw: &Raw) -> Result<String, ConfigError> {
    let v = name(raw)?;
    if v.chars().any(char::is_whitespace) {
        return Err(raw.invalid("must not contain whitespace"));
    }
    if v.len() > 200 {
        return Err(raw.invalid(
            "must be at most 200 bytes (Temporal's limit is 255, and a content hash is appended)",
        ));
    }
    Ok(v)
}

/// `host:port` or a URL with scheme `http`/`https`; the port is required.
pub(super) fn address(raw: &Raw) -> Result<Url, ConfigError> {
    let v = raw.value.trim();
    let with_scheme = if v.contains("://") {
        v.to_string()
    } else {
        format!("http://{v}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| raw.invalid(format!("not an address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(raw.invalid(format!("scheme `{}` is not http or https", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(raw.invalid("has no host"));
    }
    if url.port().is_none() {
        return Err(raw.invalid("has no port (expected host:port, e.g. localhost:7233)"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(raw.invalid("must be host:port without a path"));
    }
    Ok(url)
}

/// A TCP port; 0 asks the OS for a free one.
pub(super) fn port(raw: &Raw) -> Result<u16, ConfigError> {
    raw.value
        .trim()
        .parse::<u16>()
        .map_err(|e| raw.invalid(format!("not a port number 0-65535: {e}")))
}

/// An IP address to bind to.
pub(super) fn ip(raw: &Raw) -> Result<IpAddr, ConfigError> {
    raw.value
        .trim()
        .parse()
        .map_err(|e| raw.invalid(format!("not an IP address: {e}")))
}

/// A count of at least `min`.
pub(super) fn count(raw: &Raw, min: usize) -> Result<usize, ConfigError> {
    let n = raw
        .value
        .trim()
        .parse::<usize>()
        .map_err(|e| raw.invalid(format!("not a whole number: {e}")))?;
    if n < min {
        return Err(raw.invalid(format!("must be at least {min}")));
    }
    Ok(n)
}

/// A human duration such as `30s`, `1m 30s` or `250ms`.
pub(super) fn duration(raw: &Raw) -> Result<Duration, ConfigError> {
    humantime::parse_duration(raw.value.trim())
        .map_err(|e| raw.invalid(format!("not a duration like 30s or 5m: {e}")))
}

/// A duration, or `forever`/`none` for no limit.
pub(super) fn limit(raw: &Raw) -> Result<Option<Duration>, ConfigError> {
    match raw.value.trim() {
        "forever" | "none" => Ok(None),
        _ => duration(raw).map(Some),
    }
}

/// `true`/`false` and the usual spellings.
pub(super) fn boolean(raw: &Raw) -> Result<bool, ConfigError> {
    match raw.value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(raw.invalid("not a boolean (true or false)")),
    }
}

/// A `tracing` filter: a level or directives such as `info,wasm_worker=debug`.
pub(super) fn log_filter(raw: &Raw) -> Result<String, ConfigError> {
    let v = raw.value.trim();
    tracing_subscriber::EnvFilter::builder()
        .parse(v)
        .map_err(|e| raw.invalid(format!("not a log filter: {e}")))?;
    Ok(v.to_string())
}

/// A file that must exist and be readable now, so a typo fails at start, not at connect.
pub(super) fn readable_file(raw: &Raw) -> Result<std::path::PathBuf, ConfigError> {
    let path = std::path::PathBuf::from(raw.value.trim());
    std::fs::File::open(&path).map_err(|e| raw.invalid(format!("cannot read file: {e}")))?;
    Ok(path)
}

/// The compile-cache folder: `off` disables it; a leading `~/` is the home folder (so the
/// default works for any user). Without `HOME`, the default quietly means no cache (it only
/// saves time; services often run without `HOME`), while a `~/` the user wrote is an error.
pub(super) fn cache_dir(raw: &Raw) -> Result<Option<std::path::PathBuf>, ConfigError> {
    let v = raw.value.trim();
    if v.is_empty() {
        return Err(raw.invalid("must be a folder or `off`"));
    }
    if v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match v.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) if !home.is_empty() => Ok(Some(std::path::PathBuf::from(home).join(rest))),
            _ if matches!(raw.origin, super::sources::Origin::Default(_)) => Ok(None),
            _ => Err(raw.invalid("starts with `~/` but HOME is not set; give an absolute folder")),
        },
        None => Ok(Some(std::path::PathBuf::from(v))),
    }
}

/// `pinned` or `auto-upgrade` (also `auto_upgrade`, any case).
pub(super) fn versioning(raw: &Raw) -> Result<super::Versioning, ConfigError> {
    super::Versioning::parse(raw.value.trim())
        .ok_or_else(|| raw.invalid("must be `pinned` or `auto-upgrade`"))
}

/// `immediate`, `ramp:N%` or `progressive:STEPS`, with the promotion count and failure
/// threshold that go with them.
pub(super) fn rollout(
    raw: &Raw,
    promote_after: &Raw,
    max_failure_rate: &Raw,
) -> Result<super::RolloutPolicy, ConfigError> {
    let v = raw.value.trim();
    if v == "immediate" {
        return Ok(super::RolloutPolicy::Immediate);
    }
    if v == "manual" {
        return Ok(super::RolloutPolicy::Manual);
    }
    let thresholds = || -> Result<(u64, f64), ConfigError> {
        let promote = count(promote_after, 1)?;
        let rate: f64 = max_failure_rate.value.trim().parse().map_err(|_| {
            max_failure_rate.invalid("must be a fraction between 0 and 1, e.g. 0.1")
        })?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(max_failure_rate.invalid("must be a fraction between 0 and 1, e.g. 0.1"));
        }
        Ok((promote as u64, rate))
    };
    if let Some(steps) = v.strip_prefix("progressive:") {
        let steps = crate::fleet::policy::parse_steps(steps).map_err(|e| raw.invalid(e))?;
        let (promote_after, max_failure_rate) = thresholds()?;
        return Ok(super::RolloutPolicy::Progressive {
            steps,
            promote_after,
            max_failure_rate,
        });
    }
    let Some(percent) = v.strip_prefix("ramp:") else {
        return Err(raw.invalid(
            "must be `immediate`, `manual`, `ramp:N%` (e.g. ramp:10%) or `progressive:STEPS` (e.g. progressive:1%/2m,10%/5m)",
        ));
    };
    let percent: f32 = percent
        .trim_end_matches('%')
        .parse()
        .map_err(|_| raw.invalid("the ramp must be a percentage, e.g. ramp:10%"))?;
    if !(percent > 0.0 && percent < 100.0) {
        return Err(raw.invalid("the ramp must be above 0% and below 100%"));
    }
    let (promote_after, max_failure_rate) = thresholds()?;
    Ok(super::RolloutPolicy::Ramp {
        percent,
        promote_after,
        max_failure_rate,
    })
}

/// A gate workflow's type and its JSON input; fleet rollouts only.
pub(super) fn gate(
    workflow: &Raw,
    input: &Raw,
    fleet: bool,
) -> Result<crate::fleet::policy::Gate, ConfigError> {
    let name = name(workflow)?;
    if !fleet {
        return Err(
            workflow.invalid("a gate runs in the fleet's coordinator: also set fleet = true")
        );
    }
    let input = serde_json::from_str(input.value.trim())
        .map_err(|e| input.invalid(format!("not JSON: {e}")))?;
    Ok(crate::fleet::policy::Gate {
        workflow: name,
        input,
    })
}

/// A memory size with a binary unit (`512MiB`, `2GiB`), or `auto`: a quarter of the memory
/// this process may use (the machine's, or its cgroup's limit when lower), at least 256 MiB.
pub(super) fn memory_budget(raw: &Raw) -> Result<u64, ConfigError> {
    const MIB: u64 = 1 << 20;
    let v = raw.value.trim();
    if v.eq_ignore_ascii_case("auto") {
        return Ok((super::machine::usable_memory() / 4).max(256 * MIB));
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let scale = match unit.trim() {
        "KiB" => 1 << 10,
        "MiB" => MIB,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return Err(raw.invalid("not a size like 512MiB or 2GiB (or auto)")),
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| raw.invalid("not a size like 512MiB or 2GiB (or auto)"))?;
    if bytes < 16 * MIB {
        return Err(raw.invalid("must be at least 16MiB"));
    }
    Ok(bytes)
}
