//! The rollout machine's vocabulary: the [`Event`]s it takes, the [`Action`]s it returns, and
//! the clock reading it is given.

use super::report::{Report, StopReason};
use crate::outcomes::Counts;
use std::time::Instant;

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// The plugins folder loaded as `build_id` (the executor holds the prepared set);
    /// `refused` names the files that did not load. A reload with refused files changes
    /// nothing; the first load starts with what loaded.
    Loaded {
        build_id: String,
        refused: Vec<String>,
    },
    /// The plugins folder could not be loaded at all; nothing changes.
    Refused { errors: Vec<String> },
    /// The pending generation is polling.
    Started,
    /// The pending generation could not start.
    StartFailed { error: String },
    /// The server accepted the pending routing change.
    Accepted,
    /// The server refused the pending routing change as unsupported (no worker deployments,
    /// a failed precondition, no permission).
    Unsupported { reason: String },
    /// The routing call failed (unavailable, timed out, shutdown).
    RoutingFailed { error: String },
    /// The periodic check; `ramp` is the ramping generation's outcomes so far.
    Tick { ramp: Option<Counts> },
    /// The server's drainage answer for a draining build.
    DrainReport { build_id: String, drained: bool },
    /// The operator asks to try rolled-back files again (SIGHUP).
    Retry,
    /// Fleet rollouts: the coordinator's routing, read at a tick.
    Fleet(FleetView),
}

/// What the fleet's coordinator says of builds, as far as a host needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FleetView {
    pub current: Option<String>,
    pub ramping: Option<(String, f32)>,
    /// Builds the coordinator will not route to (superseded, stale, rolled back): they drain.
    pub retired: Vec<String>,
}

/// What the executor must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Start a generation for the loaded set `build_id`.
    Start { build_id: String },
    /// Ask the server for a routing change.
    Route(Change),
    /// Ask the server whether `build_id`'s version is drained.
    CheckDrained { build_id: String },
    /// Stop `build_id`'s generation (gracefully: in-flight tasks finish).
    Stop { build_id: String, why: StopReason },
    /// Log and count what became of a reload or a ramp decision.
    Report(Report),
    /// Watch the change the server just accepted reach every task-queue partition.
    TrackPropagation {
        change: &'static str,
        build_id: String,
    },
    /// Render `/status` and the build-info gauge from [`Machine`]'s state.
    Publish,
    /// The first generation could not go live: the host cannot start.
    Fail { error: String },
}

/// A routing change on the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// Make the build the current version (this also ends a ramp to it).
    Current { build_id: String },
    /// Make the build the ramping version at `percent` of new runs.
    Ramp { build_id: String, percent: f32 },
    /// Remove the ramp: every new run goes to the current version.
    Unramp,
    /// Fleet rollouts: report the polling build to the coordinator, which decides.
    Announce { build_id: String },
}

/// Whether the server routes by worker deployment version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routing {
    /// Not known until the first generation's routing answer.
    Unknown,
    /// Versions are routed: swaps make versions current, old ones drain.
    Versioned,
    /// No worker deployments: a new generation replaces the old one in place.
    Unversioned,
}

/// A build no longer current that still polls for its pinned runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draining {
    pub build_id: String,
    pub since: Instant,
}

/// Current time, as the machine needs it: an instant for durations, Unix seconds for
/// `/status`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub instant: Instant,
    pub unix: u64,
}

impl Now {
    /// The real clock.
    pub(crate) fn real() -> Self {
        Now {
            instant: Instant::now(),
            unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}
