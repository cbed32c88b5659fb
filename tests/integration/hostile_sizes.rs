//! Hostile sizes: what a plugin writes or returns, and what clients send it, costs the host a
//! bounded amount of memory however large it is — log records, results that are huge as JSON,
//! many large arguments at once.

use crate::common::guests::{self, TEST_ACTIVITIES};
use crate::common::workflows::{Call, run};
use crate::common::{self, http_get, plugin_host, shared_server, unique};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_log_records_is_cut_to_the_budget_and_counted() {
    let plugins = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        plugins.path().join("test_activities.wasm"),
        guests::bytes(TEST_ACTIVITIES),
    )
    .expect("write");
    let log = tempfile::NamedTempFile::new().expect("log file");
    let queue = unique("logs");
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
        log.reopen().expect("log file").into(),
    );
    common::wait_ready(addr).await;
    // 150 records of 1 MiB: 150 MiB asked for.
    let out = run(
        &queue,
        Call::new("log_flood", &queue)
            .json(json!(150))
            .json(json!(1024)),
    )
    .await;
    assert_eq!(out.json(), json!(150));
    let written = std::fs::read_to_string(log.path()).expect("read the log");
    assert!(
        written.len() < 512 << 10,
        "the host wrote {} bytes of log for one call",
        written.len()
    );
    assert!(
        written.contains("log_records_dropped=14"),
        "the dropped records are counted: {}",
        written
            .lines()
            .filter(|l| l.contains("dropped"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_far_larger_as_json_is_refused_before_it_is_built() {
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[],
    )
    .await;
    // 3.3 million booleans: 3.3 MB in the guest, ~18 MB as JSON.
    let out = run(
        &queue,
        Call::new("many_bools", &queue).json(json!(3_300_000)),
    )
    .await;
    let failure = out.failure();
    assert_eq!(failure.error_type, "ResultTooLarge", "{failure:?}");
    assert!(failure.non_retryable);
    assert!(out.error().contains("as JSON"), "{}", out.error());
    // A small one converts as usual.
    let out = run(&queue, Call::new("many_bools", &queue).json(json!(3))).await;
    assert_eq!(out.json(), json!([true, false, true]));
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_large_arguments_share_one_conversion_budget() {
    let plugins = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        plugins.path().join("test_activities.wasm"),
        guests::bytes(TEST_ACTIVITIES),
    )
    .expect("write");
    let queue = unique("conv");
    let (child, addr) = common::spawn_host(
        &[
            "--conversion-budget",
            "48MiB",
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
    let data: Vec<u8> = (0..450_000u32).map(|i| (i % 251) as u8).collect();
    let call = || Call::new("echo_bytes", &queue).arg("binary/plain", &data);
    let warm = run(&queue, call()).await;
    assert!(warm.failure.is_none(), "{:?}", warm.failure);
    let before = common::proc_status_kib(pid, "VmHWM") / 1024;
    // 32 calls at once, ~42 MB each in conversion: unbounded they overlapped to +300 MiB
    // here; a 48 MiB budget converts one at a time.
    let outcomes = futures::future::join_all((0..32).map(|_| run(&queue, call()))).await;
    for out in &outcomes {
        assert!(out.failure.is_none(), "{:?}", out.failure);
    }
    let peak = common::proc_status_kib(pid, "VmHWM") / 1024;
    eprintln!("peak RSS {peak} MiB, before the burst {before} MiB");
    assert!(
        peak < before + 160,
        "peak RSS {peak} MiB (before the burst {before} MiB): conversion memory is not bounded"
    );
    assert_eq!(http_get(addr, "/readyz").await.0, 200);
    drop(child);
}
