use super::*;
use crate::fleet::policy::Step;

fn immediate() -> Policy {
    Policy::immediate()
}

fn progressive(gate: Option<Gate>) -> Policy {
    Policy {
        steps: vec![
            Step {
                percent: 10.0,
                pause_ms: 1_000,
            },
            Step {
                percent: 50.0,
                pause_ms: 1_000,
            },
        ],
        min_runs: 4,
        max_failure_rate: 0.2,
        gate,
    }
}

fn registered(plan: &mut Plan, now: u64, host: &str, build: &str, policy: Policy) {
    plan.report(
        now,
        Report::Registered {
            host: host.into(),
            build_id: build.into(),
            policy,
        },
    );
}

fn counts(plan: &mut Plan, now: u64, host: &str, build: &str, runs: u64, ok: u64, failed: u64) {
    plan.report(
        now,
        Report::Counts {
            host: host.into(),
            build_id: build.into(),
            counts: Tally {
                runs_completed: runs,
                succeeded: ok,
                failed,
            },
        },
    );
}

fn current(build: &str) -> Op {
    Op::SetCurrent {
        build_id: build.into(),
    }
}

fn ramping(build: &str, percent: f32) -> Op {
    Op::SetRamping {
        build_id: build.into(),
        percent,
    }
}

/// Performs every op the plan asks for, successfully, until it asks for nothing.
fn settle(plan: &mut Plan, now: u64) -> Vec<Op> {
    let mut done = Vec::new();
    while let Some(op) = plan.next(now) {
        done.push(op);
        plan.applied(now, Ok(()));
    }
    done
}

fn state(plan: &Plan, build: &str) -> BuildState {
    plan.builds
        .iter()
        .find(|b| b.build_id == build)
        .expect("known build")
        .state
        .clone()
}

/// A plan where `a` is current.
fn with_current(a: &str) -> Plan {
    let mut plan = Plan::default();
    registered(&mut plan, 0, "h1", a, immediate());
    assert_eq!(settle(&mut plan, 0), vec![current(a)]);
    plan
}

#[test]
fn the_first_build_becomes_current_and_a_newer_one_replaces_it_once() {
    let mut plan = with_current("a");
    // Three hosts report the new build one after another: one change.
    registered(&mut plan, 10, "h1", "b", immediate());
    assert_eq!(settle(&mut plan, 10), vec![current("b")]);
    registered(&mut plan, 20, "h2", "b", immediate());
    registered(&mut plan, 30, "h3", "b", immediate());
    assert_eq!(settle(&mut plan, 30), vec![]);
    assert_eq!(plan.current.as_deref(), Some("b"));
    assert_eq!(state(&plan, "a"), BuildState::Superseded);
    let hosts: Vec<_> = plan.builds[1].hosts.iter().cloned().collect();
    assert_eq!(hosts, ["h1", "h2", "h3"]);
}

#[test]
fn a_host_restarted_with_old_files_moves_nothing() {
    let mut plan = with_current("a");
    registered(&mut plan, 10, "h1", "b", immediate());
    settle(&mut plan, 10);
    // h2 restarts with last week's files: build `a`, known and older.
    registered(&mut plan, 20, "h2", "a", immediate());
    assert_eq!(settle(&mut plan, 20), vec![]);
    assert_eq!(plan.current.as_deref(), Some("b"));
    assert_eq!(state(&plan, "a"), BuildState::Superseded);
    // Going back is an explicit command.
    plan.command(
        30,
        Command::Revert {
            build_id: "a".into(),
        },
    )
    .expect("revert");
    assert_eq!(settle(&mut plan, 30), vec![current("a")]);
    assert_eq!(state(&plan, "b"), BuildState::Superseded);
}

#[test]
fn a_waiting_build_overtaken_by_a_newer_current_one_is_stale() {
    let mut plan = with_current("a");
    plan.command(1, Command::Pause).expect("pause");
    registered(&mut plan, 2, "h1", "b", immediate());
    registered(&mut plan, 3, "h1", "c", immediate());
    assert_eq!(settle(&mut plan, 3), vec![], "paused");
    plan.command(4, Command::Resume).expect("resume");
    // The newest waiting build goes; the one it overtook never will.
    assert_eq!(settle(&mut plan, 4), vec![current("c")]);
    assert_eq!(state(&plan, "b"), BuildState::Stale);
}

#[test]
fn a_progressive_rollout_steps_after_its_pause_and_enough_runs_summed_over_hosts() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    registered(&mut plan, 0, "h2", "b", progressive(None));
    assert_eq!(settle(&mut plan, 0), vec![ramping("b", 10.0)]);
    // Enough runs but the pause has not passed.
    counts(&mut plan, 500, "h1", "b", 2, 10, 0);
    counts(&mut plan, 500, "h2", "b", 2, 10, 0);
    assert_eq!(settle(&mut plan, 500), vec![]);
    assert_eq!(
        plan.next_check_ms(500),
        Some(1_000),
        "wakes at the pause's end"
    );
    // The pause passed and the two hosts together completed 4 runs.
    assert_eq!(settle(&mut plan, 1_000), vec![ramping("b", 50.0)]);
    // The next step counts its own runs: the first step's 4 do not count again.
    counts(&mut plan, 2_500, "h1", "b", 4, 20, 0);
    assert_eq!(settle(&mut plan, 2_500), vec![], "only 2 runs in this step");
    counts(&mut plan, 2_600, "h2", "b", 4, 20, 0);
    assert_eq!(settle(&mut plan, 2_600), vec![current("b")]);
    assert_eq!(plan.ramp, None);
    assert_eq!(state(&plan, "a"), BuildState::Superseded);
}

#[test]
fn failures_summed_over_hosts_roll_the_ramp_back_once() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    // Each host alone has too small a sample; together 2 of 8 failed (25% > 20%).
    counts(&mut plan, 10, "h1", "b", 1, 3, 1);
    assert_eq!(settle(&mut plan, 10), vec![]);
    counts(&mut plan, 20, "h2", "b", 1, 3, 1);
    let ops = settle(&mut plan, 20);
    assert_eq!(ops.len(), 1, "{ops:?}");
    let Op::Unramp {
        build_id, reason, ..
    } = &ops[0]
    else {
        panic!("{ops:?}")
    };
    assert_eq!(build_id, "b");
    assert!(reason.contains("2 of 8"), "{reason}");
    assert!(matches!(state(&plan, "b"), BuildState::RolledBack { .. }));
    // More reports of the build and its counts change nothing: rolled back once.
    registered(&mut plan, 30, "h3", "b", progressive(None));
    counts(&mut plan, 30, "h1", "b", 1, 3, 9);
    assert_eq!(settle(&mut plan, 30), vec![]);
    assert_eq!(plan.current.as_deref(), Some("a"));
}

#[test]
fn a_gate_runs_before_any_traffic_moves_and_its_failure_rolls_back() {
    let gate = Gate {
        workflow: "Smoke".into(),
        input: serde_json::json!("x"),
    };
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(Some(gate.clone())));
    let op = plan.next(0).expect("gate");
    assert_eq!(
        op,
        Op::RunGate {
            build_id: "b".into(),
            gate: gate.clone()
        }
    );
    assert_eq!(state(&plan, "b"), BuildState::Gating);
    plan.applied(
        5,
        Err(OpError {
            message: "workflow failed: boom".into(),
            server: None,
        }),
    );
    assert_eq!(settle(&mut plan, 5), vec![]);
    let BuildState::RolledBack { reason } = state(&plan, "b") else {
        panic!()
    };
    assert!(
        reason.contains("gate Smoke failed: workflow failed: boom"),
        "{reason}"
    );
    // A gate that passes lets the first step go.
    registered(&mut plan, 10, "h1", "c", progressive(Some(gate)));
    assert!(matches!(plan.next(10), Some(Op::RunGate { .. })));
    plan.applied(11, Ok(()));
    assert_eq!(settle(&mut plan, 11), vec![ramping("c", 10.0)]);
}

#[test]
fn operators_pause_promote_and_roll_back() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    plan.command(1, Command::Pause).expect("pause");
    counts(&mut plan, 2_000, "h1", "b", 10, 10, 0);
    assert_eq!(settle(&mut plan, 2_000), vec![], "paused: no step");
    // A rollback still happens while paused.
    counts(&mut plan, 2_001, "h1", "b", 10, 10, 10);
    assert!(matches!(
        settle(&mut plan, 2_001).as_slice(),
        [Op::Unramp { .. }]
    ));
    plan.command(3_000, Command::Resume).expect("resume");
    assert_eq!(
        plan.command(3_000, Command::Rollback),
        Err("nothing ramps; to make an older build current, use `revert BUILD`".into())
    );
    registered(&mut plan, 3_000, "h1", "c", progressive(None));
    assert_eq!(settle(&mut plan, 3_000), vec![ramping("c", 10.0)]);
    plan.command(3_001, Command::Promote).expect("promote");
    assert_eq!(settle(&mut plan, 3_001), vec![current("c")]);
    registered(&mut plan, 4_000, "h1", "d", progressive(None));
    settle(&mut plan, 4_000);
    plan.command(4_001, Command::Rollback).expect("rollback");
    let ops = settle(&mut plan, 4_001);
    assert!(
        matches!(ops.as_slice(), [Op::Unramp { build_id, reason, .. }] if build_id == "d" && reason.contains("operator")),
        "{ops:?}"
    );
    assert_eq!(
        plan.command(
            4_002,
            Command::Revert {
                build_id: "zz".into()
            }
        ),
        Err("no host ever reported build zz".into())
    );
}

#[test]
fn a_revert_during_a_ramp_removes_the_ramp_first() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", immediate());
    settle(&mut plan, 0);
    registered(&mut plan, 1, "h1", "c", progressive(None));
    settle(&mut plan, 1);
    plan.command(
        2,
        Command::Revert {
            build_id: "a".into(),
        },
    )
    .expect("revert");
    let ops = settle(&mut plan, 2);
    assert!(
        matches!(ops.as_slice(), [Op::Unramp { build_id, .. }, Op::SetCurrent { build_id: a }] if build_id == "c" && a == "a"),
        "{ops:?}"
    );
    assert_eq!(plan.current.as_deref(), Some("a"));
    assert_eq!(plan.ramp, None);
}

fn failed(message: &str) -> Result<(), OpError> {
    Err(OpError {
        message: message.into(),
        server: None,
    })
}

#[test]
fn a_failure_retries_later_and_a_conflict_adopts_the_servers_routing_and_pauses() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", immediate());
    registered(&mut plan, 0, "h1", "x", immediate());
    assert_eq!(plan.next(0), Some(current("x")));
    plan.applied(0, failed("server down"));
    assert_eq!(plan.next(1), None);
    assert_eq!(plan.next_check_ms(1), Some(RETRY_AFTER_MS));
    assert_eq!(plan.next(RETRY_AFTER_MS), Some(current("x")));
    // Someone made `b` current and ramps `a` outside the coordinator.
    plan.applied(
        RETRY_AFTER_MS,
        Err(OpError {
            message: "the server routes otherwise".into(),
            server: Some(ServerRouting {
                current: Some("b".into()),
                ramping: Some(("a".into(), 5.0)),
            }),
        }),
    );
    assert!(plan.paused);
    assert_eq!(
        plan.current.as_deref(),
        Some("b"),
        "adopted, not overwritten"
    );
    assert_eq!(plan.ramp.as_ref().map(|r| r.build_id.as_str()), Some("a"));
    assert_eq!(state(&plan, "b"), BuildState::Current);
    // No loop: nothing runs until an operator resumes, however long we wait.
    for t in [RETRY_AFTER_MS * 2, RETRY_AFTER_MS * 10] {
        assert_eq!(plan.next(t), None);
    }
    let last = &plan.decisions.back().expect("logged").1;
    assert!(last.contains("adopted the server's routing"), "{last}");
    plan.command(RETRY_AFTER_MS * 10, Command::Resume)
        .expect("resume");
    // `x` was first reported after `b`: it rolls out, its old ramp removed first.
    let ops = settle(&mut plan, RETRY_AFTER_MS * 10);
    assert!(
        matches!(ops.as_slice(), [Op::Unramp { build_id, rolled_back: false, .. }, Op::SetCurrent { build_id: x }] if build_id == "a" && x == "x"),
        "{ops:?}"
    );
}

#[test]
fn an_older_ramp_is_removed_before_a_newer_build_goes_current() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    assert_eq!(settle(&mut plan, 0), vec![ramping("b", 10.0)]);
    registered(&mut plan, 1, "h1", "c", immediate());
    let ops = settle(&mut plan, 1);
    assert!(
        matches!(ops.as_slice(), [Op::Unramp { build_id, rolled_back: false, .. }, Op::SetCurrent { build_id: c }] if build_id == "b" && c == "c"),
        "{ops:?}"
    );
    assert_eq!(plan.ramp, None);
    assert_eq!(state(&plan, "b"), BuildState::Superseded);
    assert_eq!(plan.current.as_deref(), Some("c"));
}

#[test]
fn an_operators_command_that_no_longer_applies_is_dropped_and_one_that_keeps_failing_given_up() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    plan.command(1, Command::Rollback).expect("rollback");
    // The ramp fails on its own before the command runs: rolled back once, not twice.
    counts(&mut plan, 1, "h1", "b", 0, 0, 10);
    let ops = settle(&mut plan, 1);
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(
        plan.decisions
            .iter()
            .any(|(_, d)| d.contains("no longer applies")),
        "{:?}",
        plan.decisions
    );
    // A revert that keeps failing is given up after three attempts.
    registered(&mut plan, 2, "h1", "c", immediate());
    settle(&mut plan, 2);
    plan.command(
        3,
        Command::Revert {
            build_id: "a".into(),
        },
    )
    .expect("revert");
    let mut t = 3;
    for _ in 0..3 {
        assert_eq!(plan.next(t), Some(current("a")));
        plan.applied(t, failed("version gone"));
        t += RETRY_AFTER_MS;
    }
    assert_eq!(plan.next(t), None, "given up");
    let last = &plan.decisions.back().expect("logged").1;
    assert!(last.contains("given up after 3 attempts"), "{last}");
    assert_eq!(plan.current.as_deref(), Some("c"));
}

#[test]
fn a_host_restarted_under_the_same_name_does_not_fake_failures() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    counts(&mut plan, 1, "h1", "b", 100, 1_000, 10);
    // Same name, new process: its counts start again from zero.
    counts(&mut plan, 2, "h1", "b", 1, 50, 1);
    assert_eq!(
        plan.builds[1].total(),
        Tally {
            runs_completed: 101,
            succeeded: 1_050,
            failed: 11
        }
    );
    assert!(
        matches!(settle(&mut plan, 2_000).as_slice(), [Op::SetRamping { .. }]),
        "stepped on, not rolled back"
    );
}

#[test]
fn the_plan_survives_continue_as_new_as_json() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    counts(&mut plan, 1, "h1", "b", 1, 2, 0);
    plan.report(
        2,
        Report::Refused {
            host: "h2".into(),
            errors: vec!["x.wasm: bad".into()],
        },
    );
    let json = serde_json::to_string(&plan).expect("to json");
    let back: Plan = serde_json::from_str(&json).expect("from json");
    assert_eq!(back, plan);
}

#[test]
fn drained_builds_are_recorded_once_and_revert_needs_a_host_that_polls() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h2", "a", immediate());
    registered(&mut plan, 0, "h1", "b", immediate());
    settle(&mut plan, 0);
    plan.report(
        50,
        Report::Drained {
            host: "h1".into(),
            build_id: "a".into(),
            at_limit: false,
        },
    );
    assert_eq!(plan.builds[0].drained_ms, Some(50));
    // h2 still polls `a`: it can be made current again.
    plan.command(
        55,
        Command::Revert {
            build_id: "a".into(),
        },
    )
    .expect("h2 polls a");
    plan.command(56, Command::Pause).expect("pause");
    plan.requested = None;
    plan.report(
        60,
        Report::Drained {
            host: "h2".into(),
            build_id: "a".into(),
            at_limit: true,
        },
    );
    assert_eq!(
        plan.builds[0].drained_ms,
        Some(50),
        "the first drain is kept"
    );
    let e = plan
        .command(
            70,
            Command::Revert {
                build_id: "a".into(),
            },
        )
        .expect_err("nobody polls a");
    assert!(e.contains("no host polls a any more"), "{e}");
    // A host with its files again makes it possible.
    registered(&mut plan, 80, "h3", "a", immediate());
    plan.command(
        81,
        Command::Revert {
            build_id: "a".into(),
        },
    )
    .expect("h3 polls a");
}

#[test]
fn routing_adopted_from_the_server_is_older_than_every_reported_build() {
    // A coordinator starting over meets a deployment already routed to `x`.
    let mut plan = Plan::default();
    registered(&mut plan, 0, "h1", "y", immediate());
    assert_eq!(plan.next(0), Some(current("y")));
    plan.applied(
        0,
        Err(OpError {
            message: "the deployment already routes to x".into(),
            server: Some(ServerRouting {
                current: Some("x".into()),
                ramping: None,
            }),
        }),
    );
    assert_eq!(plan.current.as_deref(), Some("x"));
    assert_eq!(state(&plan, "y"), BuildState::Waiting);
    assert_eq!(settle(&mut plan, 1), vec![], "paused for an operator");
    plan.command(2, Command::Resume).expect("resume");
    assert_eq!(
        settle(&mut plan, 2),
        vec![current("y")],
        "y counts as newer"
    );
}

#[test]
fn a_newer_command_is_not_cleared_by_the_op_of_the_one_it_replaced() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", immediate());
    settle(&mut plan, 0);
    registered(&mut plan, 0, "h1", "c", progressive(None));
    settle(&mut plan, 0);
    plan.command(1, Command::Promote).expect("promote c");
    assert_eq!(plan.next(1), Some(current("c")));
    // While it runs, the operator changes their mind.
    plan.command(
        2,
        Command::Revert {
            build_id: "b".into(),
        },
    )
    .expect("revert to b");
    plan.applied(3, Ok(()));
    assert_eq!(plan.current.as_deref(), Some("c"));
    assert_eq!(
        settle(&mut plan, 4),
        vec![current("b")],
        "the revert still happens"
    );
}

#[test]
fn promoting_a_waiting_build_removes_another_builds_ramp_first() {
    let mut plan = with_current("a");
    registered(&mut plan, 0, "h1", "b", progressive(None));
    settle(&mut plan, 0);
    plan.command(1, Command::Pause).expect("pause");
    registered(&mut plan, 1, "h1", "c", progressive(None));
    plan.command(2, Command::Promote).expect("promote");
    let ops = settle(&mut plan, 2);
    assert!(
        matches!(ops.as_slice(), [Op::SetCurrent { build_id }] if build_id == "b"),
        "the ramping build is what promote names: {ops:?}"
    );
    plan.command(3, Command::Promote)
        .expect("promote the waiting one");
    let ops = settle(&mut plan, 3);
    assert_eq!(ops, vec![current("c")]);
}
