//! The plan's decisions: the next op (operator commands first, then the first build, the
//! ramp's verdict, a newer build's rollout), and what each op's result changes.

use super::{Build, BuildState, Op, OpError, Plan, RETRY_AFTER_MS, Ramp, Request, Tally};

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

    fn begin(&mut self, op: Op) -> Option<Op> {
        self.pending = Some(op.clone());
        Some(op)
    }

    /// The next op to perform, if any; `None` while one is in flight.
    pub fn next(&mut self, now_ms: u64) -> Option<Op> {
        if self.pending.is_some() || now_ms < self.retry_at_ms {
            return None;
        }
        if let Some(op) = self.requested_op() {
            return self.begin(op);
        }
        if self.current.is_none() {
            // The first build: nothing to ramp from.
            let id = self.newest_waiting()?.build_id.clone();
            return self.begin(Op::SetCurrent { build_id: id });
        }
        if let Some(ramp) = self.ramp.clone() {
            let b = self.build(&ramp.build_id)?;
            let since = b.total().minus(ramp.baseline);
            if let Some(reason) = failing(since, b.policy.max_failure_rate) {
                return self.begin(Op::Unramp {
                    build_id: ramp.build_id,
                    reason,
                });
            }
            if self.paused {
                return None;
            }
            if let Some(newer) = self.newest_waiting().filter(|n| n.seq > b.seq) {
                let newer = newer.clone();
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
            return self.begin(op);
        }
        if self.paused {
            return None;
        }
        let newer = self.newest_waiting()?.clone();
        self.start_rollout(&newer)
    }

    fn requested_op(&self) -> Option<Op> {
        match self.requested.as_ref()? {
            Request::Promote(id) => Some(Op::SetCurrent {
                build_id: id.clone(),
            }),
            Request::Rollback(id) => Some(Op::Unramp {
                build_id: id.clone(),
                reason: "rolled back by an operator".into(),
            }),
            // A ramp of another build would outlive the revert: removed first.
            Request::Revert(id) => match &self.ramp {
                Some(r) if r.build_id != *id => Some(Op::Unramp {
                    build_id: r.build_id.clone(),
                    reason: format!("an operator reverted to {id}"),
                }),
                _ => Some(Op::SetCurrent {
                    build_id: id.clone(),
                }),
            },
        }
    }

    fn start_rollout(&mut self, b: &Build) -> Option<Op> {
        if let Some(gate) = b.policy.gate.clone().filter(|_| !b.gate_passed) {
            self.set_state(&b.build_id, BuildState::Gating);
            return self.begin(Op::RunGate {
                build_id: b.build_id.clone(),
                gate,
            });
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
        self.begin(op)
    }

    /// The result of the pending op. `conflict`: the server's routing was changed by someone
    /// else since the coordinator last looked; nothing was overwritten and the rollout pauses
    /// for an operator.
    pub fn applied(&mut self, now_ms: u64, result: Result<(), OpError>) {
        let Some(op) = self.pending.take() else {
            return;
        };
        let error = match result {
            Ok(()) => {
                self.succeeded(now_ms, op);
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
        if error.conflict {
            self.paused = true;
            self.decide(
                now_ms,
                format!(
                    "{} not done: the deployment's routing was changed outside the coordinator \
                     ({}); paused until an operator resumes",
                    describe(&op),
                    error.message
                ),
            );
            return;
        }
        self.retry_at_ms = now_ms.saturating_add(RETRY_AFTER_MS);
        self.decide(
            now_ms,
            format!("{} failed: {}; retrying", describe(&op), error.message),
        );
    }

    fn succeeded(&mut self, now_ms: u64, op: Op) {
        if self.requested_op().as_ref() == Some(&op)
            && !matches!(
                (&self.requested, &op),
                (Some(Request::Revert(id)), Op::Unramp { build_id, .. }) if id != build_id
            )
        {
            self.requested = None;
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
            Op::Unramp { build_id, reason } => {
                self.ramp = None;
                self.set_state(
                    &build_id,
                    BuildState::RolledBack {
                        reason: reason.clone(),
                    },
                );
                self.decide(now_ms, format!("{build_id} rolled back: {reason}"));
            }
            Op::RunGate { build_id, gate } => {
                if let Some(b) = self.build_mut(&build_id) {
                    b.gate_passed = true;
                    b.state = BuildState::Waiting;
                }
                self.decide(now_ms, format!("{build_id} passed gate {}", gate.workflow));
            }
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

/// Below this many counted tasks and activities a failure rate means little.
const MIN_SAMPLE: u64 = 5;

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

fn describe(op: &Op) -> String {
    match op {
        Op::SetCurrent { build_id } => format!("making {build_id} current"),
        Op::SetRamping { build_id, percent } => format!("ramping {build_id} at {percent}%"),
        Op::Unramp { build_id, .. } => format!("removing {build_id}'s ramp"),
        Op::RunGate { build_id, gate } => format!("gate {} on {build_id}", gate.workflow),
    }
}
