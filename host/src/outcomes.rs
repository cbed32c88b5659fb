//! What one generation's work came to — completed runs, workflow tasks and activities that
//! succeeded or failed — counted where they happen, read by the ramp to decide whether a new
//! version is promoted or rolled back.
//!
//! Counts are per generation (per build ID), not per host: a ramp judges the new code only.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters, shared by a generation's workflow and activity loops.
#[derive(Debug, Default)]
pub struct Outcomes {
    runs_completed: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// A reading of [`Outcomes`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Workflow runs that completed successfully.
    pub runs_completed: u64,
    /// Workflow tasks and activity attempts that succeeded.
    pub succeeded: u64,
    /// Workflow tasks that failed, runs that failed, activity attempts that failed.
    pub failed: u64,
}

impl Counts {
    /// Failed share of everything counted; 0 when nothing was.
    pub fn failure_rate(&self) -> f64 {
        let total = self.succeeded + self.failed;
        if total == 0 {
            0.0
        } else {
            self.failed as f64 / total as f64
        }
    }
}

impl Outcomes {
    /// A workflow task completed; `run_completed` when it completed the run.
    pub fn task_succeeded(&self, run_completed: bool) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if run_completed {
            self.runs_completed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An activity attempt succeeded.
    pub fn activity_succeeded(&self) {
        self.succeeded.fetch_add(1, Ordering::Relaxed);
    }

    /// A workflow task, a run or an activity attempt failed.
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts now.
    pub fn read(&self) -> Counts {
        Counts {
            runs_completed: self.runs_completed.load(Ordering::Relaxed),
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rate() {
        let o = Outcomes::default();
        assert_eq!(o.read().failure_rate(), 0.0);
        o.task_succeeded(false);
        o.task_succeeded(true);
        o.activity_succeeded();
        o.failed();
        let c = o.read();
        assert_eq!(
            c,
            Counts {
                runs_completed: 1,
                succeeded: 3,
                failed: 1
            }
        );
        assert!((c.failure_rate() - 0.25).abs() < 1e-9);
    }
}
