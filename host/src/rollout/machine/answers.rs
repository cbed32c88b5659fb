//! The server's answers to the change in flight: a generation started (or did not), a routing
//! change accepted, refused as unsupported, or failed.

use super::{Machine, Pending};
use crate::rollout::events::{Action, Draining, Now, Routing};
use crate::rollout::report::{Report, StopReason};

impl Machine {
    pub(super) fn started(&mut self) -> Vec<Action> {
        match self.pending.take() {
            Some(Pending::Starting { build_id }) => vec![self.route(build_id, None)],
            other => self.unexpected(other, "started"),
        }
    }

    pub(super) fn start_failed(&mut self, error: String) -> Vec<Action> {
        match self.pending.take() {
            Some(Pending::Starting { build_id })
                if self.current.is_none() && !self.has_generations() =>
            {
                vec![Action::Fail {
                    error: format!("starting the first generation ({build_id}) failed: {error}"),
                }]
            }
            Some(Pending::Starting { build_id }) => {
                vec![Action::Report(Report::StartFailed { build_id, error })]
            }
            other => self.unexpected(other, "start failed"),
        }
    }

    pub(super) fn accepted(&mut self, now: Now) -> Vec<Action> {
        match self.pending.take() {
            Some(Pending::Routing {
                build_id,
                percent: None,
                ..
            }) => self.make_current(now, build_id, false),
            Some(Pending::Routing {
                build_id,
                percent: Some(percent),
                ..
            }) => {
                let mut actions = vec![
                    Action::TrackPropagation {
                        change: "ramping",
                        build_id: build_id.clone(),
                    },
                    Action::Report(Report::Ramping {
                        build_id: build_id.clone(),
                        percent,
                    }),
                ];
                self.unramp_owed = None;
                if let Some((previous, _)) = self.ramping.replace((build_id, percent)) {
                    self.drain(now, previous);
                }
                actions.push(Action::Publish);
                actions
            }
            Some(Pending::Promoting { build_id }) => {
                self.ramping = None;
                self.make_current(now, build_id, true)
            }
            Some(Pending::Unramping { build_id }) => {
                self.unramp_owed = None;
                vec![Action::TrackPropagation {
                    change: "unramped",
                    build_id,
                }]
            }
            Some(Pending::Announcing { build_id }) => self.announced(build_id),
            other => self.unexpected(other, "accepted"),
        }
    }

    /// `build_id` is current now; the previous current drains (or, on a server without
    /// worker deployments, stops: nothing is pinned to it).
    fn make_current(&mut self, now: Now, build_id: String, promoted: bool) -> Vec<Action> {
        if self.routing == Routing::Unknown {
            self.routing = Routing::Versioned;
        }
        let previous = self.current.replace(build_id.clone());
        let mut actions = vec![Action::Report(match (&previous, promoted) {
            (Some(from), true) => Report::Promoted {
                from: from.clone(),
                to: build_id.clone(),
            },
            _ => Report::Current {
                from: previous.clone(),
                to: build_id.clone(),
            },
        })];
        let versioned = self.routing == Routing::Versioned;
        if versioned {
            actions.push(Action::TrackPropagation {
                change: "current",
                build_id,
            });
        }
        match previous {
            Some(previous) if versioned => self.drain(now, previous),
            Some(previous) => actions.push(Action::Stop {
                build_id: previous,
                why: StopReason::ReplacedInPlace,
            }),
            None => {}
        }
        actions.push(Action::Publish);
        actions
    }

    pub(super) fn refused(&mut self, now: Now, reason: String, unsupported: bool) -> Vec<Action> {
        match self.pending.take() {
            // The first answer says the server has no worker deployments: serve unversioned.
            Some(Pending::Routing { build_id, .. })
                if unsupported && self.routing == Routing::Unknown =>
            {
                self.routing = Routing::Unversioned;
                self.current = Some(build_id);
                vec![
                    Action::Report(Report::Unversioned { reason }),
                    Action::Publish,
                ]
            }
            Some(Pending::Routing { build_id, .. }) if self.current.is_none() => {
                vec![Action::Fail {
                    error: format!(
                        "making the first generation ({build_id}) current failed: {reason}"
                    ),
                }]
            }
            // Without worker deployments from the start, swaps replace in place.
            Some(Pending::Routing { build_id, .. })
                if unsupported && self.routing == Routing::Unversioned =>
            {
                self.make_current(now, build_id, false)
            }
            // A server that routed our versions before refuses this one: a passing condition
            // or a policy, not a server without deployments. Keep the current generation (and
            // the pinned runs on the old ones) rather than fall back to an in-place swap.
            Some(Pending::Routing {
                build_id, revived, ..
            }) => {
                let mut actions = vec![Action::Report(Report::RouteFailed {
                    build_id: build_id.clone(),
                    error: reason,
                })];
                match revived {
                    // Revived from draining: its pinned runs still need it.
                    Some(since) => self.draining.push(Draining { build_id, since }),
                    None => actions.push(Action::Stop {
                        build_id,
                        why: StopReason::Abandoned,
                    }),
                }
                actions
            }
            Some(Pending::Promoting { build_id }) => {
                // Still ramping; the next tick judges again.
                vec![Action::Report(Report::PromotionDeferred {
                    build_id,
                    error: reason,
                })]
            }
            Some(Pending::Announcing { build_id }) => self.announce_failed(build_id, reason),
            Some(Pending::Unramping { build_id }) => {
                self.unramp_owed = Some(build_id.clone());
                vec![Action::Report(Report::UnrampFailed {
                    build_id,
                    error: reason,
                })]
            }
            other => self.unexpected(other, "refused"),
        }
    }
}
