//! WIT-typed workflows on a real server: the Rust example (`plugins/order-workflow`) calls
//! hello-activity's functions as typed imports, fans out, waits for a signal, answers a query,
//! sleeps and continues as new; with nothing cached every task replays by re-execution; a
//! history the code does not match fails to replay naming both commands.

use crate::common::guests::{self, HELLO_ACTIVITY, ORDER_WORKFLOW};
use crate::common::workflows::{ByName, client};
use crate::common::{eventually, http_get, plugin_host_with, shared_server, unique};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{
    UntypedQuery, UntypedSignal, UntypedWorkflow, WorkflowFetchHistoryOptions,
    WorkflowGetResultOptions, WorkflowHandle, WorkflowStartOptions,
};
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::enums::v1::EventType;
use temporalio_common::protos::temporal::api::history::v1::{
    HistoryEvent, history_event::Attributes,
};

const CUSTOMERS: usize = 10;

pub type Handle = WorkflowHandle<temporalio_client::Client, ByName>;

async fn host(cached: Option<usize>) -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
    plugin_host_with(
        &[
            ("order_workflow.wasm", guests::bytes(ORDER_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
        |c| {
            if let Some(n) = cached {
                c.max_cached_workflows = n;
            }
        },
    )
    .await
}

pub fn json_payload(v: &Value) -> Payload {
    Payload {
        metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
        data: v.to_string().into_bytes(),
        ..Default::default()
    }
}

fn request(id: &str, lines: Value) -> Value {
    let customers: Vec<String> = (0..CUSTOMERS).map(|i| format!("customer-{i}")).collect();
    json!({
        "order": {
            "id": id,
            "lines": lines,
            "shipping": {"courier": "DHL"},
            "priority": "high",
            "extras": ["express"],
            "coupon": null,
        },
        "customers": customers,
        "cool-off-ms": 300,
    })
}

pub async fn history(client: &temporalio_client::Client, id: &str) -> Vec<HistoryEvent> {
    client
        .get_workflow_handle::<UntypedWorkflow>(id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("history")
}

/// Sends signal `name` with `argument` (JSON) to the run behind `handle`.
pub async fn signal(handle: &Handle, name: &str, argument: Value) {
    handle
        .signal(
            UntypedSignal::<ByName>::new(name),
            RawValue::new(vec![json_payload(&argument)]),
            Default::default(),
        )
        .await
        .expect("signal");
}

pub async fn status(handle: &Handle) -> Result<Value, String> {
    query(handle, "status").await
}

async fn query(handle: &Handle, name: &str) -> Result<Value, String> {
    let raw = handle
        .query(
            UntypedQuery::<ByName>::new(name),
            RawValue::new(vec![]),
            Default::default(),
        )
        .await
        .map_err(|e| format!("{e:#}"))?;
    let p = raw.payloads.first().ok_or("no payload")?;
    serde_json::from_slice(&p.data).map_err(|e| e.to_string())
}

/// Runs `process_order` to the end: waits until it asks for approval, approves, returns the
/// result and the workflow id.
async fn approved_order(queue: &str, id_prefix: &str) -> (Value, String) {
    let lines = json!([
        {"sku": "tea", "quantity": 2, "unit-price": 3.5},
        {"sku": "cup", "quantity": 1, "unit-price": 4.0},
    ]);
    approved(queue, id_prefix, "process_order", request("A-1", lines)).await
}

/// Starts `workflow_type` with `input`, waits until its query `status` says it awaits
/// approval, checks an unknown query's answer, signals `approve` with "dana", and returns the
/// result (after checking the status query still answers once the run ended) and the id.
async fn approved(
    queue: &str,
    id_prefix: &str,
    workflow_type: &'static str,
    input: Value,
) -> (Value, String) {
    let id = unique(id_prefix);
    let handle = awaiting_approval(queue, &id, workflow_type, input).await;
    let unknown = query(&handle, "nope")
        .await
        .expect_err("an unknown query fails");
    assert!(
        unknown.contains("has no query `nope` (it set results for: status)"),
        "{unknown}"
    );
    signal(&handle, "approve", json!("dana")).await;
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(
        status(&handle).await,
        Ok(json!("done")),
        "queries after the end"
    );
    (result, id)
}

/// Starts `workflow_type` with `input` as workflow `id` and waits until its query `status`
/// says it awaits approval.
pub async fn awaiting_approval(
    queue: &str,
    id: &str,
    workflow_type: &'static str,
    input: Value,
) -> Handle {
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ByName(workflow_type),
            input,
            WorkflowStartOptions::new(queue, id).build(),
        )
        .await
        .expect("start");
    eventually(
        Duration::from_secs(90),
        "the run to wait for approval",
        || {
            let handle = &handle;
            async move { (status(handle).await.ok()? == json!("awaiting approval")).then_some(()) }
        },
    )
    .await;
    handle
}

/// Asks the run behind `handle` (workflow id `id`) to cancel; returns its history's event
/// types once it ended, after checking it ended as cancelled.
async fn cancel_run(handle: &Handle, id: &str) -> Vec<EventType> {
    let cancel = temporalio_client::WorkflowCancelOptions::builder()
        .reason("test")
        .build();
    handle.cancel(cancel).await.expect("cancel");
    assert!(
        handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .is_err()
    );
    let client = client(shared_server()).await;
    let kinds: Vec<EventType> = history(&client, id)
        .await
        .iter()
        .map(HistoryEvent::event_type)
        .collect();
    assert_eq!(
        kinds.last(),
        Some(&EventType::WorkflowExecutionCanceled),
        "{kinds:?}"
    );
    kinds
}

/// `wasm_worker_workflow_evictions_total` in a scrape.
pub fn evictions(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("wasm_worker_workflow_evictions_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("evictions metric")
}

fn check_receipt(result: &Value) {
    let greetings: Vec<String> = (0..CUSTOMERS)
        .map(|i| format!("Hello, customer-{i}!"))
        .collect();
    assert_eq!(result["greetings"], json!(greetings), "{result}");
    assert_eq!(result["approved_by"], json!("dana"), "{result}");
    assert_eq!(result["summary"]["total"], json!(11.0), "{result}");
    assert_eq!(
        result["summary"]["label"],
        json!("courier: DHL"),
        "{result}"
    );
    assert!(
        result["decided_at_ms"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000),
        "{result}"
    );
}

pub fn scheduled(events: &[HistoryEvent]) -> Vec<(String, i64)> {
    events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some((
                a.activity_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                a.workflow_task_completed_event_id,
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_workflow_calls_activities_fans_out_and_waits_for_a_signal() {
    let (host, queue, _dir) = host(None).await;
    let (result, id) = approved_order(&queue, "order").await;
    check_receipt(&result);

    // History shape: the typed import scheduled `summarize_order`; the ten greetings were
    // scheduled together by one workflow task (a fan-out, not one after another); then the
    // signal, the cool-off timer and the end.
    let client = client(shared_server()).await;
    let events = history(&client, &id).await;
    let scheduled = scheduled(&events);
    assert_eq!(scheduled.len(), 1 + CUSTOMERS, "{scheduled:?}");
    assert_eq!(scheduled[0].0, "summarize_order");
    assert!(
        scheduled[1..].iter().all(|(t, _)| t == "greet_activity"),
        "{scheduled:?}"
    );
    assert!(
        scheduled[1..]
            .iter()
            .all(|(_, task)| *task == scheduled[1].1),
        "the greetings were scheduled by one workflow task: {scheduled:?}"
    );
    let timers: Vec<i64> = events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::TimerStartedEventAttributes(a)) => a
                .start_to_fire_timeout
                .as_ref()
                .map(|d| d.seconds * 1000 + i64::from(d.nanos) / 1_000_000),
            _ => None,
        })
        .collect();
    assert_eq!(timers, vec![300]);
    let kinds: Vec<EventType> = events.iter().map(HistoryEvent::event_type).collect();
    let signaled = kinds
        .iter()
        .position(|k| *k == EventType::WorkflowExecutionSignaled)
        .expect("signaled");
    let timer = kinds
        .iter()
        .position(|k| *k == EventType::TimerStarted)
        .expect("timer");
    assert!(
        signaled < timer,
        "the cool-off starts after the approval: {kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&EventType::WorkflowExecutionCompleted));

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_workflow_activations_total{workflow_type=\"process_order\"}"),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_failure_fails_the_workflow_and_continue_as_new_chains_runs() {
    let (host, queue, _dir) = host(None).await;
    let client = client(shared_server()).await;

    // summarize_order refuses an order without lines; the example calls it with one attempt,
    // and returns the activity's error, which fails the workflow with that reason.
    let id = unique("refused");
    let handle = client
        .start_workflow(
            ByName("process_order"),
            request("A-2", json!([])),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start");
    assert!(
        handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .is_err()
    );
    let events = history(&client, &id).await;
    let failure = events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => a.failure.clone(),
            _ => None,
        })
        .expect("a failed workflow");
    assert_eq!(failure.message, "order A-2 has no lines");
    assert_eq!(scheduled(&events).len(), 1, "one attempt, nothing after it");

    let id = unique("rounds");
    let rounds = client
        .start_workflow(
            ByName("count_rounds"),
            json!({"left": 3, "sum": 0}),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start rounds");
    let total = rounds
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("rounds result");
    assert_eq!(total, json!(6), "3 + 2 + 1 over four runs");
    let first = history(&client, &id).await;
    // The handle follows the chain; the id's history is the last run's. Its start names the
    // run it continued from.
    let continued = first.iter().any(|e| {
        matches!(&e.attributes, Some(Attributes::WorkflowExecutionStartedEventAttributes(a))
            if !a.continued_execution_run_id.is_empty())
    });
    assert!(continued, "the last run was continued as new: {first:?}");
    host.stop().await.expect("stop");
}

/// With no run cached, every workflow task instantiates the plugin afresh and re-executes the
/// function from the start against history; the result is the same. Then the recorded history
/// replays cleanly offline, and a history the code does not match fails to replay with core's
/// message naming the command in history and the one the code issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_replay_by_re_execution_and_a_mismatched_history_is_named() {
    let (host, queue, dir) = host(Some(0)).await;
    let (result, id) = approved_order(&queue, "replayed").await;
    check_receipt(&result);
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    let evictions = evictions(&metrics);
    assert!(evictions >= 4, "every task evicted its run: {evictions}");
    host.stop().await.expect("stop");

    replays_and_names_a_mismatch(dir.path(), &id).await;
}

/// The history of run `id` replays through the plugins of `dir` without a failure; the same
/// history with its first scheduled activity's type changed fails to replay with core's
/// non-determinism message naming the type in history and the type the code scheduled.
pub async fn replays_and_names_a_mismatch(dir: &std::path::Path, id: &str) {
    let client = client(shared_server()).await;
    let events = history(&client, id).await;
    let workflows = crate::common::workflows::replay_workflows(dir).await;
    let clean = temporalio_common::protos::temporal::api::history::v1::History {
        events: events.clone(),
    };
    let failures =
        wasm_worker::replay::replay(workflows.clone(), "replay", vec![(clean, id.to_string())])
            .await
            .expect("replay ran");
    assert!(failures.is_empty(), "{failures:?}");

    let mut drifted = events;
    let first = drifted
        .iter_mut()
        .find_map(|e| match &mut e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some(a),
            _ => None,
        })
        .expect("a scheduled activity");
    let name = &mut first.activity_type.as_mut().expect("type").name;
    let issued = name.clone();
    *name = format!("{issued}_v0");
    let drifted =
        temporalio_common::protos::temporal::api::history::v1::History { events: drifted };
    let failures =
        wasm_worker::replay::replay(workflows, "replay", vec![(drifted, id.to_string())])
            .await
            .expect("replay ran");
    assert!(
        failures.len() == 1
            && failures[0].contains("Nondeterminism")
            && failures[0].contains(&format!("'{issued}_v0'"))
            && failures[0].contains(&format!("'{issued}'")),
        "{failures:?}"
    );
}

/// One language's example workflow and the activity plugin it calls, both built by `make
/// plugins` into `dist/plugins/`.
pub struct Example {
    /// `(workflow plugin, activity plugin)` file names.
    pub files: [&'static str; 2],
    /// The workflow type that fans out, calls a typed import and waits for `approve`.
    pub workflow: &'static str,
    /// Its input (`approver` unset: it waits for the signal).
    pub request: Value,
    /// Checks its result (approved by "dana").
    pub check: fn(&Value),
    /// Activity the fan-out schedules `fan_out` times, all in one workflow task.
    pub fan_out: (&'static str, usize),
    /// Activity the typed import schedules after the fan-out.
    pub typed: &'static str,
    /// The continue-as-new type, summing 4 + 3 + 2 + 1.
    pub rounds: &'static str,
}

/// Runs `example` end to end on a host that caches `cached` runs (0: every task starts a
/// fresh instance and re-executes the function against history): the signal-waiting run with
/// its queries, its history's shape, the same run approved up front, and continue-as-new.
pub async fn run_example(example: &Example, cached: usize) {
    use crate::polyglot::built;
    let [workflow_file, activity_file] = example.files;
    let (host, queue, dir) = plugin_host_with(
        &[
            (workflow_file, built(workflow_file)),
            (activity_file, built(activity_file)),
        ],
        &[],
        |c| c.max_cached_workflows = cached,
    )
    .await;
    let (result, id) = approved(&queue, "example", example.workflow, example.request.clone()).await;
    (example.check)(&result);
    assert_eq!(result["approved_by"], json!("dana"), "{result}");

    let client = client(shared_server()).await;
    let events = history(&client, &id).await;
    let scheduled = scheduled(&events);
    let (fan_out, n) = example.fan_out;
    assert_eq!(scheduled.len(), n + 1, "{scheduled:?}");
    assert!(
        scheduled[..n]
            .iter()
            .all(|(t, task)| t == fan_out && *task == scheduled[0].1),
        "the fan-out was scheduled together by one workflow task: {scheduled:?}"
    );
    assert_eq!(scheduled[n].0, example.typed);

    // Approved up front: no signal awaited, the typed result comes back at once.
    let mut up_front = example.request.clone();
    up_front["approver"] = json!("dana");
    let quick = client
        .start_workflow(
            ByName(example.workflow),
            up_front,
            WorkflowStartOptions::new(&queue, unique("quick")).build(),
        )
        .await
        .expect("start");
    let quick = quick
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("approved up front");
    (example.check)(&quick);

    let rounds = client
        .start_workflow(
            ByName(example.rounds),
            json!({"left": 4, "sum": 0}),
            WorkflowStartOptions::new(&queue, unique("rounds")).build(),
        )
        .await
        .expect("start");
    assert_eq!(
        rounds
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("rounds"),
        json!(10)
    );
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    if cached == 0 {
        assert!(evictions(&metrics) >= 5, "{metrics}");
        // Offline, through core's replayer: the recorded history replays on the same code,
        // and a history the code does not match is named.
        replays_and_names_a_mismatch(dir.path(), &id).await;
    }
    host.stop().await.expect("stop");
}

/// `example`'s batch workflow `batches` runs one child per request, started together, each
/// giving `each`; and a run waiting for approval, asked to cancel, sees it (its code sets the
/// status "cancelled") and ends as cancelled.
pub async fn children_and_cancel(example: &Example, batches: &'static str, each: Value) {
    use crate::polyglot::built;
    let (host, queue, _dir) =
        plugin_host_with(&example.files.map(|f| (f, built(f))), &[], |_| {}).await;
    let client = client(shared_server()).await;
    let id = unique("batches");
    let parent = client
        .start_workflow(
            ByName(batches),
            json!([example.request.clone(), example.request.clone()]),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start");
    assert_eq!(
        parent
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("batches"),
        json!([each.clone(), each])
    );
    let initiated = history(&client, &id)
        .await
        .iter()
        .filter(|e| e.event_type() == EventType::StartChildWorkflowExecutionInitiated)
        .count();
    assert_eq!(initiated, 2);

    let id = unique("cancel");
    let waiting = awaiting_approval(&queue, &id, example.workflow, example.request.clone()).await;
    cancel_run(&waiting, &id).await;
    assert_eq!(
        status(&waiting).await,
        Ok(json!("cancelled")),
        "the code saw the cancel"
    );
    host.stop().await.expect("stop");
}

pub mod python {
    //! The Python example (`plugins/python-workflow`, componentize-py) calling the Python
    //! activity plugin.

    use super::{Example, run_example};
    use crate::common::plugin_host_with;
    use crate::polyglot::built;
    use serde_json::{Value, json};

    const DOCUMENTS: usize = 10;

    fn example() -> Example {
        let documents: Vec<String> = (0..DOCUMENTS)
            .map(|i| {
                if i == 3 {
                    json!({"body": "untitled words"}).to_string()
                } else {
                    json!({"title": format!("doc {i}"), "body": "the cat sat"}).to_string()
                }
            })
            .collect();
        Example {
            files: ["python_workflow.wasm", "python_activity.wasm"],
            workflow: "review_documents",
            request: json!({"documents": documents, "required": ["title"], "cool-off-ms": 200}),
            check: |result: &Value| {
                assert_eq!(result["valid"], json!(DOCUMENTS - 1), "{result}");
                assert_eq!(result["titles"][0], json!("doc 0"), "{result}");
                assert_eq!(result["titles"][3], json!("doc 4"), "{result}");
                // "the cat sat" nine times and "untitled words" once.
                assert_eq!(result["stats"]["total"], json!(29), "{result}");
                assert_eq!(
                    result["stats"]["top_words"][0],
                    json!({"word": "the", "count": 9}),
                    "{result}"
                );
            },
            fan_out: ("validate_document", DOCUMENTS),
            typed: "word_stats",
            rounds: "sum_rounds",
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_python_workflow_runs_with_its_runs_cached() {
        run_example(&example(), 100).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_python_workflow_replays_when_nothing_is_cached() {
        run_example(&example(), 0).await;
    }

    /// Children (one review per batch, started together) and cancellation handled by the
    /// Python code (it awaits approval or cancellation, whichever comes first).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn python_children_and_a_cancel_the_workflow_handles() {
        super::children_and_cancel(&example(), "review_batches", json!(DOCUMENTS - 1)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_host_finishes_a_python_run_the_first_left_half_done() {
        super::example_takeover(&example()).await;
    }

    /// `/status` lists a WIT-typed workflow's activity imports, and warns when no plugin of
    /// the set exports one of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_lists_the_imports_and_warns_of_a_missing_activity() {
        let (host, _queue, _dir) = plugin_host_with(
            &[("python_workflow.wasm", built("python_workflow.wasm"))],
            &[],
            |_| {},
        )
        .await;
        let status = crate::hot_swap::status(host.metrics_addr()).await;
        let plugin = &status["generations"][0]["plugins"][0];
        assert_eq!(plugin["file"], "python_workflow.wasm", "{status}");
        let imports = plugin["imports"].to_string();
        assert!(
            imports.contains("word_stats: word-stats(text: string, top: option<u32>)"),
            "{imports}"
        );
        let warnings = plugin["warnings"].to_string();
        assert!(
            warnings.contains(
                "imports `example:python-activity/documents#word-stats` (activity `word_stats`), \
                 which no plugin in this folder exports"
            ),
            "{warnings}"
        );
        host.stop().await.expect("stop");
    }
}

/// A host killed (SIGKILL) while a WIT-typed run waits inside a call: a second host process
/// re-executes the function from history and finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_host_finishes_a_typed_run_the_first_left_half_done() {
    let lines = json!([{"sku": "tea", "quantity": 2, "unit-price": 3.5}, {"sku": "cup", "quantity": 1, "unit-price": 4.0}]);
    takeover(
        &[
            ("order_workflow.wasm", guests::bytes(ORDER_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        "process_order",
        request("A-1", lines),
        check_receipt,
    )
    .await;
}

/// [`takeover`] of `example` (its plugins as `make plugins` built them).
pub async fn example_takeover(example: &Example) {
    use crate::polyglot::built;
    let files = example.files.map(|f| (f, built(f)));
    takeover(
        &files,
        example.workflow,
        example.request.clone(),
        example.check,
    )
    .await;
}

/// Starts `workflow_type` on a host process serving `files`, kills that process once the run
/// waits for approval, starts a second one, approves, and checks the result.
pub async fn takeover(
    files: &[(&str, Vec<u8>)],
    workflow_type: &'static str,
    input: Value,
    check: fn(&Value),
) {
    use crate::common::{self, spawn_host_on};
    let plugins = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(plugins.path().join(name), bytes).expect("write");
    }
    let queue = unique("wit-takeover");
    let deployment = unique("dep");
    common::precompile(plugins.path()).await;
    let spawn = || spawn_host_on(&queue, &deployment, plugins.path());
    let (mut first, addr) = spawn();
    common::wait_ready(addr).await;

    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ByName(workflow_type),
            input,
            WorkflowStartOptions::new(&queue, unique("half-done")).build(),
        )
        .await
        .expect("start");
    eventually(
        Duration::from_secs(90),
        "the run to wait for approval on the first host",
        || {
            let handle = &handle;
            async move { (status(handle).await.ok()? == json!("awaiting approval")).then_some(()) }
        },
    )
    .await;
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_workflow_runs_cached 1"),
        "{metrics}"
    );
    first.kill().await.expect("kill -9 the first host");

    let (_second, addr) = spawn();
    common::wait_ready(addr).await;
    signal(&handle, "approve", json!("dana")).await;
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    check(&result);
    assert_eq!(result["approved_by"], json!("dana"), "{result}");
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with(&format!(
            "wasm_worker_workflow_activations_total{{workflow_type=\"{workflow_type}\"}}"
        ))),
        "the second host ran the workflow: {metrics}"
    );
}

/// The plugin's manifest bounds its cached runs (the least recently active is evicted and
/// replays when it wakes) and sets options for an imported interface's activities where the
/// call itself sets none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_bounds_cached_runs_and_sets_activity_defaults() {
    let (host, queue, _dir) = plugin_host_with(
        &[
            ("order_workflow.wasm", guests::bytes(ORDER_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[(
            "order_workflow.toml",
            "max_cached_runs = 1\n[activity_defaults.\"example:hello-activity/orders\"]\nheartbeat = \"7s\"\nmax_attempts = 5\n",
        )],
        |_| {},
    )
    .await;
    let client = client(shared_server()).await;
    let lines = json!([{"sku": "tea", "quantity": 2, "unit-price": 3.5}, {"sku": "cup", "quantity": 1, "unit-price": 4.0}]);
    let mut handles = Vec::new();
    for i in 0..2 {
        let handle = client
            .start_workflow(
                ByName("process_order"),
                request("A-1", lines.clone()),
                WorkflowStartOptions::new(&queue, unique(&format!("capped-{i}"))).build(),
            )
            .await
            .expect("start");
        eventually(Duration::from_secs(60), "the run to wait for approval", || {
            let handle = &handle;
            async move { (status(handle).await.ok()? == json!("awaiting approval")).then_some(()) }
        })
        .await;
        handles.push(handle);
    }
    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.contains("wasm_worker_workflow_runs_cached 1\n"),
        "{metrics}"
    );
    assert!(evictions(&metrics) >= 1, "{metrics}");
    for handle in &handles {
        signal(handle, "approve", json!("dana")).await;
    }
    for handle in &handles {
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        check_receipt(&result);
    }
    // summarize_order: the code's own options (one attempt) win; the manifest fills in the
    // heartbeat timeout the code does not set.
    let events = history(&client, handles[0].info().workflow_id.as_str()).await;
    let summarize = events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some(a.clone()),
            _ => None,
        })
        .expect("summarize_order scheduled");
    assert_eq!(summarize.heartbeat_timeout.map(|d| d.seconds), Some(7));
    assert_eq!(summarize.retry_policy.map(|r| r.maximum_attempts), Some(1));
    host.stop().await.expect("stop");
}

pub mod javascript {
    //! The JavaScript example (`plugins/js-workflow`, componentize-js) calling the JavaScript
    //! activity plugin.

    use super::{Example, run_example};
    use serde_json::{Value, json};

    const RECIPIENTS: usize = 10;

    fn example() -> Example {
        let recipients: Vec<Value> = (0..RECIPIENTS)
            .map(|i| {
                let email = (i != 5).then(|| format!("r{i}@example.com"));
                json!({"id": format!("r{i}"), "email": email, "values": [["name", format!("reader {i}")]]})
            })
            .collect();
        Example {
            files: ["js_workflow.wasm", "js_activity.wasm"],
            workflow: "send_mailing",
            request: json!({"template": "Dear {{name}}", "recipients": recipients, "cool-off-ms": 200}),
            check: |result: &Value| {
                assert_eq!(result["previews"][0], json!("Dear reader 0"), "{result}");
                assert_eq!(result["previews"][9], json!("Dear reader 9"), "{result}");
                assert_eq!(result["messages"], json!(RECIPIENTS - 1), "{result}");
                assert_eq!(result["skipped"], json!(["r5"]), "{result}");
            },
            fan_out: ("render_template", RECIPIENTS),
            typed: "render_batch",
            rounds: "add_rounds",
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_javascript_workflow_runs_with_its_runs_cached() {
        run_example(&example(), 100).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_javascript_workflow_replays_when_nothing_is_cached() {
        run_example(&example(), 0).await;
    }

    /// Children (one mailing per batch) and cancellation handled by the JavaScript code.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn javascript_children_and_a_cancel_the_workflow_handles() {
        super::children_and_cancel(&example(), "send_batches", json!(RECIPIENTS - 1)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_host_finishes_a_javascript_run_the_first_left_half_done() {
        super::example_takeover(&example()).await;
    }
}

/// Child workflows started at once and awaited together; a workflow that holds the
/// cancellation handle decides what a cancel request does (here: cancel its timer and end as
/// cancelled), one that does not is cancelled at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_run_together_and_cancellation_is_the_workflows_to_handle() {
    let (host, queue, _dir) = host(None).await;
    let client = client(shared_server()).await;

    let id = unique("children");
    let parent = client
        .start_workflow(
            ByName("sum_children"),
            json!([3, 4, 1]),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start");
    let totals = parent
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("children");
    assert_eq!(
        totals,
        json!([6, 10, 1]),
        "each child continued as new to its total"
    );
    let events = history(&client, &id).await;
    let initiated: Vec<i64> = events
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                Some(a.workflow_task_completed_event_id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(initiated.len(), 3, "{events:?}");
    assert!(
        initiated.iter().all(|t| *t == initiated[0]),
        "started together: {initiated:?}"
    );

    // Handled by the workflow: its timer is cancelled, then the run ends as cancelled.
    let id = unique("handles-cancel");
    let waiting = client
        .start_workflow(
            ByName("wait_or_cancel"),
            json!(600_000),
            WorkflowStartOptions::new(&queue, &id).build(),
        )
        .await
        .expect("start");
    eventually(Duration::from_secs(60), "the run to wait", || {
        let waiting = &waiting;
        async move { (status(waiting).await.ok()? == json!("waiting")).then_some(()) }
    })
    .await;
    let kinds = cancel_run(&waiting, &id).await;
    assert!(kinds.contains(&EventType::TimerCanceled), "{kinds:?}");
    assert_eq!(status(&waiting).await, Ok(json!("cancelled")));

    // Not handled: the run waiting for approval ends as cancelled at once.
    let id = unique("cancelled");
    let lines = json!([{"sku": "tea", "quantity": 1, "unit-price": 1.0}]);
    let order = awaiting_approval(&queue, &id, "process_order", request("A-9", lines)).await;
    cancel_run(&order, &id).await;
    host.stop().await.expect("stop");
}
