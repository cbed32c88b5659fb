//! Hostile plugins and a hostile world: whatever a plugin or the network does, the host stays
//! up and ready, says exactly what went wrong, counts it, keeps serving the other plugins, and
//! gives the memory back. (The basic cases — loops, memory bombs, traps, panics, sandbox
//! probes, bad files — are in `activities.rs`, `plugin_loading.rs` and `workflows.rs`.)

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES, TEST_WORKFLOWS};
use crate::common::workflows::{Call, client, run};
use crate::common::{
    self, eventually, http_get, plugin_host, plugin_host_with, shared_server, unique,
};
use serde_json::json;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use test_workflows::{ClockRandomWorkflow, Observed, RecursingWorkflow};

/// The calls every hostile case is followed by: the host is ready and another plugin serves.
async fn still_serving(host: &wasm_worker::RunningHost, queue: &str) {
    assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
    let out = run(
        queue,
        Call::new("greet_activity", queue).json(json!("still here")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, still here!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_overflow_and_huge_results_fail_only_their_activity() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[("test_activities.toml", "memory_limit_mib = 512\n")],
    )
    .await;

    let out = run(&queue, Call::new("recurse", &queue).json(json!(10_000_000))).await;
    assert_eq!(out.failure().error_type, "Trap", "{:?}", out.failure());
    assert!(
        out.error().contains("function `recurse`: trapped")
            && (out.error().contains("call stack exhausted")
                || out
                    .error()
                    .contains("recursion overflowing the guest's stack")),
        "{}",
        out.error()
    );

    // 200 MiB of result: refused before it reaches the server, not a crash or an OOM.
    let out = run(&queue, Call::new("big_result", &queue).json(json!(200))).await;
    let f = out.failure();
    assert!(
        f.error_type == "ResultTooLarge"
            && f.messages
                .iter()
                .any(|m| m.contains("exceeds the 2 MiB payload limit")),
        "a result over the payload limit is named as such: {f:?}"
    );

    still_serving(&host, &queue).await;
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("wasm_worker_plugin_failures_total{")
                && l.contains("activity_type=\"recurse\"")
                && l.contains("cause=\"trap\"")),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_do_not_leave_a_granted_folder() {
    let granted = tempfile::tempdir().expect("tempdir");
    let secret = tempfile::tempdir().expect("tempdir");
    std::fs::write(secret.path().join("secret.txt"), "top secret").expect("write");
    std::os::unix::fs::symlink(
        secret.path().join("secret.txt"),
        granted.path().join("file-link"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(secret.path(), granted.path().join("dir-link")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", granted.path().join("passwd")).expect("symlink");
    let manifest = format!(
        "[[dir]]\nhost = {:?}\nguest = \"/data\"\n",
        granted.path().display().to_string()
    );
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[("test_activities.toml", &manifest)],
    )
    .await;
    for path in [
        "/data/file-link",
        "/data/dir-link/secret.txt",
        "/data/passwd",
    ] {
        let out = run(&queue, Call::new("read_file", &queue).json(json!(path))).await;
        assert_eq!(
            out.failure().error_type,
            "PluginError",
            "{path}: {:?}",
            out.result
        );
        assert!(
            !out.error().contains("top secret") && !out.error().contains("root:"),
            "{path}: {}",
            out.error()
        );
    }
    still_serving(&host, &queue).await;
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_that_exhausts_its_stack_fails_only_its_task() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
    )
    .await;
    let client = client(shared_server()).await;
    client
        .start_workflow(
            RecursingWorkflow::run,
            (),
            WorkflowStartOptions::new(&queue, unique("recursing")).build(),
        )
        .await
        .expect("start");
    let addr = host.metrics_addr();
    eventually(
        Duration::from_secs(30),
        "the failed workflow task",
        || async move {
            let (_, metrics) = http_get(addr, "/metrics").await;
            metrics
                .lines()
                .any(|l| {
                    l.starts_with("wasm_worker_workflow_task_failures_total{")
                        && l.contains("workflow_type=\"RecursingWorkflow\"")
                        && l.contains("cause=\"trap\"")
                })
                .then_some(())
        },
    )
    .await;
    still_serving(&host, &queue).await;
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_and_randomness_read_directly_replay_identically() {
    let (host, queue, dir) = plugin_host(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
    )
    .await;
    let deployment = crate::hot_swap::status(host.metrics_addr()).await["deployment_name"]
        .as_str()
        .expect("deployment")
        .to_string();
    let client = client(shared_server()).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let start = |id: String| {
        let (client, queue) = (client.clone(), queue.clone());
        async move {
            client
                .start_workflow(
                    ClockRandomWorkflow::run,
                    (),
                    WorkflowStartOptions::new(&queue, id).build(),
                )
                .await
                .expect("start")
        }
    };
    let observe = |id: String| {
        let client = client.clone();
        async move {
            eventually(Duration::from_secs(30), "the observed values", || {
                let (client, id) = (client.clone(), id.clone());
                async move {
                    let h = client.get_workflow_handle::<ClockRandomWorkflow>(id.as_str());
                    let o: Observed = h
                        .query(ClockRandomWorkflow::observed, (), Default::default())
                        .await
                        .ok()?;
                    (o.now_ms != 0).then_some(o)
                }
            })
            .await
        }
    };
    let first_id = unique("clock");
    let first_handle = start(first_id.clone()).await;
    let first = observe(first_id.clone()).await;
    let second_id = unique("clock");
    let _second = start(second_id.clone()).await;
    let second = observe(second_id.clone()).await;
    // Workflow time, not the host's clock at some later replay; seeds differ per run.
    assert!(
        first.now_ms >= started.saturating_sub(5_000),
        "{first:?} vs {started}"
    );
    assert_ne!(first.random, second.random, "each run gets its own seed");

    // A second host process-equivalent (new engine, empty cache) replays the run from history
    // and must see exactly the same values.
    host.stop().await.expect("stop");
    let (host, _, _dir2) = plugin_host_with(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
        |c| {
            c.task_queue = queue.clone();
            c.deployment_name = deployment.clone();
        },
    )
    .await;
    drop(dir);
    let replayed = observe(first_id.clone()).await;
    assert_eq!(
        replayed, first,
        "replay from history saw the same clock and randomness"
    );
    first_handle
        .signal(ClockRandomWorkflow::finish, (), Default::default())
        .await
        .expect("signal");
    let result = first_handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result, first);
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_plugins_folder_keeps_the_old_set_serving() {
    let (host, queue, dir) = plugin_host(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    std::fs::remove_dir_all(dir.path()).expect("remove the folder");
    let error = eventually(
        Duration::from_secs(30),
        "the error on /status",
        || async move {
            let s = crate::hot_swap::status(addr).await;
            s["last_load_error"]["errors"][0]
                .as_str()
                .map(str::to_string)
        },
    )
    .await;
    assert!(error.contains("plugins folder"), "{error}");
    let out = run(
        &queue,
        Call::new("greet_activity", &queue).json(json!("still here")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, still here!"));
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosts_memory_returns_to_its_baseline_after_hostile_calls() {
    // The real binary, so its RSS is its own.
    let plugins = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in [
        ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
        ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
    ] {
        std::fs::write(plugins.path().join(name), bytes).expect("write");
    }
    std::fs::write(
        plugins.path().join("test_activities.toml"),
        "memory_limit_mib = 128\n",
    )
    .expect("write");
    let queue = unique("rss");
    let (child, addr) = common::spawn_host(
        &[
            "--address",
            shared_server(),
            "--task-queue",
            &queue,
            "--deployment-name",
            &unique("dep"),
        ],
        &[],
        plugins.path(),
        std::process::Stdio::null(),
    );
    common::wait_ready(addr).await;
    let pid = child.id().expect("pid");
    // Warm up: the first calls of each kind allocate what the host keeps (pool slots, caches).
    for _ in 0..2 {
        let _ = run(&queue, Call::new("hog_memory", &queue)).await;
        let _ = run(&queue, Call::new("big_result", &queue).json(json!(8))).await;
        let _ = run(&queue, Call::new("greet_activity", &queue).json(json!("w"))).await;
    }
    let baseline = common::proc_status_kib(pid, "VmRSS");
    for _ in 0..5 {
        let out = run(&queue, Call::new("hog_memory", &queue)).await;
        assert_eq!(out.failure().error_type, "MemoryLimitExceeded");
        let out = run(&queue, Call::new("big_result", &queue).json(json!(8))).await;
        assert!(out.failure.is_some(), "8 MiB is over the payload limit");
        let out = run(&queue, Call::new("recurse", &queue).json(json!(10_000_000))).await;
        assert_eq!(out.failure().error_type, "Trap");
    }
    let after = common::proc_status_kib(pid, "VmRSS");
    // Five memory bombs of 128 MiB each would show as hundreds of MiB if kept.
    assert!(
        after < baseline + 48 * 1024,
        "RSS grew from {baseline} KiB to {after} KiB"
    );
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_http_and_sockets_are_refused_named_and_counted() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
    )
    .await;
    // A listener the plugin would reach if the sandbox let it out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = listener.local_addr().expect("addr");

    let out = run(
        &queue,
        Call::new("http_get", &queue).json(json!(format!("http://{target}/secret"))),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    assert!(
        out.error().contains(&format!(
            "wasm-worker denied http://{target}/secret for plugin test_activities.wasm: no entry in allowed_outbound_hosts covers"
        )),
        "the guest's error names the URL and why: {}",
        out.error()
    );

    let out = run(
        &queue,
        Call::new("connect", &queue).json(json!(target.to_string())),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError", "{:?}", out.result);
    assert!(
        out.error().contains("ermission denied") || out.error().contains("ccess denied"),
        "TCP is off in the sandbox: {}",
        out.error()
    );

    // Neither attempt reached the network.
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to {target}"
    );
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    let line = "wasm_worker_sandbox_denials_total{kind=\"http\",plugin=\"test_activities.wasm\"} 1";
    assert!(metrics.contains(line), "{line} in {metrics}");
    still_serving(&host, &queue).await;
    host.stop().await.expect("stop");
}

/// A FIFO would block a loader that just reads it — and with it every later swap. Files that
/// are not regular files are refused by name, and the loader goes on working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_or_folder_named_like_a_plugin_is_refused_without_blocking_the_loader() {
    let (host, queue, dir) = plugin_host(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    let fifo = dir.path().join("hello_activity.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("running mkfifo");
    assert!(made.success(), "mkfifo failed");
    std::fs::create_dir(dir.path().join("folder.wasm")).expect("a folder named .wasm");
    let errors = eventually(
        Duration::from_secs(30),
        "both refusals on /status",
        || async move {
            let errors = crate::hot_swap::load_errors(addr).await;
            (errors.len() == 2).then_some(errors)
        },
    )
    .await;
    assert!(
        errors.iter().any(|e| e.contains("folder.wasm")
            && e.contains("not a regular file (a folder, FIFO or device)")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("hello_activity.toml")
            && e.contains("not a regular file (a folder, FIFO or device)")),
        "{errors:?}"
    );
    still_serving(&host, &queue).await;

    // The loader is not stuck: removing both is seen, and the error clears.
    std::fs::remove_file(&fifo).expect("remove the FIFO");
    std::fs::remove_dir(dir.path().join("folder.wasm")).expect("remove the folder");
    eventually(
        Duration::from_secs(30),
        "the error to clear",
        || async move {
            let s = crate::hot_swap::status(addr).await;
            s["last_load_error"].is_null().then_some(())
        },
    )
    .await;
    host.stop().await.expect("stop");
}
