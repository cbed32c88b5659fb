//! The machine in a fleet: it follows the coordinator's routing and never routes on its own.

use super::tests::{Clock, LIMIT, draining, loaded, ramp_policy, results, stops, unavailable};
use super::*;
use crate::outcomes::Counts;
use crate::rollout::report::SwapResult;

/// Fleet rollouts: `build_id` loads, starts and is reported to the coordinator.
fn announce(m: &mut Machine, now: Now, build_id: &str) -> Vec<Action> {
    assert_eq!(
        m.handle(now, loaded(build_id)),
        vec![Action::Start {
            build_id: build_id.into()
        }]
    );
    assert_eq!(
        m.handle(now, Event::Started),
        vec![Action::Route(Change::Announce {
            build_id: build_id.into()
        })],
        "a host in a fleet never routes on its own"
    );
    m.handle(now, Event::Accepted)
}

fn view(current: Option<&str>, ramping: Option<(&str, f32)>, retired: &[&str]) -> Event {
    Event::Fleet(crate::rollout::events::FleetView {
        current: current.map(Into::into),
        ramping: ramping.map(|(b, p)| (b.into(), p)),
        retired: retired.iter().map(|b| (*b).to_string()).collect(),
    })
}

#[test]
fn in_a_fleet_builds_wait_on_standby_until_the_coordinator_routes_them() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(ramp_policy(), LIMIT).following();
    announce(&mut m, clock.at(0), "b1");
    assert_eq!(
        m.current(),
        None,
        "not current until the coordinator says so"
    );
    assert_eq!(m.standby(), ["b1"]);
    m.handle(clock.at(1), view(Some("b1"), None, &[]));
    assert_eq!(m.current(), Some("b1"));
    // A new build waits; the ramp is the coordinator's, not judged here.
    announce(&mut m, clock.at(2), "b2");
    assert_eq!(m.standby(), ["b2"]);
    let bad = Counts {
        runs_completed: 0,
        succeeded: 0,
        failed: 50,
    };
    m.handle(clock.at(3), view(Some("b1"), Some(("b2", 10.0)), &[]));
    assert_eq!(m.ramping(), Some(("b2", 10.0)));
    let actions = m.handle(clock.at(4), Event::Tick { ramp: Some(bad) });
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Route(_))),
        "{actions:?}"
    );
    // Promoted by the coordinator: b1 drains from then on.
    m.handle(clock.at(5), view(Some("b2"), None, &["b1"]));
    assert_eq!(m.current(), Some("b2"));
    assert_eq!(draining(&m), vec![("b1", clock.at(5).instant)]);
    // Later views keep its drain start.
    m.handle(clock.at(9), view(Some("b2"), None, &["b1"]));
    assert_eq!(draining(&m), vec![("b1", clock.at(5).instant)]);
    assert_eq!(
        m.handle(clock.at(10), loaded("b1")),
        vec![Action::Report(Report::Unchanged {
            build_id: "b1".into(),
            ramping: false
        })],
        "going back to an older build is an operator's revert"
    );
}

#[test]
fn in_a_fleet_a_stale_restart_serves_on_but_never_becomes_current() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(RolloutPolicy::Immediate, LIMIT).following();
    announce(&mut m, clock.at(0), "old");
    m.handle(clock.at(1), view(Some("new"), None, &["old"]));
    assert_eq!(m.current(), None);
    assert_eq!(draining(&m), vec![("old", clock.at(1).instant)]);
    // Its pinned runs drain; then it stops like any drained build.
    let actions = m.handle(clock.at(2), Event::Tick { ramp: None });
    assert_eq!(
        actions,
        vec![Action::CheckDrained {
            build_id: "old".into()
        }]
    );
    let actions = m.handle(
        clock.at(2),
        Event::DrainReport {
            build_id: "old".into(),
            drained: true,
        },
    );
    assert_eq!(stops(&actions).len(), 1);
}

#[test]
fn in_a_fleet_a_report_that_did_not_arrive_is_sent_again_at_the_next_tick() {
    let clock = Clock(Instant::now());
    let mut m = Machine::new(RolloutPolicy::Immediate, LIMIT).following();
    m.handle(clock.at(0), loaded("b1"));
    m.handle(clock.at(0), Event::Started);
    let actions = m.handle(clock.at(0), unavailable());
    assert_eq!(results(&actions), vec![Some(SwapResult::Failed)]);
    assert_eq!(m.standby(), ["b1"], "it polls all the same");
    assert_eq!(
        m.handle(clock.at(2), Event::Tick { ramp: None }),
        vec![Action::Route(Change::Announce {
            build_id: "b1".into()
        })]
    );
    m.handle(clock.at(2), Event::Accepted);
    assert_eq!(
        m.handle(clock.at(4), Event::Tick { ramp: None }),
        vec![],
        "reported once it arrived"
    );
}
