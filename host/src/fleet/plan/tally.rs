//! Outcome counts: what hosts report for a build, and how a host's reports add up when its
//! process restarts under the same name.

use serde::{Deserialize, Serialize};

/// What one host counted for one build since that host started it (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub runs_completed: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl Tally {
    pub(super) fn plus(self, o: Tally) -> Tally {
        Tally {
            runs_completed: self.runs_completed + o.runs_completed,
            succeeded: self.succeeded + o.succeeded,
            failed: self.failed + o.failed,
        }
    }

    pub(super) fn minus(self, o: Tally) -> Tally {
        Tally {
            runs_completed: self.runs_completed.saturating_sub(o.runs_completed),
            succeeded: self.succeeded.saturating_sub(o.succeeded),
            failed: self.failed.saturating_sub(o.failed),
        }
    }
}

/// One host's counts for one build. Hosts report cumulative counts since their process
/// started; a report lower than the last one means the process restarted under the same name
/// (same pid in a restarted container), and what it counted before is carried, so the sum
/// never goes backwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostTally {
    /// The last report.
    pub raw: Tally,
    /// What earlier processes of this host counted.
    pub carried: Tally,
}

impl HostTally {
    pub(super) fn report(&mut self, t: Tally) {
        let restarted = t.runs_completed < self.raw.runs_completed
            || t.succeeded < self.raw.succeeded
            || t.failed < self.raw.failed;
        if restarted {
            self.carried = self.carried.plus(self.raw);
        }
        self.raw = t;
    }
}
