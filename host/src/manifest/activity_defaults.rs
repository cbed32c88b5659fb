//! `[activity_defaults."<interface>"]` in a WIT-typed workflow plugin's manifest: the options
//! every call of that imported interface's activities gets unless the call's own
//! `next-call-options` sets the field. Timeouts and retries belong to the deployment, not the
//! code: an operator changes them here without a rebuild (the manifest is part of the build
//! ID, so it rolls out like code).
//!
//! ```toml
//! [activity_defaults."example:hello-activity/orders"]
//! start_to_close = "30s"
//! max_attempts = 3
//! initial_interval = "2s"
//! non_retryable_error_types = ["PluginError"]
//! task_queue = "orders"
//! ```

use super::{ManifestError, invalid};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Options of an activity call: a manifest's defaults for one imported interface, or a
/// call's own (`next-call-options`); `None`: not set here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityOptions {
    /// Task queue of the activities.
    pub task_queue: Option<String>,
    /// Start-to-close timeout.
    pub start_to_close: Option<Duration>,
    /// Schedule-to-close timeout.
    pub schedule_to_close: Option<Duration>,
    /// Heartbeat timeout.
    pub heartbeat: Option<Duration>,
    /// Attempts in all (0: unlimited).
    pub max_attempts: Option<u32>,
    /// First retry delay.
    pub initial_interval: Option<Duration>,
    /// Application error types never retried.
    pub non_retryable_error_types: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    task_queue: Option<String>,
    start_to_close: Option<String>,
    schedule_to_close: Option<String>,
    heartbeat: Option<String>,
    max_attempts: Option<u32>,
    initial_interval: Option<String>,
    #[serde(default)]
    non_retryable_error_types: Vec<String>,
}

/// Validates every interface's defaults; the error names the interface and the setting.
pub(super) fn parse(
    raw: BTreeMap<String, RawDefaults>,
) -> Result<BTreeMap<String, ActivityOptions>, ManifestError> {
    raw.into_iter()
        .map(|(interface, r)| {
            if !interface.contains(':') || !interface.contains('/') {
                return Err(invalid(
                    format!("activity_defaults.{interface:?}"),
                    "must name an imported interface as `package:name/interface` (e.g. \"example:hello-activity/orders\")",
                ));
            }
            let duration = |key: &str, value: Option<String>| {
                value
                    .map(|v| {
                        let setting = format!("activity_defaults.{interface:?}.{key} = {v:?}");
                        match humantime::parse_duration(&v) {
                            Ok(d) if !d.is_zero() => Ok(d),
                            Ok(_) => Err(invalid(setting, "must be more than zero")),
                            Err(e) => Err(invalid(setting, e.to_string())),
                        }
                    })
                    .transpose()
            };
            if r.task_queue.as_deref() == Some("") {
                return Err(invalid(
                    format!("activity_defaults.{interface:?}.task_queue = \"\""),
                    "must not be empty (leave it out for the workflow's own queue)",
                ));
            }
            let defaults = ActivityOptions {
                start_to_close: duration("start_to_close", r.start_to_close)?,
                schedule_to_close: duration("schedule_to_close", r.schedule_to_close)?,
                heartbeat: duration("heartbeat", r.heartbeat)?,
                initial_interval: duration("initial_interval", r.initial_interval)?,
                task_queue: r.task_queue,
                max_attempts: r.max_attempts,
                non_retryable_error_types: r.non_retryable_error_types,
            };
            Ok((interface, defaults))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Manifest;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn defaults_are_read_per_interface_and_bad_values_are_named() {
        let m = Manifest::parse(
            "max_cached_runs = 50\n[activity_defaults.\"example:hello-activity/orders\"]\nstart_to_close = \"30s\"\nmax_attempts = 1\nnon_retryable_error_types = [\"PluginError\"]\n",
            Path::new("/"),
        )
        .expect("parse");
        assert_eq!(m.max_cached_runs, Some(50));
        let d = &m.activity_defaults["example:hello-activity/orders"];
        assert_eq!(d.start_to_close, Some(Duration::from_secs(30)));
        assert_eq!(d.max_attempts, Some(1));
        assert_eq!(d.non_retryable_error_types, ["PluginError"]);
        assert_eq!(d.task_queue, None);

        let e = Manifest::parse(
            "[activity_defaults.\"example:hello-activity/orders\"]\nheartbeat = \"soon\"\n",
            Path::new("/"),
        )
        .expect_err("bad duration")
        .to_string();
        assert!(
            e.starts_with(
                "activity_defaults.\"example:hello-activity/orders\".heartbeat = \"soon\": "
            ),
            "{e}"
        );
        let e = Manifest::parse(
            "[activity_defaults.orders]\nmax_attempts = 1\n",
            Path::new("/"),
        )
        .expect_err("not an interface name")
        .to_string();
        assert!(e.contains("must name an imported interface"), "{e}");
        let e = Manifest::parse("max_cached_runs = 0\n", Path::new("/"))
            .expect_err("zero")
            .to_string();
        assert!(
            e.starts_with("max_cached_runs = 0: must be at least 1"),
            "{e}"
        );
    }
}
