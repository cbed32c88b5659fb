//! How a build rolls out across the fleet: what a host sends the coordinator with every build it
//! reports, so the policy travels with the build (the coordinator uses the policy of the host
//! that reported the build first).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One step of a progressive rollout: the build gets `percent` of new runs for at least
/// `pause_ms`, and until enough runs completed on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Share of new workflow runs, 0 < percent < 100.
    pub percent: f32,
    /// Least time at this step before the next, in milliseconds.
    pub pause_ms: u64,
}

/// A workflow that must succeed on the new build, pinned to it, before any traffic moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// The workflow type to run.
    pub workflow: String,
    /// Its single argument, as JSON (`null` for none).
    pub input: serde_json::Value,
}

/// The rollout policy of a build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Ramp steps before the build becomes current; none: current at once.
    pub steps: Vec<Step>,
    /// Completed runs (summed over hosts) a step needs before the next one.
    pub min_runs: u64,
    /// Failure share (0..=1) of the build's workflow tasks and activities, summed over hosts,
    /// above which its ramp is rolled back.
    pub max_failure_rate: f64,
    /// Run before the first step.
    pub gate: Option<Gate>,
}

impl Policy {
    /// Current as soon as it is reported.
    pub fn immediate() -> Self {
        Policy {
            steps: Vec::new(),
            min_runs: 0,
            max_failure_rate: 1.0,
            gate: None,
        }
    }
}

/// Parses steps written `1%/2m, 10%/5m, 50%/10m`: a share of new runs and the least time at
/// it, as `humantime` durations.
pub fn parse_steps(text: &str) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (percent, pause) = part
            .split_once('/')
            .ok_or_else(|| format!("step `{part}`: expected PERCENT%/PAUSE, like `10%/5m`"))?;
        let percent = percent
            .trim()
            .strip_suffix('%')
            .ok_or_else(|| format!("step `{part}`: the share ends with `%`"))?
            .trim()
            .parse::<f32>()
            .map_err(|e| format!("step `{part}`: share: {e}"))?;
        if !(percent > 0.0 && percent < 100.0) {
            return Err(format!(
                "step `{part}`: the share must be above 0% and below 100% (100% is the promotion)"
            ));
        }
        if steps.last().is_some_and(|s| s.percent >= percent) {
            return Err(format!("step `{part}`: shares must grow from step to step"));
        }
        let pause: Duration = humantime::parse_duration(pause.trim())
            .map_err(|e| format!("step `{part}`: pause: {e}"))?;
        steps.push(Step {
            percent,
            pause_ms: u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
        });
    }
    if steps.is_empty() {
        return Err("no steps: expected steps like `1%/2m, 10%/5m`".into());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_with_their_pauses() {
        let steps = parse_steps("1%/2m, 10%/5m,50% / 10s").expect("steps");
        assert_eq!(
            steps,
            vec![
                Step {
                    percent: 1.0,
                    pause_ms: 120_000
                },
                Step {
                    percent: 10.0,
                    pause_ms: 300_000
                },
                Step {
                    percent: 50.0,
                    pause_ms: 10_000
                },
            ]
        );
    }

    #[test]
    fn bad_steps_say_which_and_why() {
        for (text, says) in [
            ("", "no steps"),
            ("10%", "expected PERCENT%/PAUSE"),
            ("10/5m", "ends with `%`"),
            ("0%/1m", "above 0%"),
            ("100%/1m", "below 100%"),
            ("10%/5m, 5%/1m", "must grow"),
            ("10%/soon", "pause"),
        ] {
            let e = parse_steps(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
