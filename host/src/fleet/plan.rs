//! The fleet's rollout decisions as a pure state machine: which build is current, which ramps
//! and at which step, which wait, which were rolled back — from what every host reports and
//! what operators command. The coordinator workflow ([`super::coordinator`]) feeds it inputs
//! and performs the one [`Op`] it asks for at a time; no I/O and no clock of its own, so unit
//! tests drive every decision and the whole state survives continue-as-new as JSON.
//!
//! Order is by first report: a build first reported after the current one is newer. A host
//! restarted with old files reports a build the plan already knows; it is never routed to
//! again except by an operator's `revert`.

use super::policy::{Gate, Policy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What one host counted for one build since that host started it (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub runs_completed: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl Tally {
    fn plus(self, o: Tally) -> Tally {
        Tally {
            runs_completed: self.runs_completed + o.runs_completed,
            succeeded: self.succeeded + o.succeeded,
            failed: self.failed + o.failed,
        }
    }

    fn minus(self, o: Tally) -> Tally {
        Tally {
            runs_completed: self.runs_completed.saturating_sub(o.runs_completed),
            succeeded: self.succeeded.saturating_sub(o.succeeded),
            failed: self.failed.saturating_sub(o.failed),
        }
    }
}

/// What a build is to the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BuildState {
    /// Newer than the current build, not yet rolled out (another change is in flight, the
    /// rollout is paused, or its gate runs).
    Waiting,
    /// Its gate workflow runs.
    Gating,
    /// Gets a share of new runs.
    Ramping,
    /// Gets every new run.
    Current,
    /// Was current or ramping until a newer build took over: drains.
    Superseded,
    /// Was still waiting when a newer build became current: never routed to without an
    /// operator's `revert`.
    Stale,
    /// Its ramp or gate failed, or an operator rolled it back: not routed to again.
    RolledBack { reason: String },
}

/// One build as the fleet knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub build_id: String,
    /// Position in the order of first reports.
    pub seq: u64,
    pub first_reported_ms: u64,
    /// Hosts that reported it registered and polling.
    pub hosts: BTreeSet<String>,
    pub policy: Policy,
    pub state: BuildState,
    /// Each host's latest cumulative counts.
    pub counts: BTreeMap<String, Tally>,
    /// When a host first reported it drained and stopped.
    pub drained_ms: Option<u64>,
    /// Its gate workflow succeeded.
    pub gate_passed: bool,
}

impl Build {
    fn total(&self) -> Tally {
        self.counts
            .values()
            .fold(Tally::default(), |a, t| a.plus(*t))
    }
}

/// The build getting a share of new runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    pub build_id: String,
    /// Index into its policy's steps.
    pub step: usize,
    pub percent: f32,
    /// When this step began.
    pub since_ms: u64,
    /// The build's summed counts when its ramp began: its failure rate is judged on what
    /// happened since.
    pub baseline: Tally,
    /// Its summed counts when this step began: the step's completed runs are counted since.
    pub step_baseline: Tally,
}

/// A routing change (or gate run) for the coordinator to perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    SetCurrent {
        build_id: String,
    },
    SetRamping {
        build_id: String,
        percent: f32,
    },
    /// Remove the ramp of `build_id`, which is rolled back for `reason`.
    Unramp {
        build_id: String,
        reason: String,
    },
    RunGate {
        build_id: String,
        gate: Gate,
    },
}

/// What comes in from hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "report")]
pub enum Report {
    /// `build_id` polls on `host` (both task types registered with the server).
    Registered {
        host: String,
        build_id: String,
        policy: Policy,
    },
    /// `host`'s cumulative counts for `build_id`.
    Counts {
        host: String,
        build_id: String,
        counts: Tally,
    },
    /// `host` refused its plugin files.
    Refused { host: String, errors: Vec<String> },
    /// `host` stopped `build_id`'s generation: drained.
    Drained { host: String, build_id: String },
}

/// What operators command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    /// No new step, promotion or rollout starts until `resume` (a rollback still happens).
    Pause,
    Resume,
    /// Make the ramping (or waiting) build current now.
    Promote,
    /// Roll the ramping build back.
    Rollback,
    /// Make `build_id` (an older or rolled-back build still polling somewhere) current.
    Revert {
        build_id: String,
    },
}

/// A host's refused files, as last reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub at_ms: u64,
    pub errors: Vec<String>,
}

/// The entries of the decision log kept in the state (the coordinator's history has all).
const KEEP_DECISIONS: usize = 20;
/// After a routing call failed, the wait before the next attempt.
pub const RETRY_AFTER_MS: u64 = 5_000;

/// The whole fleet state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub builds: Vec<Build>,
    pub current: Option<String>,
    pub ramp: Option<Ramp>,
    pub paused: bool,
    /// The op in flight.
    pub pending: Option<Op>,
    /// An operator's command not yet performed.
    requested: Option<Request>,
    /// No routing call before this (after a failed one).
    retry_at_ms: u64,
    pub refusals: BTreeMap<String, Refusal>,
    /// The last decisions, newest last: `(at_ms, what)`.
    pub decisions: VecDeque<(u64, String)>,
}

impl Plan {
    fn build(&self, id: &str) -> Option<&Build> {
        self.builds.iter().find(|b| b.build_id == id)
    }

    fn build_mut(&mut self, id: &str) -> Option<&mut Build> {
        self.builds.iter_mut().find(|b| b.build_id == id)
    }

    fn set_state(&mut self, id: &str, state: BuildState) {
        if let Some(b) = self.build_mut(id) {
            b.state = state;
        }
    }

    fn decide(&mut self, now_ms: u64, what: String) {
        self.decisions.push_back((now_ms, what));
        while self.decisions.len() > KEEP_DECISIONS {
            self.decisions.pop_front();
        }
    }

    /// Takes in a host's report.
    pub fn report(&mut self, now_ms: u64, report: Report) {
        match report {
            Report::Registered {
                host,
                build_id,
                policy,
            } => {
                if let Some(b) = self.build_mut(&build_id) {
                    b.hosts.insert(host);
                    return;
                }
                let seq = self.builds.len() as u64;
                self.builds.push(Build {
                    build_id: build_id.clone(),
                    seq,
                    first_reported_ms: now_ms,
                    hosts: BTreeSet::from([host.clone()]),
                    policy,
                    state: BuildState::Waiting,
                    counts: BTreeMap::new(),
                    drained_ms: None,
                    gate_passed: false,
                });
                self.decide(now_ms, format!("{build_id} first reported by {host}"));
            }
            Report::Counts {
                host,
                build_id,
                counts,
            } => {
                if let Some(b) = self.build_mut(&build_id) {
                    b.counts.insert(host, counts);
                }
            }
            Report::Refused { host, errors } => {
                if errors.is_empty() {
                    self.refusals.remove(&host);
                } else {
                    self.refusals.insert(
                        host,
                        Refusal {
                            at_ms: now_ms,
                            errors,
                        },
                    );
                }
            }
            Report::Drained { host, build_id } => {
                let first = self
                    .build_mut(&build_id)
                    .filter(|b| b.drained_ms.is_none())
                    .map(|b| b.drained_ms = Some(now_ms))
                    .is_some();
                if first {
                    self.decide(now_ms, format!("{build_id} drained (first on {host})"));
                }
            }
        }
    }

    /// Applies an operator's command, or says why it cannot apply.
    pub fn command(&mut self, now_ms: u64, command: Command) -> Result<String, String> {
        let done = match command {
            Command::Pause => {
                self.paused = true;
                "rollout paused".to_string()
            }
            Command::Resume => {
                self.paused = false;
                "rollout resumed".to_string()
            }
            Command::Promote => {
                let target = (self.ramp.as_ref().map(|r| r.build_id.clone()))
                    .or_else(|| self.newest_waiting().map(|b| b.build_id.clone()))
                    .ok_or("nothing ramps or waits to be promoted")?;
                self.requested = Some(Request::Promote(target.clone()));
                format!("{target} will be made current (operator)")
            }
            Command::Rollback => {
                let ramp = self
                    .ramp
                    .as_ref()
                    .ok_or("nothing ramps; to make an older build current, use `revert BUILD`")?;
                let id = ramp.build_id.clone();
                self.requested = Some(Request::Rollback(id.clone()));
                format!("{id} will be rolled back (operator)")
            }
            Command::Revert { build_id } => {
                let b = self
                    .build(&build_id)
                    .ok_or_else(|| format!("no host ever reported build {build_id}"))?;
                if b.drained_ms.is_some() && b.state != BuildState::Current {
                    return Err(format!(
                        "{build_id} drained and stopped; start a host with its files first"
                    ));
                }
                if self.current.as_deref() == Some(build_id.as_str()) && self.ramp.is_none() {
                    return Err(format!("{build_id} is already current"));
                }
                self.requested = Some(Request::Revert(build_id.clone()));
                format!("{build_id} will be made current again (operator)")
            }
        };
        self.decide(now_ms, done.clone());
        Ok(done)
    }
}

/// Why an op failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpError {
    pub message: String,
    /// The server's conflict token did not match: someone else changed the routing.
    pub conflict: bool,
}

/// An operator's command waiting to be performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Request {
    Promote(String),
    Rollback(String),
    Revert(String),
}

mod decide;
#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
