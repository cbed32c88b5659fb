//! The plan's decisions: the next op (a failing ramp's rollback first, then operator commands,
//! the first build, the ramp's next step, a newer build's rollout), and what each op's result
//! changes.

use super::{Build, BuildState, Op, OpError, Plan, RETRY_AFTER_MS, Ramp, Request, Tally};

/// Failed attempts after which an operator's command is given up (said in the decisions).
const REQUEST_ATTEMPTS: u32 = 3;

/// Below this many counted tasks and activities a failure rate means little.
const MIN_SAMPLE: u64 = 5;

impl Plan {
    /// The newest build that waits to be rolled out: newer than the current one, gate not
    /// failed.
    pub(super) fn newest_waiting(&self) -> Option<&Build> {
        let floor = self
            .current
            .as_deref()
            .and_then(|c| self.build(c))
            .map(|c| c.seq);
        self.builds
            .iter()
            .rev()
            .find(|b| matches!(b.state, BuildState::Waiting) && floor.is_none_or(|f| b.seq > f))
    }

    fn begin(&mut self, op: Op, from_request: bool) -> Option<Op> {
        self.pending = Some(op.clone());
        self.pending_request = if from_request {
            self.requested.clone()
        } else {
            None
        };
        Some(op)
    }

    /// The next op to perform, if any; `None` while one is in flight.
    pub fn next(&mut self, now_ms: u64) -> Option<Op> {
        if self.pending.is_some() || now_ms < self.retry_at_ms {
            return None;
        }
        // A failing ramp is rolled back whatever else was asked, paused or not.
        if let Some(ramp) = self.ramp.clone()
            && let Some(b) = self.build(&ramp.build_id)
            && let Some(reason) = failing(b.total().minus(ramp.baseline), b.policy.max_failure_rate)
        {
            let op = Op::Unramp {
                build_id: ramp.build_id,
                reason,
                rolled_back: true,
            };
            return self.begin(op, false);
        }
        if self.requested.is_some() {
            match self.requested_op() {
                Some(op) => return self.begin(op, true),
                None => {
                    self.request_failures = 0;
                    let what = self.requested.take().map(|r| r.describe());
                    self.decide(
                        now_ms,
                        format!("{} no longer applies; dropped", what.unwrap_or_default()),
                    );
                }
            }
        }
        if self.paused {
            return None;
        }
        if self.current.is_none() {
            // The first build: nothing to ramp from.
            let id = self.newest_waiting()?.build_id.clone();
            return self.begin(Op::SetCurrent { build_id: id }, false);
        }
        let Some(ramp) = self.ramp.clone() else {
            let newer = self.newest_waiting()?.clone();
            return self.start_rollout(&newer);
        };
        let b = self.build(&ramp.build_id)?.clone();
        if let Some(newer) = self.newest_waiting().filter(|n| n.seq > b.seq).cloned() {
            // A newer build takes over. One that goes current at once (no steps, gate passed)
            // needs the old ramp removed first: the server keeps a ramp a new current leaves.
            let goes_current =
                newer.policy.steps.is_empty() && (newer.policy.gate.is_none() || newer.gate_passed);
            if goes_current {
                let op = Op::Unramp {
                    build_id: b.build_id.clone(),
                    reason: format!("superseded by {}", newer.build_id),
                    rolled_back: false,
                };
                return self.begin(op, false);
            }
            return self.start_rollout(&newer);
        }
        let step = b.policy.steps.get(ramp.step)?;
        let runs = b.total().minus(ramp.step_baseline).runs_completed;
        if now_ms < ramp.since_ms.saturating_add(step.pause_ms) || runs < b.policy.min_runs {
            return None;
        }
        let op = match b.policy.steps.get(ramp.step + 1) {
            Some(next) => Op::SetRamping {
                build_id: ramp.build_id,
                percent: next.percent,
            },
            None => Op::SetCurrent {
                build_id: ramp.build_id,
            },
        };
        self.begin(op, false)
    }

    /// The op an operator's command asks for now; `None` when it no longer applies (what it
    /// named changed since it was accepted).
    fn requested_op(&self) -> Option<Op> {
        let ramping = self.ramp.as_ref().map(|r| r.build_id.as_str());
        match self.requested.as_ref()? {
            Request::Promote(id) => {
                let waiting = self
                    .build(id)
                    .is_some_and(|b| matches!(b.state, BuildState::Waiting));
                match ramping {
                    Some(r) if r == id => Some(Op::SetCurrent {
                        build_id: id.clone(),
                    }),
                    // Another build's ramp would outlive the promotion: removed first.
                    Some(r) if waiting => Some(Op::Unramp {
                        build_id: r.to_string(),
                        reason: format!("an operator promoted {id}"),
                        rolled_back: false,
                    }),
                    None if waiting => Some(Op::SetCurrent {
                        build_id: id.clone(),
                    }),
                    _ => None,
                }
            }
            Request::Rollback(id) => (ramping == Some(id.as_str())).then(|| Op::Unramp {
                build_id: id.clone(),
                reason: "rolled back by an operator".into(),
                rolled_back: true,
            }),
            // A ramp of another build would outlive the revert: removed first.
            Request::Revert(id) => match ramping {
                Some(r) if r != id => Some(Op::Unramp {
                    build_id: r.to_string(),
                    reason: format!("an operator reverted to {id}"),
                    rolled_back: true,
                }),
                _ if self.current.as_deref() != Some(id.as_str()) || ramping.is_some() => {
                    Some(Op::SetCurrent {
                        build_id: id.clone(),
                    })
                }
                _ => None,
            },
        }
    }

    fn start_rollout(&mut self, b: &Build) -> Option<Op> {
        if let Some(gate) = b.policy.gate.clone().filter(|_| !b.gate_passed) {
            self.set_state(&b.build_id, BuildState::Gating);
            let op = Op::RunGate {
                build_id: b.build_id.clone(),
                gate,
            };
            return self.begin(op, false);
        }
        let op = match b.policy.steps.first() {
            Some(step) => Op::SetRamping {
                build_id: b.build_id.clone(),
                percent: step.percent,
            },
            None => Op::SetCurrent {
                build_id: b.build_id.clone(),
            },
        };
        self.begin(op, false)
    }

    /// The result of the pending op. A conflict (the server's routing is not what the
    /// coordinator set: someone changed it outside) changes nothing on the server; the plan
    /// adopts the server's routing and pauses for an operator.
    pub fn applied(&mut self, now_ms: u64, result: Result<(), OpError>) {
        let Some(op) = self.pending.take() else {
            return;
        };
        // The op performed an operator's command only if that command is still the one asked
        // for: a newer command replaced it meanwhile and is neither cleared nor charged.
        let from_request = self
            .pending_request
            .take()
            .is_some_and(|r| self.requested.as_ref() == Some(&r));
        let error = match result {
            Ok(()) => {
                self.succeeded(now_ms, op, from_request);
                return;
            }
            Err(e) => e,
        };
        if let Op::RunGate { build_id, gate } = &op {
            let reason = format!("gate {} failed: {}", gate.workflow, error.message);
            self.set_state(
                build_id,
                BuildState::RolledBack {
                    reason: reason.clone(),
                },
            );
            self.decide(now_ms, format!("{build_id} rolled back: {reason}"));
            return;
        }
        if let Some(server) = error.server {
            self.adopt(now_ms, &op, server, &error.message);
            return;
        }
        self.retry_at_ms = now_ms.saturating_add(RETRY_AFTER_MS);
        let mut what = format!("{} failed: {}; retrying", describe(&op), error.message);
        if from_request {
            self.request_failures += 1;
            if self.request_failures >= REQUEST_ATTEMPTS {
                let given_up = self.requested.take().map(|r| r.describe());
                self.request_failures = 0;
                what = format!(
                    "{} failed: {}; {} given up after {REQUEST_ATTEMPTS} attempts",
                    describe(&op),
                    error.message,
                    given_up.unwrap_or_default()
                );
            }
        }
        self.decide(now_ms, what);
    }

    fn succeeded(&mut self, now_ms: u64, op: Op, from_request: bool) {
        // A revert's first half (removing another build's ramp) keeps the command for its
        // second half; everything else an operator asked for is done.
        let revert_half = matches!(
            (&self.requested, &op),
            (Some(Request::Revert(id) | Request::Promote(id)), Op::Unramp { build_id, .. }) if id != build_id
        );
        if from_request && !revert_half {
            self.requested = None;
            self.request_failures = 0;
        }
        match op {
            Op::SetCurrent { build_id } => {
                let previous = self.current.replace(build_id.clone());
                if let Some(p) = previous.filter(|p| *p != build_id) {
                    self.set_state(&p, BuildState::Superseded);
                }
                if self.ramp.as_ref().is_some_and(|r| r.build_id == build_id) {
                    self.ramp = None;
                }
                self.set_state(&build_id, BuildState::Current);
                let seq = self.build(&build_id).map_or(0, |b| b.seq);
                for b in &mut self.builds {
                    if b.seq < seq && matches!(b.state, BuildState::Waiting | BuildState::Gating) {
                        b.state = BuildState::Stale;
                    }
                }
                self.decide(now_ms, format!("{build_id} is current"));
            }
            Op::SetRamping { build_id, percent } => {
                let total = self.build(&build_id).map(Build::total).unwrap_or_default();
                match self.ramp.as_mut().filter(|r| r.build_id == build_id) {
                    Some(r) => {
                        r.step += 1;
                        r.percent = percent;
                        r.since_ms = now_ms;
                        r.step_baseline = total;
                    }
                    None => {
                        if let Some(old) = self.ramp.take() {
                            self.set_state(&old.build_id, BuildState::Superseded);
                        }
                        self.ramp = Some(Ramp {
                            build_id: build_id.clone(),
                            step: 0,
                            percent,
                            since_ms: now_ms,
                            baseline: total,
                            step_baseline: total,
                        });
                    }
                }
                self.set_state(&build_id, BuildState::Ramping);
                self.decide(now_ms, format!("{build_id} ramps at {percent}%"));
            }
            Op::Unramp {
                build_id,
                reason,
                rolled_back,
            } => {
                if self.ramp.as_ref().is_some_and(|r| r.build_id == build_id) {
                    self.ramp = None;
                }
                if rolled_back {
                    self.set_state(
                        &build_id,
                        BuildState::RolledBack {
                            reason: reason.clone(),
                        },
                    );
                    self.decide(now_ms, format!("{build_id} rolled back: {reason}"));
                } else {
                    self.set_state(&build_id, BuildState::Superseded);
                    self.decide(now_ms, format!("{build_id}'s ramp removed: {reason}"));
                }
            }
            Op::RunGate { build_id, gate } => {
                if let Some(b) = self.build_mut(&build_id) {
                    b.gate_passed = true;
                    b.state = BuildState::Waiting;
                }
                self.decide(now_ms, format!("{build_id} passed gate {}", gate.workflow));
            }
        }
        // A revert to the build already current only needed the other ramp gone: done.
        if revert_half
            && matches!(&self.requested, Some(Request::Revert(id)) if self.current.as_ref() == Some(id))
        {
            self.requested = None;
            self.request_failures = 0;
        }
    }

    /// When the plan next needs a look without any new input (a step's pause ending, a retry
    /// coming due); `None`: only a report or command can change anything.
    pub fn next_check_ms(&self, now_ms: u64) -> Option<u64> {
        let retry = Some(self.retry_at_ms).filter(|t| *t > now_ms);
        let step_end = self.ramp.as_ref().and_then(|r| {
            let b = self.build(&r.build_id)?;
            let end = r
                .since_ms
                .saturating_add(b.policy.steps.get(r.step)?.pause_ms);
            (end > now_ms).then_some(end)
        });
        match (retry, step_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A rollback reason when `t` fails too often.
fn failing(t: Tally, max_failure_rate: f64) -> Option<String> {
    let sample = t.succeeded + t.failed;
    let rate = if sample == 0 {
        0.0
    } else {
        t.failed as f64 / sample as f64
    };
    (sample >= MIN_SAMPLE && rate > max_failure_rate).then(|| {
        format!(
            "{} of {sample} workflow tasks and activities failed on all hosts together \
             ({:.0}% > {:.0}% allowed)",
            t.failed,
            rate * 100.0,
            max_failure_rate * 100.0
        )
    })
}

pub(super) fn describe(op: &Op) -> String {
    match op {
        Op::SetCurrent { build_id } => format!("making {build_id} current"),
        Op::SetRamping { build_id, percent } => format!("ramping {build_id} at {percent}%"),
        Op::Unramp { build_id, .. } => format!("removing {build_id}'s ramp"),
        Op::RunGate { build_id, gate } => format!("gate {} on {build_id}", gate.workflow),
    }
}
