//! How a new plugin set goes live (`--rollout`), and what a host in a fleet sends the
//! coordinator of it.

/// How a new plugin set goes live.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutPolicy {
    /// Its version becomes current at once.
    Immediate,
    /// Its version ramps first: it gets `percent` of new runs, becomes current after
    /// `promote_after` completed runs, and is rolled back when more than `max_failure_rate` of
    /// its workflow tasks and activities fail.
    Ramp {
        /// Share of new workflow runs, 0 < percent < 100.
        percent: f32,
        /// Completed runs on the ramping version before promotion.
        promote_after: u64,
        /// Failure share (0..=1) that triggers a rollback.
        max_failure_rate: f64,
    },
    /// Fleet rollouts only: the coordinator ramps the version through `steps`, each held for
    /// its pause and until `promote_after` runs completed in it (summed over hosts), then makes
    /// it current; rolled back when more than `max_failure_rate` of its tasks fail.
    Progressive {
        steps: Vec<crate::fleet::policy::Step>,
        promote_after: u64,
        max_failure_rate: f64,
    },
    /// Routing is set outside (Temporal's Worker Controller, a CD pipeline running `temporal
    /// worker deployment set-current-version`): the host polls under exactly `--build-id`,
    /// never changes the deployment's routing, and refuses new files (a new build is a new
    /// host with a new `--build-id`).
    Manual,
}

impl RolloutPolicy {
    /// The policy a host sends the coordinator with each build (a one-step ramp is the
    /// progressive rollout with a single step and no pause).
    pub fn fleet_policy(
        &self,
        gate: Option<crate::fleet::policy::Gate>,
    ) -> crate::fleet::policy::Policy {
        use crate::fleet::policy::{Policy, Step};
        let (steps, min_runs, max_failure_rate) = match self {
            RolloutPolicy::Immediate | RolloutPolicy::Manual => (Vec::new(), 0, 1.0),
            RolloutPolicy::Ramp {
                percent,
                promote_after,
                max_failure_rate,
            } => (
                vec![Step {
                    percent: *percent,
                    pause_ms: 0,
                }],
                *promote_after,
                *max_failure_rate,
            ),
            RolloutPolicy::Progressive {
                steps,
                promote_after,
                max_failure_rate,
            } => (steps.clone(), *promote_after, *max_failure_rate),
        };
        Policy {
            steps,
            min_runs,
            max_failure_rate,
            gate,
        }
    }
}

impl Eq for RolloutPolicy {}
