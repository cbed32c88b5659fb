//! Hostile clients and plugins, round two: whatever a caller or a plugin can make the host
//! *keep* — metric series, connections, cached runs' memory — has an upper bound, and the host
//! keeps serving at it.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES, TEST_WORKFLOWS};
use crate::common::workflows::{ByName, Call, client, run};
use crate::common::{
    self, eventually, http_get, plugin_host, plugin_host_with, shared_server, unique,
};
use serde_json::json;
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use test_workflows::{BallastWorkflow, FloodWorkflow, ballast_checksum};
use tokio::io::AsyncWriteExt;

/// The value of an unlabelled series on a `/metrics` page.
fn gauge(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let value = l.strip_prefix(name)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_names_chosen_by_clients_never_become_metric_series() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
            ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
        ],
        &[],
    )
    .await;
    let addr = host.metrics_addr();
    let client = client(shared_server()).await;
    let tag = unique("rnd").replace('-', "_");
    let mut started = Vec::new();
    for i in 0..30 {
        let name: &'static str = Box::leak(format!("Wf_{tag}_{i}").into_boxed_str());
        let id = unique("rnd-wf");
        client
            .start_workflow(
                ByName(name),
                json!(null),
                WorkflowStartOptions::new(&queue, &id).build(),
            )
            .await
            .expect("start");
        started.push(id);
    }
    let calls = (0..10).map(|i| {
        let queue = queue.clone();
        let tag = tag.clone();
        async move {
            run(
                &queue,
                Call::new(&format!("act_{tag}_{i}"), &queue).attempts(1),
            )
            .await
        }
    });
    for outcome in futures::future::join_all(calls).await {
        assert!(
            outcome.error().contains("not provided by any plugin"),
            "{}",
            outcome.error()
        );
    }
    // Every random workflow type has reached the host (and core) at least once.
    let page = eventually(
        Duration::from_secs(60),
        "the unknown workflow types to be counted",
        || async move {
            let (_, page) = http_get(addr, "/metrics").await;
            let counted: f64 = page
                .lines()
                .filter(|l| l.starts_with("wasm_worker_unknown_type_tasks_total{kind=\"workflow\""))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            (counted >= 30.0).then_some(page)
        },
    )
    .await;
    // Only the unknown-type counter names them, and it keeps at most 100 names (unit-tested
    // in `metrics`); every other series, core's included, folds them into `other`.
    let leaked: Vec<&str> = page
        .lines()
        .filter(|l| l.contains(&tag) && !l.starts_with("wasm_worker_unknown_type_tasks_total"))
        .collect();
    assert!(
        leaked.is_empty(),
        "client-chosen names on /metrics:\n{}",
        leaked.join("\n")
    );
    // Core's own series are still there, for the types plugins provide and as `other`.
    assert!(page.contains("temporal_"), "core's series are served");
    assert!(
        page.lines()
            .any(|l| l.starts_with("temporal_") && l.contains("_type=\"other\"")),
        "core's series for unknown types are folded into `other`"
    );
    for id in started {
        let _ = client
            .get_workflow_handle::<ByName>(id.as_str())
            .terminate(Default::default())
            .await;
    }
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_requests_cannot_starve_the_host_of_descriptors() {
    // The real binary with a small descriptor limit, so exhausting it takes 200 connections.
    let plugins = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        plugins.path().join("hello_activity.wasm"),
        guests::bytes(HELLO_ACTIVITY),
    )
    .expect("write");
    let queue = unique("fds");
    let (mut child, addr) = common::spawn_host_with_fd_limit(
        160,
        &[
            "--address",
            shared_server(),
            "--task-queue",
            &queue,
            "--deployment-name",
            &unique("dep"),
        ],
        plugins.path(),
    );
    common::wait_ready(addr).await;
    // 200 clients that each send half a request and then nothing.
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\n")
            .await
            .expect("write");
        held.push(s);
    }
    // The host accepted only what its cap allows: descriptors are left for its own work.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().expect("pid");
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .count()
    };
    let while_held = fds();
    assert!(
        while_held <= 160 - 32,
        "with 200 half requests held the host has {while_held} descriptors of 160"
    );
    // A plugin published meanwhile loads: the reload found its descriptors.
    let staging = tempfile::tempdir().expect("staging");
    let staged = staging.path().join("test_activities.wasm");
    std::fs::write(&staged, guests::bytes(TEST_ACTIVITIES)).expect("write");
    std::fs::rename(&staged, plugins.path().join("test_activities.wasm")).expect("publish");
    eventually(
        Duration::from_secs(60),
        "the published plugin to be current",
        || async move {
            let status = crate::hot_swap::status(addr).await;
            status["generations"]
                .as_array()?
                .iter()
                .any(|g| g["state"] == "current" && g.to_string().contains("test_activities.wasm"))
                .then_some(())
        },
    )
    .await;
    let out = run(
        &queue,
        Call::new("echo_string", &queue).json(json!("still here")),
    )
    .await;
    assert_eq!(out.json(), json!("still here"));
    // Probes answer while the half requests are still held (they wait for a slot that the
    // header-read timeout frees).
    let (code, body) = http_get(addr, "/readyz").await;
    assert_eq!(code, 200, "{body}");
    drop(held);
    child.kill().await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_runs_share_one_memory_budget_and_evicted_runs_replay() {
    const MIB: u32 = 12;
    let (host, queue, _dir) = plugin_host_with(
        &[("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS))],
        &[],
        |c| c.workflow_memory_budget = 48 << 20,
    )
    .await;
    let addr = host.metrics_addr();
    let client = client(shared_server()).await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let handle = client
            .start_workflow(
                BallastWorkflow::run,
                MIB,
                WorkflowStartOptions::new(&queue, unique("ballast")).build(),
            )
            .await
            .expect("start");
        handles.push(handle);
    }
    // Eight runs of 12 MiB each would hold 96 MiB; the budget keeps them under 48 MiB.
    let evicted = eventually(
        Duration::from_secs(60),
        "the budget to evict the oldest runs",
        || async move {
            let (_, page) = http_get(addr, "/metrics").await;
            let held = gauge(&page, "wasm_worker_workflow_memory_bytes")?;
            let evicted = gauge(&page, "wasm_worker_workflow_memory_evictions_total")?;
            (evicted >= 4.0 && held <= f64::from(48u32 << 20)).then_some(evicted)
        },
    )
    .await;
    assert!(evicted >= 4.0, "{evicted}");
    // Every run, evicted or not, finishes with the state it built.
    for handle in &handles {
        handle
            .signal(
                BallastWorkflow::finish,
                "done".to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
    }
    for handle in handles {
        let sum = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        assert_eq!(sum, ballast_checksum(MIB));
    }
    // Finished runs leave the cache and give their memory back.
    eventually(
        Duration::from_secs(30),
        "the finished runs' memory to be released",
        || async move {
            let (_, page) = http_get(addr, "/metrics").await;
            (gauge(&page, "wasm_worker_workflow_memory_bytes")? == 0.0).then_some(())
        },
    )
    .await;
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_stays_on_loopback_when_metrics_are_exposed() {
    let (host, _queue, _dir) = plugin_host_with(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
        |c| {
            c.metrics_addr = "0.0.0.0:0".parse().expect("addr");
            c.status_addr = Some("127.0.0.1:0".parse().expect("addr"));
        },
    )
    .await;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], host.metrics_addr().port()));
    assert_eq!(http_get(metrics, "/readyz").await.0, 200);
    let (code, _) = http_get(metrics, "/status").await;
    assert_eq!(code, 404, "/status is not on the exposed port");
    assert_ne!(host.status_addr(), host.metrics_addr());
    assert!(host.status_addr().ip().is_loopback());
    let (code, body) = http_get(host.status_addr(), "/status").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("hello_activity.wasm"), "{body}");
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_task_too_large_to_send_fails_naming_the_cause() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
        ],
        &[],
    )
    .await;
    let client = client(shared_server()).await;
    // 20 × 64 KiB fits in one task; 100 × 64 KiB does not.
    let fits = client
        .start_workflow(
            FloodWorkflow::run,
            20,
            WorkflowStartOptions::new(&queue, unique("flood-ok")).build(),
        )
        .await
        .expect("start");
    let too_big = unique("flood");
    client
        .start_workflow(
            FloodWorkflow::run,
            100,
            WorkflowStartOptions::new(&queue, &too_big).build(),
        )
        .await
        .expect("start");
    let message = crate::workflows::features::task_failure(&client, &too_big).await;
    assert!(message.contains("exceed 3 MiB"), "{message}");
    assert!(message.contains("FloodWorkflow"), "{message}");
    let done = fits
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the smaller flood completes");
    assert_eq!(done, 20);
    assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
    let _ = client
        .get_workflow_handle::<FloodWorkflow>(too_big.as_str())
        .terminate(Default::default())
        .await;
    host.stop().await.expect("stop");
}
