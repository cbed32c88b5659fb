//! Every transition of the rollout machine, driven without a server: each test feeds the
//! events a real executor would (the server's answers included) and checks the actions and the
//! resulting state.

use super::*;
use crate::outcomes::Counts;
use crate::rollout::report::{StopReason, SwapResult};

pub(super) const LIMIT: Duration = Duration::from_secs(600);

/// A test clock: `at(s)` is `s` seconds after the start.
pub(super) struct Clock(pub(super) Instant);

impl Clock {
    pub(super) fn at(&self, secs: u64) -> Now {
        Now {
            instant: self.0 + Duration::from_secs(secs),
            unix: 1_700_000_000 + secs,
        }
    }
}

pub(super) fn loaded(build_id: &str) -> Event {
    Event::Loaded {
        build_id: build_id.into(),
        refused: Vec::new(),
    }
}

fn current(build_id: &str) -> Action {
    Action::Route(Change::Current {
        build_id: build_id.into(),
    })
}

pub(super) fn results(actions: &[Action]) -> Vec<Option<SwapResult>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Report(r) => Some(r.result()),
            _ => None,
        })
        .collect()
}

pub(super) fn stops(actions: &[Action]) -> Vec<(&str, StopReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Stop { build_id, why } => Some((build_id.as_str(), *why)),
            _ => None,
        })
        .collect()
}

/// The draining builds and when each stopped being current.
pub(super) fn draining(m: &Machine) -> Vec<(&str, Instant)> {
    m.draining()
        .iter()
        .map(|d| (d.build_id.as_str(), d.since))
        .collect()
}

pub(super) fn unavailable() -> Event {
    Event::RoutingFailed {
        error: "unavailable".into(),
    }
}

pub(super) fn ramp_policy() -> RolloutPolicy {
    RolloutPolicy::Ramp {
        percent: 25.0,
        promote_after: 3,
        max_failure_rate: 0.1,
    }
}

/// A machine whose first generation `b1` is current on a versioned server.
fn running(policy: RolloutPolicy, clock: &Clock) -> Machine {
    let mut m = Machine::new(policy, LIMIT);
    assert_eq!(
        m.handle(clock.at(0), loaded("b1")),
        vec![Action::Start {
            build_id: "b1".into()
        }]
    );
    assert_eq!(m.handle(clock.at(0), Event::Started), vec![current("b1")]);
    let actions = m.handle(clock.at(0), Event::Accepted);
    assert_eq!(
        results(&actions),
        vec![None],
        "the first generation is not a swap"
    );
    assert!(actions.contains(&Action::TrackPropagation {
        change: "current",
        build_id: "b1".into()
    }));
    assert_eq!(m.current(), Some("b1"));
    assert_eq!(m.routing(), Routing::Versioned);
    m
}

/// Swaps `m` to `build_id`, a new build, with every answer positive.
fn swap(m: &mut Machine, now: Now, build_id: &str) -> Vec<Action> {
    assert_eq!(
        m.handle(now, loaded(build_id)),
        vec![Action::Start {
            build_id: build_id.into()
        }]
    );
    assert_eq!(m.handle(now, Event::Started), vec![current(build_id)]);
    m.handle(now, Event::Accepted)
}

#[test]
fn first_generation_starts_and_becomes_current_whatever_the_policy() {
    let clock = Clock(Instant::now());
    let m = running(ramp_policy(), &clock);
    assert!(m.ramping().is_none());
    assert!(m.draining().is_empty());
}

#[test]
fn a_first_generation_that_cannot_start_or_be_routed_fails_the_host() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(RolloutPolicy::Immediate, LIMIT);
    m.handle(clock.at(0), loaded("b1"));
    let a = m.handle(
        clock.at(0),
        Event::StartFailed {
            error: "namespace not found".into(),
        },
    );
    assert!(matches!(&a[..], [Action::Fail { error }] if error.contains("namespace not found")));

    let mut m = Machine::new(RolloutPolicy::Immediate, LIMIT);
    m.handle(clock.at(0), loaded("b1"));
    m.handle(clock.at(0), Event::Started);
    let a = m.handle(
        clock.at(0),
        Event::RoutingFailed {
            error: "shutdown requested".into(),
        },
    );
    assert!(matches!(&a[..], [Action::Fail { .. }]));
}

#[test]
fn first_load_with_refused_files_starts_with_the_rest_and_shows_the_errors() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(RolloutPolicy::Immediate, LIMIT);
    let a = m.handle(
        clock.at(0),
        Event::Loaded {
            build_id: "b1".into(),
            refused: vec!["plugin bad.wasm: the file is empty".into()],
        },
    );
    assert!(a.contains(&Action::Start {
        build_id: "b1".into()
    }));
    let e = m.last_load_error().expect("errors kept");
    assert_eq!(
        e.at_unix,
        clock.at(0).unix,
        "stamped with the real time, not 0"
    );
    assert_eq!(e.errors, vec!["plugin bad.wasm: the file is empty"]);
}

#[test]
fn a_swap_makes_the_new_build_current_and_drains_the_old() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    let a = swap(&mut m, clock.at(10), "b2");
    assert_eq!(results(&a), vec![Some(SwapResult::Ok)]);
    assert!(stops(&a).is_empty(), "the old build keeps polling");
    assert_eq!(m.current(), Some("b2"));
    assert_eq!(draining(&m), vec![("b1", clock.at(10).instant)]);
    assert_eq!(a.last(), Some(&Action::Publish));
}

#[test]
fn invalid_files_change_nothing_and_are_shown_until_a_clean_load() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    let a = m.handle(
        clock.at(5),
        Event::Refused {
            errors: vec!["plugin x.wasm: not a WebAssembly file".into()],
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::Refused)]);
    assert!(a.contains(&Action::Publish));
    assert_eq!(m.current(), Some("b1"));
    assert_eq!(
        m.last_load_error().map(|e| e.at_unix),
        Some(clock.at(5).unix)
    );
    // A reload with refused files is refused whole, even though some files loaded.
    let a = m.handle(
        clock.at(6),
        Event::Loaded {
            build_id: "b9".into(),
            refused: vec!["plugin y.wasm: bad".into()],
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::Refused)]);
    assert!(!a.iter().any(|a| matches!(a, Action::Start { .. })));
    // The same files as before: nothing to do, but the error is cleared.
    let a = m.handle(clock.at(7), loaded("b1"));
    assert_eq!(results(&a), vec![Some(SwapResult::Unchanged)]);
    assert!(a.contains(&Action::Publish));
    assert!(m.last_load_error().is_none());
}

#[test]
fn a_start_failure_keeps_the_current_build() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    m.handle(clock.at(1), loaded("b2"));
    let a = m.handle(
        clock.at(1),
        Event::StartFailed {
            error: "boom".into(),
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::Failed)]);
    assert_eq!(m.current(), Some("b1"));
    // Nothing in flight: the next load is handled.
    assert_eq!(
        m.handle(clock.at(2), loaded("b3")),
        vec![Action::Start {
            build_id: "b3".into()
        }]
    );
}

#[test]
fn a_refused_route_to_a_new_build_stops_it_and_keeps_the_current() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    m.handle(clock.at(1), loaded("b2"));
    m.handle(clock.at(1), Event::Started);
    // The server routed our versions before: a refusal is not "no deployments".
    let a = m.handle(
        clock.at(1),
        Event::Unsupported {
            reason: "missing active task queues".into(),
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::Failed)]);
    assert_eq!(stops(&a), vec![("b2", StopReason::Abandoned)]);
    assert_eq!(m.current(), Some("b1"));
    assert_eq!(
        m.routing(),
        Routing::Versioned,
        "never downgraded to in-place"
    );
}

#[test]
fn a_revert_to_a_draining_build_revives_it_without_a_new_worker() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    swap(&mut m, clock.at(10), "b2");
    let a = m.handle(clock.at(20), loaded("b1"));
    assert_eq!(a, vec![current("b1")], "no Start: b1 still polls");
    let a = m.handle(clock.at(20), Event::Accepted);
    assert_eq!(results(&a), vec![Some(SwapResult::Ok)]);
    assert_eq!(m.current(), Some("b1"));
    assert_eq!(draining(&m), vec![("b2", clock.at(20).instant)]);
}

#[test]
fn a_failed_revert_gives_the_build_back_to_draining_with_its_drain_start() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    swap(&mut m, clock.at(10), "b2");
    m.handle(clock.at(20), loaded("b1"));
    let a = m.handle(clock.at(20), unavailable());
    assert_eq!(results(&a), vec![Some(SwapResult::Failed)]);
    assert!(stops(&a).is_empty(), "its pinned runs still need it");
    assert_eq!(m.current(), Some("b2"));
    assert_eq!(draining(&m), vec![("b1", clock.at(10).instant)]);
}

#[test]
fn a_server_without_deployments_serves_unversioned_and_swaps_in_place() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(ramp_policy(), LIMIT);
    m.handle(clock.at(0), loaded("b1"));
    m.handle(clock.at(0), Event::Started);
    let a = m.handle(
        clock.at(0),
        Event::Unsupported {
            reason: "Unimplemented".into(),
        },
    );
    assert!(matches!(&a[0], Action::Report(Report::Unversioned { .. })));
    assert_eq!(m.routing(), Routing::Unversioned);
    assert_eq!(m.current(), Some("b1"));
    // Even with a ramp policy: no ramp without versioning.
    m.handle(clock.at(5), loaded("b2"));
    assert_eq!(m.handle(clock.at(5), Event::Started), vec![current("b2")]);
    let a = m.handle(
        clock.at(5),
        Event::Unsupported {
            reason: "Unimplemented".into(),
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::Ok)]);
    assert_eq!(stops(&a), vec![("b1", StopReason::ReplacedInPlace)]);
    assert!(m.draining().is_empty());
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::TrackPropagation { .. }))
    );
}

#[test]
fn unchanged_contents_do_nothing() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    let a = m.handle(clock.at(1), loaded("b1"));
    assert_eq!(results(&a), vec![Some(SwapResult::Unchanged)]);
    assert_eq!(a.len(), 1);
}

/// A ramp policy machine with `b2` ramping at 25 %.
fn ramping(clock: &Clock) -> Machine {
    let mut m = running(ramp_policy(), clock);
    m.handle(clock.at(10), loaded("b2"));
    assert_eq!(
        m.handle(clock.at(10), Event::Started),
        vec![Action::Route(Change::Ramp {
            build_id: "b2".into(),
            percent: 25.0
        })]
    );
    let a = m.handle(clock.at(10), Event::Accepted);
    assert_eq!(results(&a), vec![Some(SwapResult::Ramping)]);
    assert_eq!(m.ramping(), Some(("b2", 25.0)));
    assert_eq!(m.current(), Some("b1"));
    m
}

fn counts(runs_completed: u64, succeeded: u64, failed: u64) -> Option<Counts> {
    Some(Counts {
        runs_completed,
        succeeded,
        failed,
    })
}

#[test]
fn a_ramp_waits_then_is_promoted() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    assert!(
        m.handle(
            clock.at(12),
            Event::Tick {
                ramp: counts(1, 4, 0)
            }
        )
        .is_empty()
    );
    let a = m.handle(
        clock.at(14),
        Event::Tick {
            ramp: counts(3, 12, 0),
        },
    );
    assert_eq!(a, vec![current("b2")]);
    let a = m.handle(clock.at(14), Event::Accepted);
    assert_eq!(results(&a), vec![Some(SwapResult::Promoted)]);
    assert_eq!(m.current(), Some("b2"));
    assert!(m.ramping().is_none());
    assert_eq!(m.draining()[0].build_id, "b1");
}

#[test]
fn a_refused_promotion_keeps_the_ramp_for_the_next_tick() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    m.handle(
        clock.at(14),
        Event::Tick {
            ramp: counts(3, 12, 0),
        },
    );
    let a = m.handle(clock.at(14), unavailable());
    assert!(matches!(
        &a[..],
        [Action::Report(Report::PromotionDeferred { .. })]
    ));
    assert_eq!(m.ramping(), Some(("b2", 25.0)));
    assert_eq!(m.current(), Some("b1"));
    let a = m.handle(
        clock.at(16),
        Event::Tick {
            ramp: counts(3, 12, 0),
        },
    );
    assert_eq!(a, vec![current("b2")], "judged again");
}

#[test]
fn a_failing_ramp_is_rolled_back_and_never_ramped_again() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    let a = m.handle(
        clock.at(12),
        Event::Tick {
            ramp: counts(0, 3, 2),
        },
    );
    assert_eq!(results(&a), vec![Some(SwapResult::RolledBack)]);
    assert_eq!(a.last(), Some(&Action::Route(Change::Unramp)));
    assert!(m.ramping().is_none());
    assert_eq!(m.draining()[0].build_id, "b2");
    let rollback = m.last_rollback().expect("recorded");
    assert_eq!(rollback.build_id, "b2");
    assert!(rollback.reason.contains("2 of 5"), "{}", rollback.reason);
    let a = m.handle(clock.at(12), Event::Accepted);
    assert_eq!(
        a,
        vec![Action::TrackPropagation {
            change: "unramped",
            build_id: "b2".into()
        }]
    );
    // The same files again: refused, not ramped.
    let a = m.handle(clock.at(13), loaded("b2"));
    assert_eq!(results(&a), vec![Some(SwapResult::Refused)]);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::Route(_) | Action::Start { .. }))
    );
    assert_eq!(m.rolled_back(), vec!["b2"]);
    // Until the operator asks for a retry: then the same files ramp again.
    assert_eq!(m.handle(clock.at(14), Event::Retry), vec![Action::Publish]);
    assert!(m.rolled_back().is_empty());
    assert_eq!(
        m.handle(clock.at(14), Event::Retry),
        vec![],
        "nothing to forget"
    );
    assert_eq!(
        m.handle(clock.at(15), loaded("b2")),
        vec![Action::Route(Change::Ramp {
            build_id: "b2".into(),
            percent: 25.0
        })],
        "b2 still drains: revived and ramped again, no new worker"
    );
}

#[test]
fn a_failed_unramp_is_reported_and_the_build_still_drains() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    m.handle(
        clock.at(12),
        Event::Tick {
            ramp: counts(0, 3, 2),
        },
    );
    let a = m.handle(
        clock.at(12),
        Event::Unsupported {
            reason: "denied".into(),
        },
    );
    assert!(matches!(
        &a[..],
        [Action::Report(Report::UnrampFailed { .. })]
    ));
    assert_eq!(m.draining()[0].build_id, "b2");
    // Asked again at the next tick, before anything else, until the server accepts.
    assert_eq!(
        m.handle(clock.at(14), Event::Tick { ramp: None }),
        vec![Action::Route(Change::Unramp)]
    );
    m.handle(clock.at(14), unavailable());
    assert_eq!(
        m.handle(clock.at(16), Event::Tick { ramp: None }),
        vec![Action::Route(Change::Unramp)]
    );
    m.handle(clock.at(16), Event::Accepted);
    assert_eq!(
        m.handle(clock.at(18), Event::Tick { ramp: None }),
        vec![Action::CheckDrained {
            build_id: "b2".into()
        }],
        "owed no more: back to the drain checks"
    );
}

#[test]
fn a_revert_to_the_current_files_ends_the_ramp() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    let a = m.handle(clock.at(20), loaded("b1"));
    assert_eq!(results(&a), vec![Some(SwapResult::Reverted)]);
    assert_eq!(a.last(), Some(&Action::Route(Change::Unramp)));
    assert!(m.ramping().is_none());
    assert_eq!(m.draining()[0].build_id, "b2");
}

#[test]
fn the_ramping_files_again_are_unchanged() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    let a = m.handle(clock.at(20), loaded("b2"));
    assert_eq!(
        a,
        vec![Action::Report(Report::Unchanged {
            build_id: "b2".into(),
            ramping: true
        })]
    );
}

#[test]
fn a_newer_ramp_replaces_the_ramping_build_which_drains() {
    let clock = Clock(Instant::now());
    let mut m = ramping(&clock);
    m.handle(clock.at(30), loaded("b3"));
    m.handle(clock.at(30), Event::Started);
    let a = m.handle(clock.at(30), Event::Accepted);
    assert_eq!(results(&a), vec![Some(SwapResult::Ramping)]);
    assert_eq!(m.ramping(), Some(("b3", 25.0)));
    assert_eq!(m.draining()[0].build_id, "b2");
}

#[test]
fn draining_builds_stop_when_drained_or_past_the_limit() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    swap(&mut m, clock.at(10), "b2");
    swap(&mut m, clock.at(100), "b3");
    // Both drain; both are asked about.
    let a = m.handle(clock.at(200), Event::Tick { ramp: None });
    assert_eq!(
        a,
        vec![
            Action::CheckDrained {
                build_id: "b1".into()
            },
            Action::CheckDrained {
                build_id: "b2".into()
            }
        ]
    );
    assert!(
        m.handle(
            clock.at(200),
            Event::DrainReport {
                build_id: "b1".into(),
                drained: false
            }
        )
        .is_empty()
    );
    let a = m.handle(
        clock.at(200),
        Event::DrainReport {
            build_id: "b2".into(),
            drained: true,
        },
    );
    assert_eq!(
        stops(&a),
        vec![(
            "b2",
            StopReason::Drained {
                after: Duration::from_secs(100)
            }
        )]
    );
    // b1 reaches the limit (drained at 10 s, limit 600 s): stopped without asking.
    let a = m.handle(clock.at(610), Event::Tick { ramp: None });
    assert_eq!(
        stops(&a),
        vec![(
            "b1",
            StopReason::DrainLimit {
                after: Duration::from_secs(600)
            }
        )]
    );
    assert!(!a.iter().any(|a| matches!(a, Action::CheckDrained { .. })));
    assert!(m.draining().is_empty());
}

#[test]
fn answers_to_nothing_and_changes_during_a_change_are_flagged_not_applied() {
    let clock = Clock(Instant::now());
    let mut m = running(RolloutPolicy::Immediate, &clock);
    let a = m.handle(clock.at(1), Event::Accepted);
    assert!(matches!(
        &a[..],
        [Action::Report(Report::Unexpected { .. })]
    ));
    assert_eq!(m.current(), Some("b1"));
    m.handle(clock.at(2), loaded("b2"));
    let a = m.handle(clock.at(2), loaded("b3"));
    assert!(matches!(
        &a[..],
        [Action::Report(Report::Unexpected { .. })]
    ));
    assert_eq!(m.handle(clock.at(2), Event::Started), vec![current("b2")]);
}
