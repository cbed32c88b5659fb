//! Fleet rollouts: the machine follows the deployment's coordinator instead of routing on its
//! own. A new build starts, is reported to the coordinator (`Change::Announce`) and waits on
//! standby; at every tick the coordinator's routing comes in ([`FleetView`]) and each local
//! build takes the place it gives it: current, ramping, standby (not routed yet), or draining
//! (retired: superseded, stale, rolled back). Drainage and the drain limit then work as for a
//! host alone.

use super::{Machine, Pending};
use crate::rollout::events::{Action, Draining, FleetView, Now};
use crate::rollout::report::Report;

impl Machine {
    /// True when some generation of this host polls.
    pub(super) fn has_generations(&self) -> bool {
        self.current.is_some()
            || self.ramping.is_some()
            || !self.standby.is_empty()
            || !self.draining.is_empty()
    }

    fn is_local(&self, build_id: &str) -> bool {
        self.current.as_deref() == Some(build_id)
            || self.ramping.as_ref().is_some_and(|(b, _)| b == build_id)
            || self.standby.iter().any(|b| b == build_id)
            || self.draining.iter().any(|d| d.build_id == build_id)
    }

    /// Files loaded: a build this host already polls needs nothing (the coordinator knows
    /// it; going back to it is an operator's `revert`); a new one starts.
    pub(super) fn fleet_loaded(&mut self, build_id: String) -> Vec<Action> {
        if self.is_local(&build_id) {
            let ramping = self.ramping.as_ref().is_some_and(|(b, _)| *b == build_id);
            return vec![Action::Report(Report::Unchanged { build_id, ramping })];
        }
        self.pending = Some(Pending::Starting {
            build_id: build_id.clone(),
        });
        vec![Action::Start { build_id }]
    }

    /// The coordinator has the build's report: it waits on standby for the coordinator.
    pub(super) fn announced(&mut self, build_id: String) -> Vec<Action> {
        self.unannounced.retain(|b| *b != build_id);
        if !self.is_local(&build_id) {
            self.standby.push(build_id.clone());
        }
        vec![
            Action::Report(Report::Announced { build_id }),
            Action::Publish,
        ]
    }

    /// The report did not reach the coordinator (server unavailable): the build polls on
    /// standby all the same and is reported again at the next tick.
    pub(super) fn announce_failed(&mut self, build_id: String, error: String) -> Vec<Action> {
        if !self.is_local(&build_id) {
            self.standby.push(build_id.clone());
        }
        if !self.unannounced.contains(&build_id) {
            self.unannounced.push(build_id.clone());
        }
        vec![
            Action::Report(Report::RouteFailed { build_id, error }),
            Action::Publish,
        ]
    }

    /// Puts every local build where the coordinator's routing says.
    pub(super) fn follow(&mut self, now: Now, view: FleetView) -> Vec<Action> {
        let mut local: Vec<String> = Vec::new();
        local.extend(self.current.clone());
        local.extend(self.ramping.as_ref().map(|(b, _)| b.clone()));
        local.extend(self.standby.iter().cloned());
        local.extend(self.draining.iter().map(|d| d.build_id.clone()));
        let before = (self.current.clone(), self.ramping.clone());
        let mut standby = Vec::new();
        let mut draining: Vec<Draining> = Vec::new();
        let (mut current, mut ramping) = (None, None);
        for build_id in local {
            let since = self
                .draining
                .iter()
                .find(|d| d.build_id == build_id)
                .map(|d| d.since);
            if view.current.as_deref() == Some(build_id.as_str()) {
                current = Some(build_id);
            } else if let Some((_, p)) = view.ramping.as_ref().filter(|(b, _)| *b == build_id) {
                ramping = Some((build_id, *p));
            } else if view.retired.contains(&build_id) {
                draining.push(Draining {
                    build_id,
                    since: since.unwrap_or(now.instant),
                });
            } else {
                standby.push(build_id);
            }
        }
        draining.sort_by_key(|d| d.since);
        let moved = standby != self.standby
            || draining
                .iter()
                .map(|d| &d.build_id)
                .ne(self.draining.iter().map(|d| &d.build_id));
        self.current = current;
        self.ramping = ramping;
        self.standby = standby;
        self.draining = draining;
        let mut actions = Vec::new();
        if before != (self.current.clone(), self.ramping.clone()) {
            actions.push(Action::Report(Report::FleetRouting {
                current: self.current.clone(),
                ramping: self.ramping.clone(),
            }));
        }
        if moved || !actions.is_empty() {
            actions.push(Action::Publish);
        }
        actions
    }

    /// Builds polling on standby, for `/status`.
    pub(crate) fn standby(&self) -> &[String] {
        &self.standby
    }
}
