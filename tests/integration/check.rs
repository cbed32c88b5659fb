//! `wasm-worker check`: the host's verdict on plugin files, offline — the same loader, the
//! same sentences, the same cross-file rules.

use crate::common::guests::{self, HELLO_ACTIVITY, TEST_ACTIVITIES, TEST_WORKFLOWS};
use crate::common::{eventually, host_binary, plugin_host};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Runs `wasm-worker check ARGS…` with a compile cache of its own; returns the exit code and
/// stdout.
fn check(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let cache = tempfile::tempdir().expect("cache");
    let out = std::process::Command::new(host_binary())
        .arg("check")
        .args(args)
        .arg("--compile-cache")
        .arg(cache.path())
        .env_clear()
        .output()
        .expect("running wasm-worker check");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

fn json_of(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>) {
    let mut all: Vec<&std::ffi::OsStr> = args.to_vec();
    all.push("--json".as_ref());
    let (code, text) = check(&all);
    (
        code,
        serde_json::from_str(&text).expect("--json prints JSON"),
    )
}

#[test]
fn good_files_are_described_with_their_types_imports_and_grants() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("hello.wasm"), guests::bytes(HELLO_ACTIVITY)).expect("write");
    std::fs::write(dir.path().join("flows.wasm"), guests::bytes(TEST_WORKFLOWS)).expect("write");
    std::fs::write(
        dir.path().join("hello.toml"),
        "memory_limit_mib = 32\nisolation = \"reuse\"\nallowed_outbound_hosts = [\"https://api.example.com\"]\nenv = { MODE = \"sekret-value\" }\n",
    )
    .expect("write");
    let (code, reports) = json_of(&[dir.path().as_os_str()]);
    assert_eq!(code, 0, "{reports:?}");
    let hello = reports
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("hello.wasm"))
        })
        .expect("hello");
    assert_eq!(hello["kind"], "activities");
    assert_eq!(hello["activities"][0]["activity_type"], "greet_activity");
    assert_eq!(
        hello["activities"][0]["signature"],
        "greet-activity(name: string) -> string"
    );
    assert_eq!(hello["grants"]["memory_limit_mib"], 32);
    assert_eq!(hello["grants"]["isolation"], "reuse");
    assert_eq!(hello["grants"]["env"], serde_json::json!(["MODE"]));
    assert!(
        !hello.to_string().contains("sekret-value"),
        "env values are never shown"
    );
    assert!(
        hello["build_id_part"]
            .as_str()
            .is_some_and(|p| p.contains('+')),
        "the manifest is part of the build ID: {hello}"
    );
    assert!(
        hello["imports"]
            .as_array()
            .is_some_and(|i| i.iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.starts_with("wasm-worker:plugin/")))),
        "{hello}"
    );
    let flows = reports
        .iter()
        .find(|r| r["kind"] == "workflows")
        .expect("workflows");
    let signal_query = flows["workflows"]
        .as_array()
        .expect("types")
        .iter()
        .find(|w| w["workflow_type"] == "SignalQueryWorkflow")
        .expect("SignalQueryWorkflow");
    assert_eq!(signal_query["signals"], serde_json::json!(["finish"]));
    assert_eq!(signal_query["queries"], serde_json::json!(["state"]));
    assert_eq!(signal_query["updates"], serde_json::json!(["rename"]));
    assert_eq!(signal_query["versioning"], "pinned");
    // Full signatures, nothing elided, in the text form too.
    let (code, text) = check(&[Path::new(guests::TEST_ACTIVITIES).as_os_str()]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains('…'), "{text}");
    assert!(
        text.contains("1 file(s): 1 would load, 0 refused"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_the_hosts_own_sentences() {
    // Good files and every kind of bad one, in one folder.
    let files: &[(&str, Vec<u8>)] = &[
        ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
        ("copy_of_hello.wasm", guests::bytes(HELLO_ACTIVITY)),
        ("empty.wasm", Vec::new()),
        ("text.wasm", b"hello".to_vec()),
        ("core.wasm", b"\0asm\x01\0\0\0".to_vec()),
        (
            "truncated.wasm",
            guests::bytes(TEST_WORKFLOWS)[..4096].to_vec(),
        ),
    ];
    let (host, _queue, dir) = plugin_host(
        files,
        &[("test_activities.toml", "memory_limit_mib = \"lots\"\n")],
    )
    .await;
    let addr = host.metrics_addr();
    let mut from_host: Vec<String> = eventually(
        Duration::from_secs(30),
        "the refused files on /status",
        || async move {
            let errors = crate::hot_swap::load_errors(addr).await;
            (!errors.is_empty()).then_some(errors)
        },
    )
    .await;
    host.stop().await.expect("stop");
    let (code, reports) = json_of(&[dir.path().as_os_str()]);
    assert_eq!(code, 1);
    let mut from_check: Vec<String> = reports
        .iter()
        .filter_map(|r| r["error"].as_str().map(str::to_string))
        .collect();
    from_host.sort();
    from_check.sort();
    assert_eq!(from_check.len(), 7, "{from_check:#?}");
    assert_eq!(from_check, from_host, "check and the host disagree");
    assert!(
        from_check
            .iter()
            .any(|e| e.contains("also exported by copy_of_hello.wasm")),
        "{from_check:#?}"
    );
    let ok: Vec<&str> = reports
        .iter()
        .filter(|r| r["ok"] == true)
        .filter_map(|r| r["file"].as_str())
        .collect();
    assert!(
        ok.is_empty(),
        "the duplicates refuse each other, the rest are bad: {ok:?}"
    );
    // A file that is not there is a refusal too.
    let (code, text) = check(&["/nonexistent/x.wasm".as_ref()]);
    assert_eq!(code, 1);
    assert!(text.contains("no such file or folder"), "{text}");
}

/// A WIT-typed workflow's activity imports are checked against the folder's activity plugins:
/// each call is listed with its signature; one nobody exports, or one exported with other
/// types, is a warning naming both signatures (the file still loads: another worker may
/// serve it).
#[test]
fn wit_typed_workflow_imports_are_checked_against_the_activities() {
    use crate::common::guests::ORDER_WORKFLOW;
    let dir = tempfile::tempdir().expect("dir");
    let flow = dir.path().join("order.wasm");
    std::fs::write(&flow, guests::bytes(ORDER_WORKFLOW)).expect("write");

    // Alone: the activity it calls is served by no file here.
    let (code, text) = check(&[flow.as_os_str()]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("workflow process_order (pinned): WIT-typed"),
        "{text}"
    );
    // Its imported `signals` interface declares the typed signals.
    assert!(
        text.contains("workflow rust_fulfil_order (pinned): WIT-typed; typed signals approve;"),
        "{text}"
    );
    assert!(
        text.contains("calls activity summarize_order: summarize-order(order: record {"),
        "{text}"
    );
    assert!(
        text.contains(
            "warning: imports `example:hello-activity/orders#summarize-order` (activity \
             `summarize_order`), which no plugin in this folder exports"
        ),
        "{text}"
    );

    // Beside the activity plugin that exports it: no warning about its calls; those of the
    // plugins not in the folder (python-activity, c-activity) are still named.
    std::fs::write(dir.path().join("hello.wasm"), guests::bytes(HELLO_ACTIVITY)).expect("write");
    let (code, text) = check(&[dir.path().as_os_str()]);
    assert_eq!(code, 0, "{text}");
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("warning:")).collect();
    assert!(
        !warnings.is_empty()
            && warnings
                .iter()
                .all(|w| !w.contains("example:hello-activity")),
        "{text}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`example:c-activity/checksums#checksum` (activity `checksum`)")),
        "{text}"
    );

    // The activity type served by a function of another shape (renamed in its manifest).
    std::fs::write(
        dir.path().join("hello.toml"),
        "[rename]\ngreet-activity = \"summarize_order\"\nsummarize-order = \"summarize_order_v2\"\n",
    )
    .expect("write");
    let (code, reports) = json_of(&[dir.path().as_os_str()]);
    assert_eq!(code, 0, "{reports:?}");
    let order = reports
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("order.wasm"))
        })
        .expect("order");
    let warnings = order["warnings"].to_string();
    assert!(
        warnings.contains("but hello.wasm exports it as `greet-activity(name: string) -> string`"),
        "{warnings}"
    );
    assert_eq!(order["calls"][0]["activity_type"], "summarize_order");
}

/// `check` compiles with the host's caches: what it compiled, the whole component and each
/// function, is on disk for the host that loads the file next. (The function cache writes
/// behind the compile and `check` flushes it before exiting; with a plugin this small the
/// writer thread usually wins that race anyway, so this does not prove the flush.)
#[test]
fn check_leaves_its_compiles_in_the_caches() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("hello.wasm");
    std::fs::write(&file, guests::bytes(HELLO_ACTIVITY)).expect("write");
    let cache = tempfile::tempdir().expect("cache");
    let out = std::process::Command::new(host_binary())
        .arg("check")
        .arg(&file)
        .arg("--compile-cache")
        .arg(cache.path())
        .env_clear()
        .output()
        .expect("running wasm-worker check");
    assert!(out.status.success(), "{out:?}");
    let count = |dir: &std::path::Path, pred: &dyn Fn(&std::path::Path) -> bool| {
        walk(dir).into_iter().filter(|p| pred(p)).count()
    };
    assert_eq!(
        count(cache.path(), &|p| p
            .extension()
            .is_some_and(|x| x == "cwasm")),
        1,
        "the component"
    );
    let functions = count(&cache.path().join("incremental"), &|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    assert!(functions >= 10, "its functions, one file each: {functions}");
}

/// Every file under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
