//! The periodic check: the ramp judged on its outcomes (promote, roll back, wait), draining
//! builds past the drain limit stopped, the others asked about; and the server's drainage
//! answers.

use super::{Machine, Pending};
use crate::config::RolloutPolicy;
use crate::outcomes::Counts;
use crate::rollout::events::{Action, Change, Now};
use crate::rollout::ramp::{self, Verdict};
use crate::rollout::report::{Report, StopReason};
use crate::status::RollbackStatus;

impl Machine {
    pub(super) fn tick(&mut self, now: Now, ramp: Option<Counts>) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.fleet {
            // Sent again first; drains are checked in the same tick all the same.
            if let Some(build_id) = self.unannounced.pop() {
                self.pending = Some(Pending::Announcing {
                    build_id: build_id.clone(),
                });
                actions.push(Action::Route(Change::Announce { build_id }));
            }
        } else if let Some(build_id) = self.unramp_owed.clone() {
            // Asked again before anything else: until the server takes the ramp away, it
            // keeps sending new runs to a build this host already drains.
            self.pending = Some(Pending::Unramping { build_id });
            return vec![Action::Route(Change::Unramp)];
        }
        if let (
            RolloutPolicy::Ramp {
                promote_after,
                max_failure_rate,
                ..
            },
            Some((build_id, _)),
            Some(counts),
        ) = (&self.policy, &self.ramping, ramp)
            && !self.fleet
        {
            match ramp::judge(counts, *promote_after, *max_failure_rate) {
                Verdict::Wait => {}
                Verdict::Promote => {
                    let build_id = build_id.clone();
                    self.pending = Some(Pending::Promoting {
                        build_id: build_id.clone(),
                    });
                    // The promotion's answer comes back before anything else: drains wait.
                    return vec![Action::Route(Change::Current { build_id })];
                }
                Verdict::RollBack(reason) => {
                    let build_id = build_id.clone();
                    self.ramping = None;
                    self.rolled_back.insert(build_id.clone());
                    self.last_rollback = Some(RollbackStatus {
                        build_id: build_id.clone(),
                        reason: reason.clone(),
                        at_unix: now.unix,
                    });
                    actions.push(Action::Report(Report::RolledBack {
                        build_id: build_id.clone(),
                        reason,
                    }));
                    actions.push(Action::Publish);
                    actions.extend(self.end_ramp(now, build_id));
                    return actions;
                }
            }
        }
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.draining)
            .into_iter()
            .partition(|d| now.instant.duration_since(d.since) >= self.drain_limit);
        self.draining = waiting;
        for d in &expired {
            actions.push(Action::Stop {
                build_id: d.build_id.clone(),
                why: StopReason::DrainLimit {
                    after: now.instant.duration_since(d.since),
                },
            });
        }
        if !expired.is_empty() {
            actions.push(Action::Publish);
        }
        actions.extend(self.draining.iter().map(|d| Action::CheckDrained {
            build_id: d.build_id.clone(),
        }));
        actions
    }

    pub(super) fn drain_report(
        &mut self,
        now: Now,
        build_id: String,
        drained: bool,
    ) -> Vec<Action> {
        if !drained {
            return Vec::new();
        }
        let Some(i) = self.draining.iter().position(|d| d.build_id == build_id) else {
            return Vec::new();
        };
        let d = self.draining.remove(i);
        vec![
            Action::Stop {
                build_id,
                why: StopReason::Drained {
                    after: now.instant.duration_since(d.since),
                },
            },
            Action::Publish,
        ]
    }
}
