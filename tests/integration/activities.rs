//! Activity plugins on a real server: typed conversion in both directions, conversion
//! errors, traps, deadlines, memory limits, the sandbox, heartbeats and cancellation.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES};
use crate::common::workflows::{Call, run};
use crate::common::{http_get, plugin_host};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_activity_says_hello_and_the_order_example_converts_records() {
    let (host, queue, _dir) = plugin_host(
        &[("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY))],
        &[],
    )
    .await;
    let out = run(
        &queue,
        Call::new("greet_activity", &queue).json(json!("World")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, World!"));

    let order = json!({
        "id": "o-1",
        "lines": [{"sku": "A", "quantity": 2, "unit_price": 1.5}, {"sku": "B", "quantity": 1, "unitPrice": 4.0}],
        "shipping": {"courier": "DHL"},
        "priority": "high",
        "extras": ["express", "gift_wrap"],
        "coupon": "HALF"
    });
    let out = run(&queue, Call::new("summarize_order", &queue).json(order)).await;
    assert_eq!(
        out.json(),
        json!({"id": "o-1", "items": 3, "total": 3.5, "skus": ["A", "B"], "express": true, "label": "courier: DHL"})
    );

    let empty =
        json!({"id": "o-2", "lines": [], "shipping": "pickup", "priority": "low", "extras": []});
    let out = run(&queue, Call::new("summarize_order", &queue).json(empty)).await;
    let f = out.failure();
    assert_eq!(f.error_type, "PluginError");
    assert!(
        !f.non_retryable,
        "a plugin's err is retryable per the retry policy"
    );
    assert!(
        out.error().contains("order o-2 has no lines"),
        "{}",
        out.error()
    );
    assert_eq!(f.details.as_deref(), Some("\"order o-2 has no lines\""));
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wit_type_round_trips() {
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[],
    )
    .await;
    let cases: Vec<(&str, Value, Value)> = vec![
        ("echo_bool", json!(true), json!(true)),
        ("echo_s8", json!(-128), json!(-128)),
        ("echo_u8", json!(255), json!(255)),
        ("echo_s16", json!(-32768), json!(-32768)),
        ("echo_u16", json!(65535), json!(65535)),
        ("echo_s32", json!(-2147483648_i64), json!(-2147483648_i64)),
        ("echo_u32", json!(4294967295_u64), json!(4294967295_u64)),
        ("echo_s64", json!(i64::MIN), json!(i64::MIN)),
        ("echo_u64", json!(u64::MAX), json!(u64::MAX)),
        ("echo_f32", json!(1.5), json!(1.5)),
        ("echo_f64", json!(-0.1), json!(-0.1)),
        ("echo_char", json!("é"), json!("é")),
        ("echo_string", json!("héllo\n\"w\""), json!("héllo\n\"w\"")),
        ("echo_list", json!([1, 2, 3]), json!([1, 2, 3])),
        (
            "echo_point",
            json!({"x": 1, "y": -2, "unit-name": "m"}),
            json!({"x": 1, "y": -2, "label": null, "unit_name": "m"}),
        ),
        ("echo_tuple", json!(["a", 7, false]), json!(["a", 7, false])),
        ("echo_option", json!(null), json!(null)),
        ("echo_option", json!("some"), json!("some")),
        ("echo_result", json!({"ok": 5}), json!(5)),
        (
            "wrap_results",
            json!([{"ok": 1}, {"err": "bad"}]),
            json!([{"ok": 1}, {"err": "bad"}]),
        ),
        ("echo_shape", json!({"circle": 2.5}), json!({"circle": 2.5})),
        ("echo_shape", json!("empty"), json!("empty")),
        ("echo_color", json!("dark-blue"), json!("dark_blue")),
        (
            "echo_perms",
            json!(["read", "exec_all"]),
            json!(["read", "exec_all"]),
        ),
    ];
    for (activity, input, expected) in cases {
        let out = run(&queue, Call::new(activity, &queue).json(input.clone())).await;
        assert_eq!(out.json(), expected, "{activity}({input})");
    }
    let out = run(
        &queue,
        Call::new("add", &queue).json(json!(40)).json(json!(2)),
    )
    .await;
    assert_eq!(out.json(), json!(42));
    // A trailing option<…> parameter may be left out: it arrives as none.
    let out = run(&queue, Call::new("echo_option", &queue)).await;
    assert_eq!(out.json(), json!(null), "{}", out.error());

    // A function's own result<_, E>: err becomes an activity failure carrying E.
    let out = run(
        &queue,
        Call::new("echo_result", &queue).json(json!({"err": "nope"})),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError");
    assert_eq!(out.failure().details.as_deref(), Some("\"nope\""));

    // binary/plain <-> list<u8>, binary/null for no result, raw payloads untouched.
    let out = run(
        &queue,
        Call::new("echo_bytes", &queue).arg("binary/plain", &[0, 1, 255]),
    )
    .await;
    assert_eq!(
        out.result
            .as_ref()
            .map(|r| (r.encoding.as_str(), r.data.clone())),
        Some(("binary/plain", vec![0, 1, 255]))
    );
    let out = run(&queue, Call::new("nothing", &queue)).await;
    assert_eq!(
        out.result.as_ref().map(|r| r.encoding.as_str()),
        Some("binary/null")
    );
    let out = run(
        &queue,
        Call::new("raw_echo", &queue).arg("application/x-protobuf", b"\x08\x96\x01"),
    )
    .await;
    let r = out.result.expect("raw result");
    assert_eq!(
        (r.encoding.as_str(), r.data.as_slice()),
        ("application/x-protobuf", &b"\x08\x96\x01"[..])
    );

    // A flood of output (no time limit here: the check is about output, not speed) is cut at the log budget, not turned into a failure.
    let out = run(&queue, Call::new("print_lines", &queue).json(json!(20_000))).await;
    assert_eq!(
        out.result.as_ref().map(|r| r.encoding.as_str()),
        Some("binary/null"),
        "{:?}",
        out.failure
    );

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_plugin_calls_total{activity_type=\"echo_shape\",plugin=\"test_activities.wasm\"} 2"),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversion_errors_fail_non_retryably_naming_plugin_function_parameter_and_type() {
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[],
    )
    .await;
    let cases: Vec<(Call, &str)> = vec![
        (
            Call::new("echo_u8", &queue).json(json!(256)),
            "plugin test_activities.wasm, function `echo-u8`, parameter `v` (u8): expected u8, found the number 256, which is out of range",
        ),
        (
            Call::new("echo_u32", &queue).json(json!(-1)),
            "parameter `v` (u32): expected u32, found the number -1, which is out of range",
        ),
        (
            Call::new("echo_string", &queue).json(json!(5)),
            "parameter `v` (string): expected string, found the number 5",
        ),
        (
            Call::new("echo_point", &queue).json(json!({"x": 1, "unit_name": "m"})),
            "at `y`: expected s32, found nothing (the field is missing)",
        ),
        (
            Call::new("echo_list", &queue).json(json!([1, "two"])),
            "at `[1]`: expected u32, found the string \"two\"",
        ),
        (
            Call::new("echo_color", &queue).json(json!("purple")),
            "expected enum { red, green, dark-blue }, found the string \"purple\"",
        ),
        (
            Call::new("add", &queue).json(json!(1)),
            "expects 2 argument(s) (a: s64, b: s64), got 1",
        ),
        (
            Call::new("echo_bool", &queue)
                .json(json!(true))
                .json(json!(false)),
            "expects 1 argument(s) (v: bool), got 2",
        ),
        (
            Call::new("echo_string", &queue).arg("json/plain", b"{oops"),
            "expected string, found invalid JSON",
        ),
    ];
    for (call, fragment) in cases {
        let activity = call.activity.clone();
        let out = run(&queue, call).await;
        let f = out.failure();
        assert_eq!(
            f.error_type,
            "ArgumentMismatch",
            "{activity}: {}",
            out.error()
        );
        assert!(f.non_retryable, "{activity}");
        assert!(
            out.error().contains(fragment),
            "{activity}: expected {fragment:?} in {}",
            out.error()
        );
    }
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_panics_loops_and_memory_bombs_fail_only_their_activity() {
    let manifest = "max_call_time = \"1s\"\nmemory_limit_mib = 16\n";
    let (host, queue, _dir) = plugin_host(
        &[
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[("test_activities.toml", manifest)],
    )
    .await;

    let out = run(&queue, Call::new("trap", &queue)).await;
    assert_eq!(out.failure().error_type, "Trap");
    assert!(
        out.error()
            .contains("plugin test_activities.wasm, function `trap`: trapped"),
        "{}",
        out.error()
    );
    assert!(out.error().contains("unreachable"), "{}", out.error());

    let out = run(&queue, Call::new("panic", &queue).json(json!("kaboom 42"))).await;
    assert_eq!(out.failure().error_type, "Trap");
    assert!(
        out.error().contains("kaboom 42"),
        "the panic message reaches the failure: {}",
        out.error()
    );

    let out = run(
        &queue,
        Call::new("spin", &queue).timeout(Duration::from_secs(30)),
    )
    .await;
    assert_eq!(out.failure().error_type, "DeadlineExceeded");
    assert!(
        out.error()
            .contains("function `spin`: still running after 1s"),
        "{}",
        out.error()
    );

    // The default isolation: every call a fresh instance, no global survives.
    for _ in 0..2 {
        let out = run(&queue, Call::new("count_calls", &queue).json(json!(false))).await;
        assert_eq!(out.json(), json!(1), "a fresh instance per call");
    }

    let out = run(&queue, Call::new("hog_memory", &queue)).await;
    assert_eq!(out.failure().error_type, "MemoryLimitExceeded");
    assert!(
        out.error().contains("exceeded its memory limit of 16 MiB"),
        "{}",
        out.error()
    );

    // The host is still ready and other plugins still serve.
    assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
    let out = run(
        &queue,
        Call::new("greet_activity", &queue).json(json!("again")),
    )
    .await;
    assert_eq!(out.json(), json!("Hello, again!"));

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    for cause in ["trap", "deadline", "memory"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("wasm_worker_plugin_failures_total{")
                    && l.contains(&format!("cause=\"{cause}\""))),
            "no {cause} failure counted:\n{metrics}"
        );
    }
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_instances_keep_their_state_until_a_call_fails() {
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[(
            "test_activities.toml",
            "isolation = \"reuse\"\nmax_call_time = \"1s\"\nmemory_limit_mib = 16\n",
        )],
    )
    .await;
    let count = |then_trap: bool| Call::new("count_calls", &queue).json(json!(then_trap));
    for expected in 1..=3 {
        let out = run(&queue, count(false)).await;
        assert_eq!(
            out.json(),
            json!(expected),
            "the kept instance serves again"
        );
    }
    // A call that traps after counting: its instance (count 4) is not kept.
    let out = run(&queue, count(true)).await;
    assert_eq!(out.failure().error_type, "Trap", "{}", out.error());
    let out = run(&queue, count(false)).await;
    assert_eq!(out.json(), json!(1), "a fresh instance after the trap");
    let out = run(&queue, count(false)).await;
    assert_eq!(out.json(), json!(2));
    // The limits hold for reused instances as for fresh ones.
    let out = run(
        &queue,
        Call::new("spin", &queue).timeout(Duration::from_secs(30)),
    )
    .await;
    assert_eq!(out.failure().error_type, "DeadlineExceeded");
    let out = run(&queue, Call::new("hog_memory", &queue)).await;
    assert_eq!(out.failure().error_type, "MemoryLimitExceeded");
    // Each call sees its own context: attempt 1 returns an error (a normal return, so its
    // instance is kept) after a heartbeat; attempt 2, on that same instance, sees attempt 2
    // and the heartbeat's details.
    let call = Call::new("heartbeat_then_fail", &queue)
        .json(json!("{\"step\":7}"))
        .attempts(2)
        .heartbeat_timeout(Duration::from_secs(10));
    let out = run(&queue, call).await;
    assert_eq!(out.json(), json!("{\"step\":7}"));
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_grants_nothing_unless_the_manifest_does() {
    let granted = tempfile::tempdir().expect("tempdir");
    std::fs::write(granted.path().join("note.txt"), "granted contents").expect("write");
    let secret = tempfile::tempdir().expect("tempdir");
    std::fs::write(secret.path().join("secret.txt"), "top secret").expect("write");
    let manifest = format!(
        "env = {{ GREETING = \"hi\" }}\n[[dir]]\nhost = {:?}\nguest = \"/data\"\n",
        granted.path().display().to_string()
    );
    let (host, queue, _dir) = plugin_host(
        &[("confined.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[("confined.toml", "[rename]\nread-file = \"confined_read\"\nenv-var = \"confined_env\"\nconnect = \"confined_connect\"\nwrite-file = \"confined_write\"\n")],
    )
    .await;
    let out = run(
        &queue,
        Call::new("confined_read", &queue).json(json!("/etc/passwd")),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError");
    assert!(!out.error().contains("root:"), "{}", out.error());

    let out = run(
        &queue,
        Call::new("confined_env", &queue).json(json!("HOME")),
    )
    .await;
    assert_eq!(out.json(), json!(null), "the environment is empty");

    let target = host.metrics_addr().to_string();
    let out = run(
        &queue,
        Call::new("confined_connect", &queue).json(json!(target)),
    )
    .await;
    assert_eq!(
        out.failure().error_type,
        "PluginError",
        "sockets are refused: {:?}",
        out.result
    );

    let out = run(
        &queue,
        Call::new("confined_write", &queue)
            .json(json!("/tmp/x"))
            .json(json!("y")),
    )
    .await;
    assert_eq!(out.failure().error_type, "PluginError");
    host.stop().await.expect("stop");

    // A manifest grants a directory (read-only) and an environment variable.
    let bytes = guests::bytes(TEST_ACTIVITIES);
    let (host, queue, _dir) =
        plugin_host(&[("granted.wasm", bytes)], &[("granted.toml", &manifest)]).await;
    let out = run(
        &queue,
        Call::new("read_file", &queue).json(json!("/data/note.txt")),
    )
    .await;
    assert_eq!(out.json(), json!("granted contents"));
    let escape = format!("/data/../{}/secret.txt", secret.path().display());
    let out = run(&queue, Call::new("read_file", &queue).json(json!(escape))).await;
    assert_eq!(
        out.failure().error_type,
        "PluginError",
        "`..` must not leave the granted folder"
    );
    let out = run(
        &queue,
        Call::new("write_file", &queue)
            .json(json!("/data/new.txt"))
            .json(json!("x")),
    )
    .await;
    assert_eq!(
        out.failure().error_type,
        "PluginError",
        "the grant is read-only"
    );
    assert!(!granted.path().join("new.txt").exists());
    let out = run(&queue, Call::new("env_var", &queue).json(json!("GREETING"))).await;
    assert_eq!(out.json(), json!("hi"));
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_details_reach_the_retry_and_cancellation_interrupts() {
    let (host, queue, _dir) = plugin_host(
        &[("test_activities.wasm", guests::bytes(TEST_ACTIVITIES))],
        &[],
    )
    .await;
    let call = Call::new("heartbeat_then_fail", &queue)
        .json(json!("{\"step\":42}"))
        .attempts(2)
        .heartbeat_timeout(Duration::from_secs(10));
    let out = run(&queue, call).await;
    assert_eq!(out.json(), json!("{\"step\":42}"));

    let out = run(&queue, Call::new("info_json", &queue)).await;
    let info: Value = serde_json::from_str(out.json().as_str().expect("string")).expect("json");
    assert_eq!(info["activity_type"], json!("info_json"));
    assert_eq!(info["workflow_type"], json!("RunActivity"));
    assert_eq!(info["task_queue"], json!(queue));
    assert_eq!(info["attempt"], json!(1));
    assert_eq!(info["has_deadline"], json!(true));

    let call = Call::new("wait_for_cancel", &queue)
        .heartbeat_timeout(Duration::from_secs(2))
        .cancel_after(Duration::from_millis(500));
    let out = run(&queue, call).await;
    assert!(
        out.failure().cancelled,
        "expected a cancellation, got {:?}",
        out.failure
    );
    host.stop().await.expect("stop");
}
