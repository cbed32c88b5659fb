//! Hot swap on a real server: a changed plugins folder becomes a new build ID, made current;
//! pinned runs finish on the version they started on, which then drains and stops; invalid
//! files keep the old set serving; a revert returns to the earlier build ID.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_WORKFLOWS};
use crate::common::workflows::client;
use crate::common::{eventually, http_get, plugin_host, shared_server, unique};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use temporalio_client::tonic::Request;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::enums::v1::VersioningBehavior;
use temporalio_common::protos::temporal::api::workflow::v1::WorkflowExecutionVersioningInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
use test_workflows::SignalQueryWorkflow;

pub async fn status(addr: SocketAddr) -> Value {
    let (code, body) = http_get(addr, "/status").await;
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("/status is JSON")
}

/// The refusals of the last load on `/status` (empty when the last load was clean).
pub async fn load_errors(addr: SocketAddr) -> Vec<String> {
    status(addr).await["last_load_error"]["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Build IDs by state: (current, draining).
async fn generations(addr: SocketAddr) -> (String, Vec<String>) {
    let s = status(addr).await;
    let gens = s["generations"].as_array().cloned().unwrap_or_default();
    let current = gens
        .iter()
        .find(|g| g["state"] == "current")
        .and_then(|g| g["build_id"].as_str())
        .unwrap_or_default()
        .to_string();
    let draining = gens
        .iter()
        .filter(|g| g["state"] == "draining")
        .filter_map(|g| g["build_id"].as_str().map(str::to_string))
        .collect();
    (current, draining)
}

/// The safe way to publish: write beside, then rename into place.
pub fn publish(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, dir.join(name)).expect("rename");
}

/// A run's versioning info, from DescribeWorkflowExecution.
async fn versioning_info(client: &Client, id: &str) -> WorkflowExecutionVersioningInfo {
    let request = DescribeWorkflowExecutionRequest {
        namespace: "default".into(),
        execution: Some(WorkflowExecution {
            workflow_id: id.to_string(),
            run_id: String::new(),
        }),
    };
    client
        .connection()
        .workflow_service()
        .describe_workflow_execution(Request::new(request))
        .await
        .expect("describe")
        .into_inner()
        .workflow_execution_info
        .and_then(|i| i.versioning_info)
        .unwrap_or_default()
}

/// The build ID of the version a run's last workflow task ran on (its pin, when pinned).
pub async fn pinned_build(client: &Client, id: &str) -> String {
    versioning_info(client, id)
        .await
        .deployment_version
        .map(|d| d.build_id)
        .unwrap_or_default()
}

/// Publishes `name` into `dir` and waits for a build other than `old` to become current.
pub async fn swap_in(dir: &Path, addr: SocketAddr, name: &str, bytes: &[u8], old: &str) -> String {
    publish(dir, name, bytes);
    let current = eventually(
        Duration::from_secs(60),
        "a new current build",
        || async move {
            let (current, _) = generations(addr).await;
            (current != old && !current.is_empty()).then_some(current)
        },
    )
    .await;
    routed(addr, &current).await;
    current
}

/// Waits until the server reports the routing change to `build_id` in every task-queue
/// partition (`/status` `routing.propagated`): from then on, new runs and auto-upgrade tasks
/// go to it.
///
/// The server sometimes never reports a change propagated although routing did change
/// (temporalio/temporal#11842: `routingConfigUpdateState` stays IN_PROGRESS). After 30 s of
/// that, the change the server accepted is taken, with a few seconds for the partitions
/// (they take ~1 s when the report works), rather than failing on the server's report.
pub async fn routed(addr: SocketAddr, build_id: &str) {
    // When the host first showed this change: the 30 s count from there.
    let accepted_at = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let accepted = eventually(
        Duration::from_secs(90),
        "the routing change to reach every partition",
        || {
            let accepted_at = accepted_at.clone();
            async move {
                let s = status(addr).await;
                let r = &s["routing"];
                if r["build_id"] != build_id {
                    return None;
                }
                if r["propagated"] == true {
                    return Some(true);
                }
                let since = *accepted_at
                    .lock()
                    .expect("lock")
                    .get_or_insert_with(std::time::Instant::now);
                (since.elapsed() > Duration::from_secs(30)).then_some(false)
            }
        },
    )
    .await;
    if !accepted {
        eprintln!(
            "routing to {build_id}: accepted, the server still reports it propagating after 30 s (temporalio/temporal#11842); going on after 3 s"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// Starts `SignalQueryWorkflow(first)` as `id` and waits until it waits for its signal.
pub async fn start_waiting(client: &Client, queue: &str, id: &str, first: &str) {
    client
        .start_workflow(
            SignalQueryWorkflow::run,
            first.to_string(),
            WorkflowStartOptions::new(queue, id).build(),
        )
        .await
        .expect("start");
    wait_waiting(client, id, first).await;
}

async fn wait_waiting(client: &Client, id: &str, first: &str) {
    let handle = client.get_workflow_handle::<SignalQueryWorkflow>(id);
    let expected = format!("{first} then waiting");
    eventually(
        Duration::from_secs(30),
        "the run to wait for its signal",
        || {
            let (handle, expected) = (&handle, &expected);
            async move {
                let s = handle
                    .query(SignalQueryWorkflow::state, (), Default::default())
                    .await
                    .ok()?;
                (&s == expected).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_folder_rolls_out_a_new_build_while_pinned_runs_finish_on_the_old_one() {
    // The old generation must outlive the pinned run (signalled within seconds of the swap)
    // and then stop: when the server reports its version drained, or at the latest at this
    // limit (the dev server's drainage report can lag by minutes).
    let (host, queue, dir) = crate::common::plugin_host_with(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
        |c| c.drain_limit = Duration::from_secs(20),
    )
    .await;
    let addr = host.metrics_addr();
    let (first_build, draining) = generations(addr).await;
    assert!(
        first_build.starts_with("v1.0.0-"),
        "content-derived build ID: {first_build}"
    );
    assert!(draining.is_empty());
    let client = client(shared_server()).await;

    // A run pinned to the first build waits for its signal.
    let old_run = unique("old");
    start_waiting(&client, &queue, &old_run, "old").await;

    // Adding a plugin changes the set: a new build becomes current, the first one drains.
    let second_build = swap_in(
        dir.path(),
        addr,
        "hello_activity.wasm",
        &guests::bytes(HELLO_ACTIVITY),
        &first_build,
    )
    .await;
    // The old generation keeps polling for its pinned run: listed as draining (the status is
    // read after the swap settled, so allow it a moment).
    let first = first_build.clone();
    eventually(Duration::from_secs(10), "the first build draining", || {
        let first = first.clone();
        async move {
            let (_, draining) = generations(addr).await;
            draining.contains(&first).then_some(())
        }
    })
    .await;

    let new_run = unique("new");
    start_waiting(&client, &queue, &new_run, "new").await;
    assert_eq!(
        pinned_build(&client, &old_run).await,
        first_build,
        "the old run stays on the old build"
    );
    assert_eq!(
        pinned_build(&client, &new_run).await,
        second_build,
        "new runs go to the new build"
    );

    for (id, value) in [(&old_run, "x"), (&new_run, "y")] {
        let handle = client.get_workflow_handle::<SignalQueryWorkflow>(id.as_str());
        handle
            .signal(
                SignalQueryWorkflow::finish,
                value.to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        assert!(
            result.ends_with(&format!("finished with {value}")),
            "{result}"
        );
    }

    // With its pinned run finished, the old build drains and its generation stops.
    eventually(
        Duration::from_secs(90),
        "the old generation to drain and stop",
        || async move {
            let (_, draining) = generations(addr).await;
            draining.is_empty().then_some(())
        },
    )
    .await;
    let gens = status(addr).await["generations"].clone();
    assert!(
        gens.as_array().is_some_and(|g| g
            .iter()
            .any(|g| g["build_id"] == first_build.as_str() && g["state"] == "drained")),
        "the stopped generation is listed as drained: {gens}"
    );
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_swaps_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "wasm_worker_build_info{{build_id=\"{second_build}\",state=\"current\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&format!("build_id=\"{first_build}\"")),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_files_keep_the_old_set_and_a_revert_returns_to_the_old_build() {
    let (host, _queue, dir) = plugin_host(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    let (first_build, _) = generations(addr).await;

    // A half-written or broken file: refused, reported, the current build keeps serving.
    publish(dir.path(), "broken.wasm", b"\0asm\x0d\0\x01\0 truncated");
    let error = eventually(
        Duration::from_secs(30),
        "the load error on /status",
        || async move {
            let s = status(addr).await;
            s["last_load_error"]["errors"][0]
                .as_str()
                .map(str::to_string)
        },
    )
    .await;
    assert!(
        error.starts_with("plugin broken.wasm: not a valid component"),
        "{error}"
    );
    assert_eq!(generations(addr).await.0, first_build);
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_swaps_total{result=\"refused\"} 1"),
        "{metrics}"
    );

    // Removing it clears the error; the contents are back to the first build's.
    std::fs::remove_file(dir.path().join("broken.wasm")).expect("rm");
    eventually(
        Duration::from_secs(30),
        "the error to clear",
        || async move {
            status(addr).await["last_load_error"]
                .is_null()
                .then_some(())
        },
    )
    .await;
    assert_eq!(generations(addr).await.0, first_build);

    // Change, then revert: the first build is current again.
    publish(
        dir.path(),
        "hello_activity.wasm",
        &guests::bytes(HELLO_ACTIVITY),
    );
    let first = first_build.clone();
    eventually(Duration::from_secs(60), "the new build", || {
        let first = first.clone();
        async move { (generations(addr).await.0 != first).then_some(()) }
    })
    .await;
    std::fs::remove_file(dir.path().join("hello_activity.wasm")).expect("rm");
    let first = first_build.clone();
    eventually(
        Duration::from_secs(60),
        "the reverted build to be current",
        || {
            let first = first.clone();
            async move { (generations(addr).await.0 == first).then_some(()) }
        },
    )
    .await;
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_upgrade_type_moves_to_the_new_build_at_its_next_task() {
    // The manifest makes the type auto-upgrade (the host default is pinned).
    let (host, queue, dir) = plugin_host(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[(
            "test_workflows.toml",
            "[versioning_by_type]\nSignalQueryWorkflow = \"auto-upgrade\"\n",
        )],
    )
    .await;
    let addr = host.metrics_addr();
    let (first_build, _) = generations(addr).await;
    let types = status(addr).await["generations"][0]["plugins"][0]["types"].clone();
    assert!(
        types.as_array().is_some_and(|t| t
            .iter()
            .any(|t| t == "SignalQueryWorkflow (auto-upgrade)")
            && t.iter().any(|t| t == "ParentWorkflow (pinned)")),
        "/status shows each type's behaviour: {types}"
    );
    let client = client(shared_server()).await;
    let id = unique("upgrading");
    start_waiting(&client, &queue, &id, "old").await;
    assert_eq!(
        versioning_info(&client, &id).await.behavior(),
        VersioningBehavior::AutoUpgrade
    );
    assert_eq!(pinned_build(&client, &id).await, first_build);

    let second_build = swap_in(
        dir.path(),
        addr,
        "hello_activity.wasm",
        &guests::bytes(HELLO_ACTIVITY),
        &first_build,
    )
    .await;
    let handle = client.get_workflow_handle::<SignalQueryWorkflow>(id.as_str());
    handle
        .signal(
            SignalQueryWorkflow::finish,
            "z".to_string(),
            Default::default(),
        )
        .await
        .expect("signal");
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert!(result.ends_with("finished with z"), "{result}");
    assert_eq!(
        pinned_build(&client, &id).await,
        second_build,
        "the run's last task ran on the new build"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_compiled_plugins_from_the_compile_cache() {
    let cache = tempfile::tempdir().expect("tempdir");
    let files = [("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))];
    let source_counts = |metrics: &str| {
        ["memory", "disk", "compiled"].map(|source| {
            let prefix = format!("wasm_worker_compile_cache_total{{source=\"{source}\"}} ");
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .map_or(0, |n| n.trim().parse::<u64>().expect("a count"))
        })
    };
    let dir = cache.path().to_path_buf();
    let (host, _, _plugins) =
        crate::common::plugin_host_with(&files, &[], |c| c.compile_cache = Some(dir)).await;
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert_eq!(source_counts(&metrics), [0, 0, 1], "{metrics}");
    host.stop().await.expect("stop");
    let entries = std::fs::read_dir(cache.path())
        .expect("cache folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .count();
    assert_eq!(entries, 1, "one compiled artifact on disk");

    // A fresh process-like start (new engine, empty memory cache): read from disk.
    let dir = cache.path().to_path_buf();
    let (host, _, _plugins) =
        crate::common::plugin_host_with(&files, &[], |c| c.compile_cache = Some(dir)).await;
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert_eq!(source_counts(&metrics), [0, 1, 0], "{metrics}");
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_command_prints_a_running_hosts_generations() {
    let (host, _queue, dir) = plugin_host(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    publish(dir.path(), "broken.wasm", b"not wasm");
    eventually(Duration::from_secs(30), "the load error", || async move {
        status(addr).await["last_load_error"]
            .is_object()
            .then_some(())
    })
    .await;
    let (build, _) = generations(addr).await;
    let port = addr.port().to_string();
    let run = |extra: &'static [&'static str]| {
        let port = port.clone();
        async move {
            let out = tokio::process::Command::new(crate::common::host_binary())
                .args([
                    "status",
                    "--metrics-bind",
                    "127.0.0.1",
                    "--metrics-port",
                    &port,
                ])
                .args(extra)
                // The command needs no plugins folder where it runs.
                .env("WASM_WORKER_PLUGINS_DIR", "/nonexistent")
                .output()
                .await
                .expect("run status");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8(out.stdout).expect("utf-8")
        }
    };
    let text = run(&[]).await;
    assert!(text.contains(&format!("\n{build}  current\n")), "{text}");
    assert!(text.contains("  hello_activity.wasm  sha256:"), "{text}");
    assert!(
        text.contains("    greet_activity: greet-activity(name: string) -> string"),
        "{text}"
    );
    assert!(text.contains("  plugin broken.wasm: "), "{text}");
    let json: Value = serde_json::from_str(&run(&["--json"]).await).expect("JSON");
    assert_eq!(json, status(addr).await);

    // No host at the port: exit 1 with what to check.
    host.stop().await.expect("stop");
    let out = tokio::process::Command::new(crate::common::host_binary())
        .args(["status", "--metrics-port", &addr.port().to_string()])
        .output()
        .await
        .expect("run status");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no wasm-worker answers at"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_manifest_is_a_new_build() {
    let (host, _queue, dir) = plugin_host(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    let (first, _) = generations(addr).await;
    // Same code, different grants: a different version, never the same build ID.
    let second = swap_in(
        dir.path(),
        addr,
        "test_workflows.toml",
        b"versioning = \"auto-upgrade\"\n",
        &first,
    )
    .await;
    let types = status(addr).await["generations"][0]["plugins"][0]["types"].clone();
    assert!(
        types
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "ParentWorkflow (auto-upgrade)")),
        "{second}: {types}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_under_steady_load_lose_no_workflow() {
    use crate::common::guests::GREETING_WORKFLOW;
    use crate::common::workflows::ByName;
    // Old generations stop while the load goes on: their in-flight work must finish or move.
    let (host, queue, dir) = crate::common::plugin_host_with(
        &[
            ("greeting_workflow.wasm", guests::bytes(GREETING_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
        |c| c.drain_limit = Duration::from_secs(3),
    )
    .await;
    let addr = host.metrics_addr();
    let client = client(shared_server()).await;
    let load_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, queue, done) = (client.clone(), queue.clone(), load_done.clone());
        tokio::spawn(async move {
            let mut handles = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("n{}", handles.len());
                let handle = client
                    .start_workflow(
                        ByName("GreetingWorkflow"),
                        serde_json::json!(name),
                        WorkflowStartOptions::new(&queue, unique("load")).build(),
                    )
                    .await
                    .expect("start");
                handles.push((name, handle));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            handles
        })
    };
    // Three swaps while runs keep starting: add a plugin, remove it, add it again.
    let (mut build, _) = generations(addr).await;
    for step in 0..3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if step % 2 == 0 {
            build = swap_in(
                dir.path(),
                addr,
                "test_workflows.wasm",
                &guests::bytes(TEST_WORKFLOWS),
                &build,
            )
            .await;
        } else {
            std::fs::remove_file(dir.path().join("test_workflows.wasm")).expect("remove");
            build = eventually(Duration::from_secs(60), "the swap back", || {
                let old = build.clone();
                async move {
                    let (current, _) = generations(addr).await;
                    (current != old).then_some(current)
                }
            })
            .await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    load_done.store(true, std::sync::atomic::Ordering::Relaxed);
    let handles = load.await.expect("load task");
    assert!(handles.len() > 20, "the load ran: {} runs", handles.len());
    for (name, handle) in &handles {
        let result = tokio::time::timeout(
            Duration::from_secs(60),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .unwrap_or_else(|_| panic!("run for {name} did not finish"))
        .expect("result");
        assert_eq!(result, serde_json::json!(format!("Hello, {name}!")));
    }
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_swaps_total{result=\"ok\"} 3"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("wasm_worker_workflow_task_failures_total{"),
        "no workflow task failed: {metrics}"
    );
    host.stop().await.expect("stop");
}
