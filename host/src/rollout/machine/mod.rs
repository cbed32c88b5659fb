//! The rollout as a pure state machine: which build is current, which ramps, which drain, and
//! what to do next. [`Machine::handle`] takes an [`Event`] (files loaded, a generation started,
//! the server's answer, a periodic tick with outcome counts, a drainage report) and returns the
//! [`Action`]s the executor performs; the result of each action comes back as the next event.
//! No I/O, no clock of its own: unit tests drive every transition without a server.
//!
//! One change is in flight at a time ([`Pending`]): the executor performs actions in order and
//! feeds their results back before anything else happens, so events always answer the pending
//! change.

mod answers;
mod checks;
mod fleet;

use super::events::{Action, Change, Draining, Event, Now, Routing};
use super::report::Report;
use crate::config::RolloutPolicy;
use crate::status::{LoadErrorStatus, RollbackStatus};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The change in flight.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Pending {
    /// Waiting for the loaded build's generation to start.
    Starting { build_id: String },
    /// Waiting for the server to route to a polling build; `revived` holds the drain start of
    /// a build brought back from draining (a failed change gives it back).
    Routing {
        build_id: String,
        percent: Option<f32>,
        revived: Option<Instant>,
    },
    /// Waiting for the server to make the ramping build current.
    Promoting { build_id: String },
    /// Waiting for the server to remove a ramp (the build drains already).
    Unramping { build_id: String },
    /// Fleet rollouts: waiting for the report of a polling build to reach the coordinator.
    Announcing { build_id: String },
}

/// The rollout's state.
#[derive(Debug)]
pub(crate) struct Machine {
    policy: RolloutPolicy,
    drain_limit: Duration,
    routing: Routing,
    current: Option<String>,
    ramping: Option<(String, f32)>,
    draining: Vec<Draining>,
    pending: Option<Pending>,
    /// Builds whose ramp was rolled back: the same files are not ramped again.
    rolled_back: HashSet<String>,
    /// A ramp removal the server did not accept: asked again at every tick until it is, or
    /// until a newer ramp replaces it (the server would keep sending that build new runs).
    unramp_owed: Option<String>,
    last_rollback: Option<RollbackStatus>,
    last_load_error: Option<LoadErrorStatus>,
    /// Fleet rollouts: the coordinator decides routing; this machine only follows it.
    fleet: bool,
    /// Fleet rollouts: builds polling that the coordinator has not routed (waiting for their
    /// turn, their gate, an operator) and not retired.
    standby: Vec<String>,
    /// Fleet rollouts: builds whose report did not reach the coordinator; sent again at ticks.
    unannounced: Vec<String>,
}

impl Machine {
    /// A machine with no generation yet.
    pub(crate) fn new(policy: RolloutPolicy, drain_limit: Duration) -> Self {
        Machine {
            policy,
            drain_limit,
            routing: Routing::Unknown,
            current: None,
            ramping: None,
            draining: Vec::new(),
            pending: None,
            rolled_back: HashSet::new(),
            unramp_owed: None,
            last_rollback: None,
            last_load_error: None,
            fleet: false,
            standby: Vec::new(),
            unannounced: Vec::new(),
        }
    }

    /// A machine that follows routing decided elsewhere — the fleet's coordinator, or (in
    /// manual mode) whoever sets the deployment's routing — instead of routing on its own.
    pub(crate) fn following(mut self) -> Self {
        self.fleet = true;
        self.routing = Routing::Versioned;
        self
    }

    /// The current build.
    pub(crate) fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The ramping build and its share of new runs.
    pub(crate) fn ramping(&self) -> Option<(&str, f32)> {
        self.ramping.as_ref().map(|(b, p)| (b.as_str(), *p))
    }

    /// Builds draining, oldest first.
    pub(crate) fn draining(&self) -> &[Draining] {
        &self.draining
    }

    /// Whether the server routes versions.
    #[cfg(test)]
    pub(crate) fn routing(&self) -> Routing {
        self.routing
    }

    /// The last rollback, for `/status`.
    pub(crate) fn last_rollback(&self) -> Option<&RollbackStatus> {
        self.last_rollback.as_ref()
    }

    /// Builds whose ramp was rolled back and that are not ramped again until a retry, sorted.
    pub(crate) fn rolled_back(&self) -> Vec<String> {
        let mut builds: Vec<String> = self.rolled_back.iter().cloned().collect();
        builds.sort();
        builds
    }

    /// The last refused reload (cleared by a clean one), for `/status`.
    pub(crate) fn last_load_error(&self) -> Option<&LoadErrorStatus> {
        self.last_load_error.as_ref()
    }

    /// Applies `event`; returns what to do, in order.
    pub(crate) fn handle(&mut self, now: Now, event: Event) -> Vec<Action> {
        if self.pending.is_some()
            && matches!(
                event,
                Event::Loaded { .. } | Event::Refused { .. } | Event::Tick { .. }
            )
        {
            return vec![Action::Report(Report::Unexpected {
                event: "a new change while one is in flight",
            })];
        }
        match event {
            Event::Loaded { build_id, refused }
                if refused.is_empty() || (self.current.is_none() && !self.has_generations()) =>
            {
                let had_errors = self.last_load_error.is_some();
                self.last_load_error = (!refused.is_empty()).then_some(LoadErrorStatus {
                    at_unix: now.unix,
                    errors: refused,
                });
                let mut actions = self.loaded(now, build_id);
                if had_errors || self.last_load_error.is_some() {
                    actions.insert(0, Action::Publish);
                }
                actions
            }
            Event::Loaded {
                refused: errors, ..
            }
            | Event::Refused { errors } => {
                self.last_load_error = Some(LoadErrorStatus {
                    at_unix: now.unix,
                    errors: errors.clone(),
                });
                vec![Action::Report(Report::Invalid { errors }), Action::Publish]
            }
            Event::Started => self.started(),
            Event::StartFailed { error } => self.start_failed(error),
            Event::Accepted => self.accepted(now),
            Event::Unsupported { reason } => self.refused(now, reason, true),
            Event::RoutingFailed { error } => self.refused(now, error, false),
            Event::Tick { ramp } => self.tick(now, ramp),
            Event::DrainReport { build_id, drained } => self.drain_report(now, build_id, drained),
            Event::Fleet(view) => self.follow(now, view),
            Event::Retry => {
                if self.rolled_back.is_empty() {
                    return Vec::new();
                }
                self.rolled_back.clear();
                vec![Action::Publish]
            }
        }
    }

    fn loaded(&mut self, now: Now, build_id: String) -> Vec<Action> {
        if self.fleet {
            return self.fleet_loaded(build_id);
        }
        let mut actions = Vec::new();
        let Some(current) = &self.current else {
            // The first generation: always made current, whatever the policy.
            self.pending = Some(Pending::Starting {
                build_id: build_id.clone(),
            });
            actions.push(Action::Start { build_id });
            return actions;
        };
        if *current == build_id {
            if let Some((ramping, _)) = self.ramping.take() {
                // A revert to the current build's files ends the ramp at once.
                actions.push(Action::Report(Report::Reverted {
                    ramp: ramping.clone(),
                }));
                actions.push(Action::Publish);
                actions.extend(self.end_ramp(now, ramping));
            } else {
                actions.push(Action::Report(Report::Unchanged {
                    build_id,
                    ramping: false,
                }));
            }
            return actions;
        }
        if self.ramping.as_ref().is_some_and(|(b, _)| *b == build_id) {
            actions.push(Action::Report(Report::Unchanged {
                build_id,
                ramping: true,
            }));
            return actions;
        }
        if self.rolled_back.contains(&build_id) {
            actions.push(Action::Report(Report::RolledBackBefore { build_id }));
            return actions;
        }
        match self.draining.iter().position(|d| d.build_id == build_id) {
            // A revert to a build still polling: no new worker. It keeps its drain start until
            // the change succeeds (a failed one gives it back).
            Some(i) => {
                let revived = self.draining.remove(i);
                actions.push(self.route(build_id, Some(revived.since)));
            }
            None => {
                self.pending = Some(Pending::Starting {
                    build_id: build_id.clone(),
                });
                actions.push(Action::Start { build_id });
            }
        }
        actions
    }

    /// The route for a polling build: a ramp when the policy ramps and the server routes
    /// versions (and a current version exists to ramp from), else current.
    pub(super) fn route(&mut self, build_id: String, revived: Option<Instant>) -> Action {
        if self.fleet {
            self.pending = Some(Pending::Announcing {
                build_id: build_id.clone(),
            });
            return Action::Route(Change::Announce { build_id });
        }
        let percent = match &self.policy {
            RolloutPolicy::Ramp { percent, .. }
                if self.routing == Routing::Versioned && self.current.is_some() =>
            {
                Some(*percent)
            }
            _ => None,
        };
        self.pending = Some(Pending::Routing {
            build_id: build_id.clone(),
            percent,
            revived,
        });
        Action::Route(match percent {
            Some(percent) => Change::Ramp { build_id, percent },
            None => Change::Current { build_id },
        })
    }

    /// Removes the ramp on the server; `build_id` drains (its pinned runs finish on it)
    /// whatever the server answers.
    pub(super) fn end_ramp(&mut self, now: Now, build_id: String) -> Vec<Action> {
        self.drain(now, build_id.clone());
        self.pending = Some(Pending::Unramping { build_id });
        vec![Action::Route(Change::Unramp)]
    }

    pub(super) fn drain(&mut self, now: Now, build_id: String) {
        self.draining.push(Draining {
            build_id,
            since: now.instant,
        });
    }

    /// An answer to nothing: the executor's bug, not the server's. Logged by the caller as a
    /// report so it cannot pass silently.
    pub(super) fn unexpected(
        &mut self,
        pending: Option<Pending>,
        what: &'static str,
    ) -> Vec<Action> {
        self.pending = pending;
        vec![Action::Report(Report::Unexpected { event: what })]
    }
}

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod tests;
