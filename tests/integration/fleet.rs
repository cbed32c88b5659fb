//! Fleet rollouts with several real host processes (the binary) on one task queue and
//! deployment: the coordinator workflow decides for all of them, under steady load.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES, TEST_WORKFLOWS};
use crate::common::workflows::client;
use crate::common::{eventually, shared_server, spawn_host, unique};
use crate::hot_swap::{pinned_build, publish};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use test_workflows::{ChildWorkflow, SignalQueryWorkflow, SometimesFailingWorkflow};

/// One host process of the fleet.
struct Member {
    child: tokio::process::Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

/// What the hosts of one test share.
struct Fleet {
    queue: String,
    deployment: String,
}

impl Fleet {
    /// Runs `wasm-worker rollout ARGS` for this deployment; its exit code and output.
    fn rollout(&self, args: &[&str]) -> (i32, String) {
        let out = std::process::Command::new(crate::common::host_binary())
            .env_clear()
            .arg("rollout")
            .args(args)
            .args([
                "--address",
                shared_server(),
                "--task-queue",
                &self.queue,
                "--deployment-name",
                &self.deployment,
            ])
            .output()
            .expect("running wasm-worker rollout");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    fn new() -> Self {
        Fleet {
            queue: unique("fleet-q"),
            deployment: unique("fleet-dep"),
        }
    }

    /// Starts a fleet host with `files` in a plugins folder of its own (or `dir`'s, kept) and
    /// the default (immediate) rollout.
    fn spawn(&self, files: &[(&str, Vec<u8>)], dir: Option<tempfile::TempDir>) -> Member {
        self.spawn_with(files, dir, &[])
    }

    /// [`Fleet::spawn`] with more flags.
    fn spawn_with(
        &self,
        files: &[(&str, Vec<u8>)],
        dir: Option<tempfile::TempDir>,
        extra: &[&str],
    ) -> Member {
        let mut args = vec!["--fleet"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--drain-limit") {
            args.extend_from_slice(&["--drain-limit", "2m"]);
        }
        self.spawn_host(files, dir, &args)
    }

    /// A host on the same task queue and deployment with exactly `args` for its rollout.
    fn spawn_host(
        &self,
        files: &[(&str, Vec<u8>)],
        dir: Option<tempfile::TempDir>,
        extra: &[&str],
    ) -> Member {
        let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
        for entry in std::fs::read_dir(dir.path()).expect("read dir") {
            std::fs::remove_file(entry.expect("entry").path()).expect("clear");
        }
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write plugin");
        }
        let mut args = vec![
            "--address",
            shared_server(),
            "--task-queue",
            &self.queue,
            "--deployment-name",
            &self.deployment,
            "--shutdown-grace",
            "5s",
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--drain-limit") {
            args.extend_from_slice(&["--drain-limit", "2m"]);
        }
        let (child, addr) = spawn_host(&args, &[], dir.path(), std::process::Stdio::null());
        Member { child, addr, dir }
    }
}

/// A host's `/status`; `None` while it does not answer yet.
async fn status(addr: SocketAddr) -> Option<Value> {
    let resp = reqwest::get(format!("http://{addr}/status")).await.ok()?;
    if resp.status() != 200 {
        return None;
    }
    serde_json::from_str(&resp.text().await.ok()?).ok()
}

/// The coordinator's plan as a host's `/status` shows it.
async fn plan(addr: SocketAddr) -> Option<Value> {
    let plan = status(addr).await?["fleet"]["plan"].clone();
    (!plan.is_null()).then_some(plan)
}

/// The host's generation in `state`, if any.
async fn generation(addr: SocketAddr, state: &str) -> Option<String> {
    status(addr).await?["generations"]
        .as_array()?
        .iter()
        .find(|g| g["state"] == state)?["build_id"]
        .as_str()
        .map(str::to_string)
}

/// Waits until every host shows `build` current, locally and in the coordinator's plan.
async fn all_current(members: &[&Member], build: Option<&str>) -> String {
    let addrs: Vec<SocketAddr> = members.iter().map(|m| m.addr).collect();
    eventually(
        Duration::from_secs(90),
        "every host to follow the coordinator's current build",
        || {
            let addrs = addrs.clone();
            async move {
                let mut seen = None;
                for addr in addrs {
                    let current = plan(addr).await?["current"].as_str()?.to_string();
                    if build.is_some_and(|b| b != current)
                        || seen.as_ref().is_some_and(|s| *s != current)
                        || generation(addr, "current").await.as_deref() != Some(&current)
                    {
                        return None;
                    }
                    seen = Some(current);
                }
                seen
            }
        },
    )
    .await
}

/// The deployment's current build as the server routes it.
async fn server_current(client: &Client, deployment: &str) -> String {
    use temporalio_client::tonic::Request;
    use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkerDeploymentRequest;
    let request = DescribeWorkerDeploymentRequest {
        namespace: "default".into(),
        deployment_name: deployment.to_string(),
    };
    client
        .connection()
        .workflow_service()
        .describe_worker_deployment(Request::new(request))
        .await
        .expect("describe the deployment")
        .into_inner()
        .worker_deployment_info
        .and_then(|i| i.routing_config)
        .and_then(|r| r.current_deployment_version)
        .map(|v| v.build_id)
        .unwrap_or_default()
}

/// Starts quick runs back to back until stopped; panics on any that failed; returns the IDs
/// of those that completed.
fn steady_load(
    client: Client,
    queue: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut done = Vec::new();
        let mut i = 0u32;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let id = unique("fleet-run");
            let handle = client
                .start_workflow(
                    ChildWorkflow::run,
                    i,
                    WorkflowStartOptions::new(&queue, &id).build(),
                )
                .await
                .expect("start");
            let doubled = handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("every run completes");
            assert_eq!(doubled, i * 2);
            done.push(id);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done
    })
}

/// (a) Three hosts receive new files one after another: one rollout, every run completes,
/// pinned runs finish on their build. (b) A host restarted with the old files serves but does
/// not move routing back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_roll_out_once_and_a_stale_restart_moves_nothing() {
    let fleet = Fleet::new();
    let old = [("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))];
    let mut members: Vec<Member> = (0..3).map(|_| fleet.spawn(&old, None)).collect();
    let old_build = all_current(&members.iter().collect::<Vec<_>>(), None).await;

    let client = client(shared_server()).await;
    // Pinned runs that stay open across the rollout.
    let mut pinned = Vec::new();
    for _ in 0..2 {
        let id = unique("fleet-pinned");
        client
            .start_workflow(
                SignalQueryWorkflow::run,
                "waiting".to_string(),
                WorkflowStartOptions::new(&fleet.queue, &id).build(),
            )
            .await
            .expect("start a pinned run");
        pinned.push(id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(client.clone(), fleet.queue.clone(), stop.clone());

    // New files reach the hosts one after another.
    for m in &members {
        publish(
            m.dir.path(),
            "hello_activity.wasm",
            &guests::bytes(HELLO_ACTIVITY),
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    let new_build = all_current(&members.iter().collect::<Vec<_>>(), None).await;
    assert_ne!(new_build, old_build);

    let p = plan(members[0].addr).await.expect("plan");
    let builds = p["builds"].as_array().expect("builds");
    let new = builds
        .iter()
        .find(|b| b["build_id"] == new_build.as_str())
        .expect("the new build in the plan");
    assert_eq!(new["hosts"].as_array().map(Vec::len), Some(3), "{p}");
    let old_entry = builds
        .iter()
        .find(|b| b["build_id"] == old_build.as_str())
        .expect("the old build in the plan");
    assert_eq!(old_entry["state"]["state"], "superseded", "{p}");
    let made_current = p["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter(|d| d[1] == format!("{new_build} is current").as_str())
        .count();
    assert_eq!(made_current, 1, "one rollout of the new build: {p}");

    // The pinned runs finish on the build they started on.
    for id in &pinned {
        let handle = client.get_workflow_handle::<SignalQueryWorkflow>(id.as_str());
        handle
            .signal(
                SignalQueryWorkflow::finish,
                "done".to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("the pinned run completes");
        assert!(result.contains("done"), "{result}");
        assert_eq!(pinned_build(&client, id).await, old_build, "{id}");
    }
    stop.store(true, Ordering::Relaxed);
    let completed = load.await.expect("load task");
    assert!(!completed.is_empty(), "the steady load ran");
    // With its pinned runs done, the old build drains; the coordinator records when.
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    loop {
        let p = plan(members[0].addr).await.expect("plan");
        if build_entry(&p, &old_build)["drained_ms"].is_u64() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let mut statuses = Vec::new();
            for m in &members {
                statuses.push(status(m.addr).await);
            }
            panic!("the old build was never recorded drained: {p}\nhosts: {statuses:?}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // (b) The third host restarts with last week's files.
    let stale = members.pop().expect("three hosts");
    let mut child = stale.child;
    child.start_kill().expect("kill");
    let _ = child.wait().await;
    // A short drain limit: its old build is retired, so it soon has nothing to serve.
    let restarted = fleet.spawn_with(&old, Some(stale.dir), &["--drain-limit", "5s"]);
    eventually(
        Duration::from_secs(60),
        "the restarted host to poll its old build and follow the coordinator",
        || async {
            // Retired at once; stopped as soon as the server reports it drained.
            let draining = generation(restarted.addr, "draining").await;
            let drained = generation(restarted.addr, "drained").await;
            (draining.as_deref() == Some(old_build.as_str())
                || drained.as_deref() == Some(old_build.as_str()))
            .then_some(())
        },
    )
    .await;
    // A few of its ticks later, routing has not moved back.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let p = plan(restarted.addr).await.expect("plan");
    assert_eq!(p["current"], new_build.as_str(), "{p}");
    // Its only build retired and stopped: it serves nothing, and says so.
    let addr = restarted.addr;
    let not_ready = eventually(
        Duration::from_secs(60),
        "the restarted host to report not ready",
        || async move {
            let resp = reqwest::get(format!("http://{addr}/readyz")).await.ok()?;
            if resp.status() != 503 {
                return None;
            }
            resp.text().await.ok()
        },
    )
    .await;
    assert!(not_ready.contains("retired every build"), "{not_ready}");
    members.push(restarted);
    let current = all_current(
        &members.iter().take(2).collect::<Vec<_>>(),
        Some(&new_build),
    )
    .await;
    assert_eq!(current, new_build);
    let routed = server_current(&client, &fleet.deployment).await;
    assert_eq!(
        routed, new_build,
        "the server's routing is the coordinator's"
    );
}

/// The decisions in the plan that say `what`.
fn decisions_saying(plan: &Value, what: &str) -> Vec<String> {
    plan["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d[1].as_str())
        .filter(|d| d.contains(what))
        .map(str::to_string)
        .collect()
}

/// The build's entry in the plan.
fn build_entry<'a>(plan: &'a Value, build: &str) -> &'a Value {
    plan["builds"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["build_id"] == build))
        .unwrap_or_else(|| panic!("{build} in the plan: {plan}"))
}

/// The files of the failing-build scenarios: the test workflows and activities; `failing`
/// adds a manifest making 30% of `fail_percent`'s inputs fail (a new build, same code).
fn activity_files(failing: bool) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
        ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
    ];
    if failing {
        files.push((
            "test_activities.toml",
            b"env = { FAIL_PERCENT = \"30\" }\n".to_vec(),
        ));
    }
    files
}

/// Starts `SometimesFailingWorkflow` runs back to back until stopped; returns how many
/// completed (every one must: the activity's failures are caught by the workflow).
fn failing_load(
    client: Client,
    queue: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut i = 0u32;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let handle = client
                .start_workflow(
                    SometimesFailingWorkflow::run,
                    i,
                    WorkflowStartOptions::new(&queue, unique("fleet-flaky")).build(),
                )
                .await
                .expect("start");
            let outcome = handle
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("every run completes");
            assert!(
                outcome.starts_with("ok ") || outcome.starts_with("failed: "),
                "{outcome}"
            );
        }
        u64::from(i)
    })
}

/// (c) A progressive rollout of a build whose activity fails 30% of the time is rolled back
/// once, judged on the counts of every host together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_build_is_rolled_back_once_on_counts_from_all_hosts() {
    let fleet = Fleet::new();
    let flags = [
        "--rollout",
        "progressive:50%/10m",
        "--ramp-promote-after",
        "1000",
        "--ramp-max-failure-rate",
        "0.05",
    ];
    let members: Vec<Member> = (0..2)
        .map(|_| fleet.spawn_with(&activity_files(false), None, &flags))
        .collect();
    let everyone: Vec<&Member> = members.iter().collect();
    let old_build = all_current(&everyone, None).await;

    let client = client(shared_server()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = failing_load(client.clone(), fleet.queue.clone(), stop.clone());
    for m in &members {
        publish(
            m.dir.path(),
            "test_activities.toml",
            &activity_files(true)[2].1,
        );
    }
    let addr = members[0].addr;
    let rolled_back = eventually(Duration::from_secs(120), "the rollback", || async move {
        let p = plan(addr).await?;
        let rolled = decisions_saying(&p, "rolled back");
        (!rolled.is_empty()).then_some((p, rolled))
    })
    .await;
    let (p, rolled) = rolled_back;
    assert!(
        rolled[0].contains("failed on all hosts together"),
        "{rolled:?}"
    );
    let bad = rolled[0].split(' ').next().expect("build").to_string();
    assert_ne!(bad, old_build);
    assert!(
        decisions_saying(&p, &format!("{bad} ramps at 50%")).len() == 1,
        "{p}"
    );
    // Both hosts polled the bad build and reported it.
    eventually(
        Duration::from_secs(30),
        "both hosts on the bad build's record",
        || async {
            let p = plan(addr).await?;
            (build_entry(&p, &bad)["hosts"].as_array()?.len() == 2).then_some(())
        },
    )
    .await;
    // Runs keep completing on the old build; the bad one is never ramped again.
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let completed = load.await.expect("load");
    assert!(completed >= 5, "{completed} runs");
    let p = plan(addr).await.expect("plan");
    assert_eq!(p["current"], old_build.as_str(), "{p}");
    assert!(p["ramp"].is_null(), "{p}");
    assert_eq!(
        decisions_saying(&p, "rolled back").len(),
        1,
        "rolled back once: {p}"
    );
    assert_eq!(
        build_entry(&p, &bad)["state"]["state"],
        "rolled_back",
        "{p}"
    );
    for m in &members {
        let s = status(m.addr).await.expect("status");
        assert_eq!(
            s["fleet"]["plan"]["current"],
            old_build.as_str(),
            "every host shows the same rollout state"
        );
    }
}

/// The identity of the worker that completed the coordinator's last workflow task.
async fn coordinator_worker(client: &Client, deployment: &str) -> Option<String> {
    use temporalio_client::{UntypedWorkflow, WorkflowFetchHistoryOptions};
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    let events = client
        .get_workflow_handle::<UntypedWorkflow>(format!("wasm-worker-rollout/{deployment}"))
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .ok()?;
    events.iter().rev().find_map(|e| match &e.attributes {
        Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a.identity.clone()),
        _ => None,
    })
}

/// (d) The host running the coordinator is killed with SIGKILL during a step; another host
/// carries the rollout on from the coordinator's history and every run completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rollout_completes_after_the_coordinators_host_is_killed() {
    let fleet = Fleet::new();
    let flags = [
        "--rollout",
        "progressive:20%/3s,60%/3s",
        "--ramp-promote-after",
        "1",
    ];
    let old = [("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))];
    let mut members: Vec<Member> = (0..3)
        .map(|_| fleet.spawn_with(&old, None, &flags))
        .collect();
    let old_build = all_current(&members.iter().collect::<Vec<_>>(), None).await;
    let client = client(shared_server()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(client.clone(), fleet.queue.clone(), stop.clone());
    for m in &members {
        publish(
            m.dir.path(),
            "hello_activity.wasm",
            &guests::bytes(HELLO_ACTIVITY),
        );
    }
    let addr = members[0].addr;
    eventually(Duration::from_secs(60), "the first step", || async move {
        let p = plan(addr).await?;
        p["ramp"].is_object().then_some(())
    })
    .await;
    // Kill whichever host executes the coordinator right now.
    let identity = coordinator_worker(&client, &fleet.deployment)
        .await
        .expect("the coordinator ran a workflow task");
    let pid: u32 = identity
        .split('@')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a pid in {identity}"));
    let victim = members
        .iter()
        .position(|m| m.child.id() == Some(pid))
        .unwrap_or_else(|| panic!("{identity} is one of the hosts"));
    let killed = members.remove(victim);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9");
    drop(killed);
    let survivors: Vec<&Member> = members.iter().collect();
    let new_build = eventually(Duration::from_secs(120), "the rollout to complete", || {
        let addr = survivors[0].addr;
        let old_build = old_build.clone();
        async move {
            let p = plan(addr).await?;
            let current = p["current"].as_str()?.to_string();
            (current != old_build && p["ramp"].is_null()).then_some(current)
        }
    })
    .await;
    assert_eq!(all_current(&survivors, Some(&new_build)).await, new_build);
    let after = coordinator_worker(&client, &fleet.deployment)
        .await
        .expect("identity");
    assert_ne!(after, identity, "another host carried the coordinator on");
    stop.store(true, Ordering::Relaxed);
    let completed = load.await.expect("load task");
    assert!(!completed.is_empty());
}

/// (f) A gate workflow that fails stops the rollout before any traffic moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_gate_stops_the_rollout_before_any_traffic_moves() {
    let fleet = Fleet::new();
    // FailingWorkflow fails its run: the gate's verdict.
    let flags = [
        "--rollout",
        "progressive:50%/1s",
        "--gate-workflow",
        "FailingWorkflow",
        "--gate-input",
        "\"boom\"",
    ];
    let old = [("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))];
    let members: Vec<Member> = (0..2)
        .map(|_| fleet.spawn_with(&old, None, &flags))
        .collect();
    let old_build = all_current(&members.iter().collect::<Vec<_>>(), None).await;
    let client = client(shared_server()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = steady_load(client.clone(), fleet.queue.clone(), stop.clone());
    for m in &members {
        publish(
            m.dir.path(),
            "hello_activity.wasm",
            &guests::bytes(HELLO_ACTIVITY),
        );
    }
    let addr = members[0].addr;
    let p = eventually(
        Duration::from_secs(120),
        "the gate's verdict",
        || async move {
            let p = plan(addr).await?;
            (!decisions_saying(&p, "gate FailingWorkflow failed").is_empty()).then_some(p)
        },
    )
    .await;
    assert_eq!(p["current"], old_build.as_str(), "{p}");
    assert!(
        decisions_saying(&p, "ramps at").is_empty(),
        "no traffic moved: {p}"
    );
    assert_eq!(server_current(&client, &fleet.deployment).await, old_build);
    stop.store(true, Ordering::Relaxed);
    let runs = load.await.expect("load task");
    assert!(!runs.is_empty());
    for id in &runs {
        assert_eq!(
            pinned_build(&client, id).await,
            old_build,
            "{id} ran on the old build"
        );
    }

    // Operators see and steer the same state through the server, from the binary.
    let (code, out) = fleet.rollout(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("current      {old_build}")), "{out}");
    assert!(
        out.contains("rolled back (gate FailingWorkflow failed"),
        "{out}"
    );
    let (code, out) = fleet.rollout(&["revert", &old_build]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already current"), "{out}");
    let (code, out) = fleet.rollout(&["pause"]);
    assert_eq!((code, out.trim()), (0, "rollout paused"));
    let (_, out) = fleet.rollout(&["status"]);
    assert!(out.contains("(PAUSED)"), "{out}");
    for m in &members {
        let paused = eventually(
            Duration::from_secs(30),
            "every host's /status to show the pause",
            || async { plan(m.addr).await?["paused"].as_bool().filter(|p| *p) },
        )
        .await;
        assert!(paused);
    }
}

/// Runs the `temporal` CLI against the test server; panics with its output on failure.
fn temporal(args: &[&str]) {
    let out = std::process::Command::new(crate::common::server::temporal_cli())
        .args(args)
        .args(["--address", shared_server(), "--namespace", "default"])
        .output()
        .expect("running the temporal CLI");
    assert!(
        out.status.success(),
        "temporal {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs one quick workflow and returns the build it ran on.
async fn one_run(client: &Client, queue: &str) -> String {
    let id = unique("fleet-manual");
    let handle = client
        .start_workflow(
            ChildWorkflow::run,
            21,
            WorkflowStartOptions::new(queue, &id).build(),
        )
        .await
        .expect("start");
    let doubled = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the run completes");
    assert_eq!(doubled, 42);
    pinned_build(client, &id).await
}

/// (e) `--rollout manual` leaves routing exactly as an external `temporal worker deployment
/// set-current-version` sets it; the hosts only follow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_hosts_leave_routing_to_the_temporal_cli() {
    let fleet = Fleet::new();
    let (b1, b2) = (unique("manual-a"), unique("manual-b"));
    let one = [("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))];
    let two = [
        ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
        ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
    ];
    let h1 = fleet.spawn_host(&one, None, &["--rollout", "manual", "--build-id", &b1]);
    let h2 = fleet.spawn_host(&two, None, &["--rollout", "manual", "--build-id", &b2]);
    for (m, build) in [(&h1, &b1), (&h2, &b2)] {
        eventually(
            Duration::from_secs(60),
            "a manual host on standby",
            || async {
                (generation(m.addr, "standby").await.as_deref() == Some(build.as_str()))
                    .then_some(())
            },
        )
        .await;
    }
    let client = client(shared_server()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        server_current(&client, &fleet.deployment).await,
        "",
        "nobody routed"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let mut load = None;
    for (build, now_current, other) in [(&b1, &h1, &h2), (&b2, &h2, &h1)] {
        temporal(&[
            "worker",
            "deployment",
            "set-current-version",
            "--deployment-name",
            &fleet.deployment,
            "--build-id",
            build,
            "--yes",
        ]);
        eventually(
            Duration::from_secs(30),
            "the hosts to follow the CLI",
            || async {
                let current = generation(now_current.addr, "current").await;
                let standby = generation(other.addr, "standby").await;
                (current.as_deref() == Some(build.as_str()) && standby.is_some()).then_some(())
            },
        )
        .await;
        assert_eq!(one_run(&client, &fleet.queue).await, *build);
        // Steady load from the first routing on, across the switch.
        load.get_or_insert_with(|| steady_load(client.clone(), fleet.queue.clone(), stop.clone()));
    }
    stop.store(true, Ordering::Relaxed);
    let runs = load.expect("started").await.expect("load task");
    assert!(!runs.is_empty());
    // Several ticks later, routing is exactly what the CLI set.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(server_current(&client, &fleet.deployment).await, b2);
    // New files would need a new build ID: refused, saying so.
    publish(h2.dir.path(), "more.wasm", &guests::bytes(HELLO_ACTIVITY));
    let refusal = eventually(Duration::from_secs(30), "the refusal", || async {
        let s = status(h2.addr).await?;
        s["last_load_error"]["errors"][0]
            .as_str()
            .map(str::to_string)
    })
    .await;
    assert!(refusal.contains("--rollout manual"), "{refusal}");
    assert_eq!(
        generation(h2.addr, "current").await.as_deref(),
        Some(b2.as_str())
    );
}
