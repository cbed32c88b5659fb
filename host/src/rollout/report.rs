//! What became of a reload or a ramp decision ([`Report`]), as the rollout machine says it, and
//! the `wasm_worker_swaps_total{result}` label each counts under ([`SwapResult`]).

use std::time::Duration;

/// A reload's or a ramp decision's outcome, with what the log needs to say why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Report {
    /// `to` is current; `from` (none for the first generation) drains or was replaced.
    Current { from: Option<String>, to: String },
    /// The ramping build was promoted to current.
    Promoted { from: String, to: String },
    /// `build_id` ramps at `percent` of new runs.
    Ramping { build_id: String, percent: f32 },
    /// The folder went back to the current build's files: the ramp of `ramp` ended.
    Reverted { ramp: String },
    /// The ramp of `build_id` was rolled back.
    RolledBack { build_id: String, reason: String },
    /// The folder changed but its contents did not (or match the build still ramping).
    Unchanged { build_id: String, ramping: bool },
    /// Files were refused; the current build keeps serving.
    Invalid { errors: Vec<String> },
    /// These files were rolled back earlier and are not ramped again.
    RolledBackBefore { build_id: String },
    /// The new generation could not start; the current one keeps serving.
    StartFailed { build_id: String, error: String },
    /// The server refused or failed the routing change; the current build keeps serving.
    RouteFailed { build_id: String, error: String },
    /// Promotion was refused or failed; the build keeps ramping and is judged again.
    PromotionDeferred { build_id: String, error: String },
    /// Removing a ramp failed: the server may still send the build new runs.
    UnrampFailed { build_id: String, error: String },
    /// The server has no worker deployments: routing is unversioned, pinning is off.
    Unversioned { reason: String },
    /// Fleet rollouts: the build polls and was reported to the coordinator, which decides.
    Announced { build_id: String },
    /// Fleet rollouts: the coordinator's routing as this host's builds see it.
    FleetRouting {
        current: Option<String>,
        ramping: Option<(String, f32)>,
    },
    /// An event that answers no change in flight: a bug in the executor.
    Unexpected { event: &'static str },
}

/// The result label of `wasm_worker_swaps_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SwapResult {
    /// A new build is current.
    Ok,
    /// A ramping build became current.
    Promoted,
    /// A new build ramps.
    Ramping,
    /// A ramp ended because the files went back to the current build's.
    Reverted,
    /// A ramp was rolled back.
    RolledBack,
    /// Nothing to do: same contents.
    Unchanged,
    /// Invalid files, or files rolled back before.
    Refused,
    /// Starting or routing the new build failed.
    Failed,
}

impl SwapResult {
    /// Every result: each series is created at start (at 0), so a dashboard sees it before
    /// the first swap of its kind.
    pub(crate) const ALL: [SwapResult; 8] = [
        SwapResult::Ok,
        SwapResult::Promoted,
        SwapResult::Ramping,
        SwapResult::Reverted,
        SwapResult::RolledBack,
        SwapResult::Unchanged,
        SwapResult::Refused,
        SwapResult::Failed,
    ];

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            SwapResult::Ok => "ok",
            SwapResult::Promoted => "promoted",
            SwapResult::Ramping => "ramping",
            SwapResult::Reverted => "reverted",
            SwapResult::RolledBack => "rolled_back",
            SwapResult::Unchanged => "unchanged",
            SwapResult::Refused => "refused",
            SwapResult::Failed => "failed",
        }
    }
}

impl Report {
    /// What it counts as; `None` for what is not a swap (the first generation, a deferred
    /// promotion, a failed unramp, a note).
    pub(crate) fn result(&self) -> Option<SwapResult> {
        Some(match self {
            Report::Current { from: Some(_), .. } => SwapResult::Ok,
            Report::Promoted { .. } => SwapResult::Promoted,
            Report::Ramping { .. } => SwapResult::Ramping,
            Report::Reverted { .. } => SwapResult::Reverted,
            Report::RolledBack { .. } => SwapResult::RolledBack,
            Report::Unchanged { .. } => SwapResult::Unchanged,
            Report::Invalid { .. } | Report::RolledBackBefore { .. } => SwapResult::Refused,
            Report::StartFailed { .. } | Report::RouteFailed { .. } => SwapResult::Failed,
            Report::Current { from: None, .. }
            | Report::PromotionDeferred { .. }
            | Report::UnrampFailed { .. }
            | Report::Unversioned { .. }
            | Report::Announced { .. }
            | Report::FleetRouting { .. }
            | Report::Unexpected { .. } => return None,
        })
    }

    /// Whether a detected change reached the server's routing (for the swap-latency histogram).
    pub(crate) fn went_live(&self) -> bool {
        matches!(self.result(), Some(SwapResult::Ok | SwapResult::Ramping))
    }

    /// Writes the log line; `phases` says where a swap's time went.
    pub(crate) fn log(&self, phases: Option<Phases>) {
        match self {
            Report::Current { from: None, to } => {
                tracing::info!(build_id = %to, "first plugin set is current");
            }
            Report::Current {
                from: Some(from),
                to,
            } => match phases {
                Some(p) => tracing::info!(
                    %from,
                    %to,
                    swap_ms = p.swap_ms,
                    load_ms = p.load_ms,
                    start_ms = p.start_ms,
                    route_ms = p.route_ms,
                    "new plugin set is current"
                ),
                None => tracing::info!(%from, %to, "new plugin set is current"),
            },
            Report::Promoted { from, to } => {
                tracing::info!(%from, %to, "ramping version promoted to current");
            }
            Report::Ramping { build_id, percent } => {
                let swap_ms = phases.map(|p| p.swap_ms);
                tracing::info!(%build_id, percent, swap_ms, "new plugin set is ramping");
            }
            Report::Reverted { ramp } => {
                tracing::warn!(build_id = %ramp, "plugins folder reverted to the current build: ending the ramp");
            }
            Report::RolledBack { build_id, reason } => {
                tracing::error!(%build_id, %reason, "rolling back the ramping version");
            }
            Report::Unchanged { build_id, ramping } => {
                tracing::info!(%build_id, still_ramping = ramping, "plugins folder changed, contents did not");
            }
            Report::Invalid { errors } => {
                tracing::error!(errors = %errors.join("; "), "plugins folder changed but is not valid; keeping the current plugins");
            }
            Report::RolledBackBefore { build_id } => {
                tracing::error!(%build_id, "these plugin files were rolled back earlier; not ramping them again (publish a fix, or restart to retry)");
            }
            Report::StartFailed { build_id, error } => {
                tracing::error!(%build_id, %error, "starting the new generation failed; keeping the current one");
            }
            Report::RouteFailed { build_id, error } => {
                tracing::error!(%build_id, %error, "the server did not route to the new version; keeping the current one");
            }
            Report::PromotionDeferred { build_id, error } => {
                tracing::error!(%build_id, %error, "promoting the ramping version failed; will retry");
            }
            Report::UnrampFailed { build_id, error } => {
                tracing::error!(%build_id, %error, "removing the ramp failed; the server may still send it new runs");
            }
            Report::Unversioned { reason } => {
                tracing::error!(%reason, "the server does not support worker deployments: tasks are routed without versioning and pinned semantics are OFF");
            }
            Report::Announced { build_id } => {
                tracing::info!(%build_id, "new plugin set polls; reported to the rollout coordinator, which decides its routing");
            }
            Report::FleetRouting { current, ramping } => {
                tracing::info!(
                    current = current.as_deref().unwrap_or("-"),
                    ramping = ramping
                        .as_ref()
                        .map_or("-".to_string(), |(b, p)| format!("{b} at {p}%")),
                    "the rollout coordinator's routing reached this host's builds"
                );
            }
            Report::Unexpected { event } => {
                tracing::error!(
                    event,
                    "rollout: an event that answers no change in flight (a bug); ignored"
                );
            }
        }
    }
}

/// Where a swap's time went: loading (read, validate, compile), starting the worker, and the
/// server's part (version registration, routing change). Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Phases {
    /// Change detected → routed.
    pub swap_ms: u64,
    /// Detected → loaded.
    pub load_ms: u64,
    /// Loaded → polling (0 for a revived build).
    pub start_ms: u64,
    /// Polling → routed.
    pub route_ms: u64,
}

/// Why a generation stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StopReason {
    /// A new generation whose routing change failed: nothing was ever routed to it.
    Abandoned,
    /// Replaced by a new generation on a server without worker deployments.
    ReplacedInPlace,
    /// The server reports its version drained, `after` it stopped being current.
    Drained { after: Duration },
    /// The drain limit passed.
    DrainLimit { after: Duration },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_snake_case() {
        let labels: std::collections::BTreeSet<&str> =
            SwapResult::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), SwapResult::ALL.len());
        assert!(
            labels
                .iter()
                .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn the_first_generation_is_not_a_swap() {
        let first = Report::Current {
            from: None,
            to: "b1".into(),
        };
        assert_eq!(first.result(), None);
        let swap = Report::Current {
            from: Some("b1".into()),
            to: "b2".into(),
        };
        assert_eq!(swap.result(), Some(SwapResult::Ok));
        assert!(swap.went_live());
        assert!(
            !Report::Unchanged {
                build_id: "b1".into(),
                ramping: false
            }
            .went_live()
        );
    }
}
