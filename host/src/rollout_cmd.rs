//! `wasm-worker rollout status|pause|resume|promote|rollback|revert BUILD`: the operator's
//! handle on a fleet rollout. It talks to the deployment's coordinator workflow through the
//! server (a query for `status`, an update for the rest), never to a host, so it works from
//! any machine that reaches the server, with the same connection settings as the hosts.

use crate::config::{Config, sources::Sources};
use crate::entry::{async_runtime, configured};
use crate::fleet::client::FleetClient;
use crate::fleet::plan::{BuildState, Command, Plan};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs the command; exit 1 when the coordinator cannot be reached or refuses the command, 2
/// for a usage or configuration error.
pub(crate) fn main(
    mut flags: HashMap<&'static str, String>,
    config_file: Option<&std::path::Path>,
    action: &str,
    build: Option<String>,
    json: bool,
) -> ExitCode {
    let command = match (action, build) {
        ("status", None) => None,
        ("pause", None) => Some(Command::Pause),
        ("resume", None) => Some(Command::Resume),
        ("promote", None) => Some(Command::Promote),
        ("rollback", None) => Some(Command::Rollback),
        ("revert", Some(build_id)) => Some(Command::Revert { build_id }),
        ("revert", None) => {
            eprintln!("wasm-worker: `rollout revert` needs the BUILD to make current again");
            return ExitCode::from(2);
        }
        (other, Some(_)) => {
            eprintln!("wasm-worker: `rollout {other}` takes no BUILD");
            return ExitCode::from(2);
        }
        (other, None) => {
            eprintln!("wasm-worker: unknown rollout action `{other}`");
            return ExitCode::from(2);
        }
    };
    // The plugins folder need not exist where an operator runs this; a short connect limit
    // unless one was given: an operator waits for an answer, not for a server to appear.
    flags.entry("plugins_dir").or_insert_with(|| ".".into());
    flags
        .entry("connect_timeout")
        .or_insert_with(|| "15s".into());
    let environment: HashMap<String, String> = std::env::vars().collect();
    let config = match configured(
        Sources::new(flags, |k| std::env::var(k).ok(), config_file)
            .and_then(|src| src.with_temporal_profile(&environment, false))
            .and_then(|src| Config::resolve(&src)),
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runtime = match async_runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(run(&config, command, json)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasm-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: &Config, command: Option<Command>, json: bool) -> anyhow::Result<ExitCode> {
    let metrics = crate::metrics::HostMetrics::new();
    let stop = tokio_util::sync::CancellationToken::new();
    let connection = crate::connect::connect(config, &metrics, &stop, |_| {}).await?;
    let client = FleetClient::new(
        connection,
        &config.namespace,
        &config.deployment_name,
        &config.task_queue,
    )?;
    let Some(command) = command else {
        let plan = client.plan().await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", render(&client.workflow_id(), &plan, now_ms()));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let answer = client.command(command).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else if answer.accepted {
        println!("{}", answer.message);
    } else {
        eprintln!("wasm-worker: refused: {}", answer.message);
    }
    Ok(if answer.accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn state_name(s: &BuildState) -> String {
    match s {
        BuildState::Waiting => "waiting".into(),
        BuildState::Gating => "gating".into(),
        BuildState::Ramping => "ramping".into(),
        BuildState::Current => "current".into(),
        BuildState::Superseded => "superseded".into(),
        BuildState::Stale => "stale".into(),
        BuildState::RolledBack { reason } => format!("rolled back ({reason})"),
    }
}

fn ago(now_ms: u64, at_ms: u64) -> String {
    let secs = now_ms.saturating_sub(at_ms) / 1000;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string() + " ago"
}

/// The plan as an operator reads it: routing, every build (oldest first) with its hosts and
/// summed counts, the last decisions.
pub(crate) fn render(coordinator: &str, plan: &Plan, now_ms: u64) -> String {
    let mut out = String::new();
    let paused = if plan.paused { "  (PAUSED)" } else { "" };
    let _ = writeln!(out, "coordinator  {coordinator}{paused}");
    let _ = writeln!(
        out,
        "current      {}",
        plan.current.as_deref().unwrap_or("-")
    );
    match &plan.ramp {
        Some(r) => {
            let steps = plan
                .builds
                .iter()
                .find(|b| b.build_id == r.build_id)
                .map_or(0, |b| b.policy.steps.len());
            let _ = writeln!(
                out,
                "ramping      {} at {}% (step {} of {steps}, since {})",
                r.build_id,
                r.percent,
                r.step + 1,
                ago(now_ms, r.since_ms)
            );
        }
        None => {
            let _ = writeln!(out, "ramping      -");
        }
    }
    let _ = writeln!(
        out,
        "\nBUILD  STATE  HOSTS  RUNS  OK  FAILED  FIRST REPORTED  DRAINED"
    );
    for b in &plan.builds {
        let t = b.total();
        let total = (t.runs_completed, t.succeeded, t.failed);
        let _ = writeln!(
            out,
            "{}  {}  {}  {}  {}  {}  {}  {}",
            b.build_id,
            state_name(&b.state),
            b.hosts.len(),
            total.0,
            total.1,
            total.2,
            ago(now_ms, b.first_reported_ms),
            b.drained_ms.map_or_else(|| "-".into(), |d| ago(now_ms, d)),
        );
    }
    for (host, refusal) in &plan.refusals {
        let _ = writeln!(
            out,
            "\nrefused files on {host} ({}): {}",
            ago(now_ms, refusal.at_ms),
            refusal.errors.join("; ")
        );
    }
    if !plan.decisions.is_empty() {
        let _ = writeln!(
            out,
            "\nlast decisions (the coordinator's history has them all):"
        );
        for (at, what) in &plan.decisions {
            let _ = writeln!(out, "  {}  {what}", ago(now_ms, *at));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::plan::{Report, Tally};
    use crate::fleet::policy::{Policy, Step};

    #[test]
    fn the_status_names_routing_builds_counts_and_decisions() {
        let mut plan = Plan::default();
        let progressive = Policy {
            steps: vec![
                Step {
                    percent: 10.0,
                    pause_ms: 0,
                },
                Step {
                    percent: 50.0,
                    pause_ms: 0,
                },
            ],
            min_runs: 100,
            ..Policy::immediate()
        };
        for (host, build, policy) in [
            ("h1", "b1", Policy::immediate()),
            ("h1", "b2", progressive.clone()),
            ("h2", "b2", progressive),
        ] {
            plan.report(
                1_000,
                Report::Registered {
                    host: host.into(),
                    build_id: build.into(),
                    policy,
                },
            );
            while plan.next(1_000).is_some() {
                plan.applied(1_000, Ok(()));
            }
        }
        plan.report(
            2_000,
            Report::Counts {
                host: "h2".into(),
                build_id: "b2".into(),
                counts: Tally {
                    runs_completed: 3,
                    succeeded: 7,
                    failed: 1,
                },
            },
        );
        let text = render("wasm-worker-rollout/d", &plan, 61_000);
        assert!(text.contains("current      b1\n"), "{text}");
        assert!(
            text.contains("ramping      b2 at 10% (step 1 of 2, since 1m ago)"),
            "{text}"
        );
        assert!(
            text.contains("b2  ramping  2  3  7  1  1m ago  -"),
            "{text}"
        );
        assert!(text.contains("b2 ramps at 10%"), "{text}");
    }
}
