//! The ramp's judgement: from a ramping generation's [`Counts`], promote it, roll it back, or
//! wait. Pure, so every threshold is unit-tested; the rollout machine acts on the verdict.

use crate::outcomes::Counts;

/// Below this many counted tasks and activities a failure rate means little: one early
/// failure must not roll back a version that would have been fine.
pub(super) const MIN_SAMPLE: u64 = 5;

/// What to do with a ramping version.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// Not enough evidence yet.
    Wait,
    /// Enough completed runs at an acceptable failure rate: make it current.
    Promote,
    /// Too many failures: remove the ramp; the reason names the counts.
    RollBack(String),
}

/// Judges `counts` against the rollout's thresholds. Failures are checked first: a version
/// that completes runs but fails too often is still rolled back.
pub(super) fn judge(counts: Counts, promote_after: u64, max_failure_rate: f64) -> Verdict {
    let sample = counts.succeeded + counts.failed;
    let rate = counts.failure_rate();
    if sample >= MIN_SAMPLE && rate > max_failure_rate {
        return Verdict::RollBack(format!(
            "{} of {sample} workflow tasks and activities failed ({:.0}% > {:.0}% allowed)",
            counts.failed,
            rate * 100.0,
            max_failure_rate * 100.0
        ));
    }
    if counts.runs_completed >= promote_after {
        return Verdict::Promote;
    }
    Verdict::Wait
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(runs_completed: u64, succeeded: u64, failed: u64) -> Counts {
        Counts {
            runs_completed,
            succeeded,
            failed,
        }
    }

    #[test]
    fn waits_until_enough_runs_completed() {
        assert_eq!(judge(counts(0, 0, 0), 3, 0.1), Verdict::Wait);
        assert_eq!(judge(counts(2, 10, 0), 3, 0.1), Verdict::Wait);
        assert_eq!(judge(counts(3, 12, 0), 3, 0.1), Verdict::Promote);
    }

    #[test]
    fn rolls_back_above_the_rate_once_the_sample_is_big_enough() {
        // One failure in three is not yet a sample.
        assert_eq!(judge(counts(0, 2, 1), 3, 0.1), Verdict::Wait);
        match judge(counts(0, 3, 2), 3, 0.1) {
            Verdict::RollBack(reason) => {
                assert_eq!(
                    reason,
                    "2 of 5 workflow tasks and activities failed (40% > 10% allowed)"
                );
            }
            v => panic!("expected a rollback, got {v:?}"),
        }
    }

    #[test]
    fn failures_win_over_completed_runs() {
        assert!(matches!(
            judge(counts(10, 10, 10), 3, 0.1),
            Verdict::RollBack(_)
        ));
        // At the threshold exactly is still acceptable.
        assert_eq!(judge(counts(3, 9, 1), 3, 0.1), Verdict::Promote);
    }
}
