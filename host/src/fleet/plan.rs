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
    /// Each host's counts.
    #[serde(default)]
    pub counts: BTreeMap<String, HostTally>,
    /// When a host first stopped it after draining (or at the drain limit).
    #[serde(default)]
    pub drained_ms: Option<u64>,
    /// Its gate workflow succeeded.
    #[serde(default)]
    pub gate_passed: bool,
}

impl Build {
    /// Counts summed over every host.
    pub fn total(&self) -> Tally {
        self.counts
            .values()
            .fold(Tally::default(), |a, t| a.plus(t.carried).plus(t.raw))
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
    /// Remove the ramp of `build_id` for `reason`: it is rolled back (not ramped again) or,
    /// when a newer build takes over, superseded.
    Unramp {
        build_id: String,
        reason: String,
        rolled_back: bool,
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
    /// `host` stopped `build_id`'s generation: the server reported it drained or, with
    /// `at_limit`, `--drain-limit` passed first.
    Drained {
        host: String,
        build_id: String,
        #[serde(default)]
        at_limit: bool,
    },
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

/// The whole fleet state. Every field has a default, so a plan written by an older host
/// (continue-as-new input, query answer) still reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    pub builds: Vec<Build>,
    pub current: Option<String>,
    pub ramp: Option<Ramp>,
    pub paused: bool,
    /// The op in flight.
    pub pending: Option<Op>,
    /// The operator's command the op in flight performs, if it performs one.
    pending_request: Option<Request>,
    /// An operator's command not yet performed.
    requested: Option<Request>,
    /// Failed attempts at it.
    request_failures: u32,
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

    fn add_build(&mut self, now_ms: u64, build_id: &str, host: Option<&str>, policy: Policy) {
        let seq = self.builds.iter().map(|b| b.seq + 1).max().unwrap_or(0);
        self.builds.push(Build {
            build_id: build_id.to_string(),
            seq,
            first_reported_ms: now_ms,
            hosts: host.map(str::to_string).into_iter().collect(),
            policy,
            state: BuildState::Waiting,
            counts: BTreeMap::new(),
            drained_ms: None,
            gate_passed: false,
        });
    }

    /// A build the server routes that no host has reported (routing adopted from the server):
    /// the oldest of all, so that every build reported so far counts as newer.
    fn add_oldest_build(&mut self, now_ms: u64, build_id: &str) {
        for b in &mut self.builds {
            b.seq += 1;
        }
        self.add_build(now_ms, build_id, None, Policy::immediate());
        if let Some(added) = self.builds.pop() {
            self.builds.insert(0, Build { seq: 0, ..added });
        }
    }

    /// A new operator command replaces one not yet performed; its attempts start at zero.
    fn request(&mut self, request: Request) {
        self.requested = Some(request);
        self.request_failures = 0;
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
                self.add_build(now_ms, &build_id, Some(&host), policy);
                self.decide(now_ms, format!("{build_id} first reported by {host}"));
            }
            Report::Counts {
                host,
                build_id,
                counts,
            } => {
                if let Some(b) = self.build_mut(&build_id) {
                    b.counts.entry(host).or_default().report(counts);
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
            Report::Drained {
                host,
                build_id,
                at_limit,
            } => {
                // That host polls it no more; the first drain is the build's.
                let first = self.build_mut(&build_id).is_some_and(|b| {
                    b.hosts.remove(&host);
                    b.drained_ms.get_or_insert(now_ms) == &now_ms
                });
                if first {
                    let how = if at_limit {
                        "stopped at the drain limit"
                    } else {
                        "drained"
                    };
                    self.decide(now_ms, format!("{build_id} {how} (first on {host})"));
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
                // An operator's go-ahead does not wait out a retry delay.
                self.retry_at_ms = 0;
                "rollout resumed".to_string()
            }
            Command::Promote => {
                let target = (self.ramp.as_ref().map(|r| r.build_id.clone()))
                    .or_else(|| self.newest_waiting().map(|b| b.build_id.clone()))
                    .ok_or("nothing ramps or waits to be promoted")?;
                self.request(Request::Promote(target.clone()));
                format!("{target} will be made current (operator)")
            }
            Command::Rollback => {
                let ramp = self
                    .ramp
                    .as_ref()
                    .ok_or("nothing ramps; to make an older build current, use `revert BUILD`")?;
                let id = ramp.build_id.clone();
                self.request(Request::Rollback(id.clone()));
                format!("{id} will be rolled back (operator)")
            }
            Command::Revert { build_id } => {
                let b = self
                    .build(&build_id)
                    .ok_or_else(|| format!("no host ever reported build {build_id}"))?;
                if b.hosts.is_empty() {
                    return Err(format!(
                        "no host polls {build_id} any more; start a host with its files first"
                    ));
                }
                if self.current.as_deref() == Some(build_id.as_str()) && self.ramp.is_none() {
                    return Err(format!("{build_id} is already current"));
                }
                self.request(Request::Revert(build_id.clone()));
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
    /// The server's routing when it differs from what the coordinator set (someone changed
    /// it outside, or routing existed before the coordinator): nothing was changed.
    pub server: Option<ServerRouting>,
}

/// A deployment's routing as the server has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerRouting {
    pub current: Option<String>,
    pub ramping: Option<(String, f32)>,
}

/// An operator's command waiting to be performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Request {
    Promote(String),
    Rollback(String),
    Revert(String),
}

impl Request {
    fn describe(&self) -> String {
        match self {
            Request::Promote(b) => format!("the operator's promote of {b}"),
            Request::Rollback(b) => format!("the operator's rollback of {b}"),
            Request::Revert(b) => format!("the operator's revert to {b}"),
        }
    }
}

mod adopt;
mod decide;
mod tally;
pub use tally::{HostTally, Tally};
#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
