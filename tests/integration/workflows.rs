//! Workflow plugins on a real server: the hello-world flow end to end.

use crate::common::guests::{self, GREETING_WORKFLOW, HELLO_ACTIVITY};
use crate::common::workflows::{ByName, client};
use crate::common::{http_get, plugin_host, shared_server, unique};
use serde_json::json;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greeting_workflow_runs_greet_activity_end_to_end() {
    let (host, queue, _dir) = plugin_host(
        &[
            ("greeting_workflow.wasm", guests::bytes(GREETING_WORKFLOW)),
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
        ],
        &[],
    )
    .await;
    let client = client(shared_server()).await;
    let handle = client
        .start_workflow(
            ByName("GreetingWorkflow"),
            json!("World"),
            WorkflowStartOptions::new(&queue, unique("greet")).build(),
        )
        .await
        .expect("start");
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("result");
    assert_eq!(result, json!("Hello, World!"));

    let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with(
            "wasm_worker_workflow_activations_total{workflow_type=\"GreetingWorkflow\"}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("wasm_worker_plugins_loaded 2"),
        "{metrics}"
    );
    host.stop().await.expect("stop");
}

pub mod features {
    //! Each feature of the workflow ABI through the test plugin, driven by typed client calls
    //! generated from the very same workflow crate.

    use crate::common::guests::{self, GREETING_WORKFLOW, HELLO_ACTIVITY, TEST_WORKFLOWS};
    use crate::common::workflows::{ByName, client};
    use crate::common::{eventually, http_get, plugin_host, shared_server, unique};
    use serde_json::json;
    use std::time::Duration;
    use temporalio_client::{
        UntypedWorkflow, WorkflowFetchHistoryOptions, WorkflowGetResultOptions,
        WorkflowStartOptions,
    };
    use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
    use test_workflows::{
        CountdownWorkflow, LoopingWorkflow, PanickingWorkflow, ParentWorkflow, SignalQueryWorkflow,
    };

    async fn test_host() -> (wasm_worker::RunningHost, String, tempfile::TempDir) {
        plugin_host(
            &[
                ("test_workflows.wasm", guests::bytes(TEST_WORKFLOWS)),
                ("greeting_workflow.wasm", guests::bytes(GREETING_WORKFLOW)),
                ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
            ],
            &[],
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn timer_signal_query_and_update() {
        let (host, queue, _dir) = test_host().await;
        let client = client(shared_server()).await;
        let handle = client
            .start_workflow(
                SignalQueryWorkflow::run,
                "first".to_string(),
                WorkflowStartOptions::new(&queue, unique("sq")).build(),
            )
            .await
            .expect("start");
        // The timer fires, then the workflow waits for the signal; queries see each state.
        let state = eventually(
            Duration::from_secs(30),
            "the workflow to wait after its timer",
            || {
                let handle = &handle;
                async move {
                    let s = handle
                        .query(SignalQueryWorkflow::state, (), Default::default())
                        .await
                        .ok()?;
                    (s == "first then waiting").then_some(s)
                }
            },
        )
        .await;
        assert_eq!(state, "first then waiting");
        let old = handle
            .execute_update(
                SignalQueryWorkflow::rename,
                "renamed".to_string(),
                Default::default(),
            )
            .await
            .expect("update");
        assert_eq!(old, "first then waiting");
        handle
            .signal(
                SignalQueryWorkflow::finish,
                "the signal".to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        assert_eq!(result, "renamed / finished with the signal");
        host.stop().await.expect("stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn child_workflows_and_continue_as_new() {
        let (host, queue, _dir) = test_host().await;
        let client = client(shared_server()).await;
        let parent = client
            .start_workflow(
                ParentWorkflow::run,
                20,
                WorkflowStartOptions::new(&queue, unique("parent")).build(),
            )
            .await
            .expect("start parent");
        assert_eq!(
            parent
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("parent result"),
            41
        );

        let countdown = client
            .start_workflow(
                CountdownWorkflow::run,
                3,
                WorkflowStartOptions::new(&queue, unique("countdown")).build(),
            )
            .await
            .expect("start countdown");
        let result = countdown
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("countdown result");
        assert_eq!(result, "liftoff");
        host.stop().await.expect("stop");
    }

    /// The first WorkflowTaskFailed message in a workflow's history.
    pub async fn task_failure(client: &temporalio_client::Client, id: &str) -> String {
        eventually(
            Duration::from_secs(30),
            "a WorkflowTaskFailed event",
            || {
                let handle = client.get_workflow_handle::<UntypedWorkflow>(id);
                async move {
                    let events = handle
                        .fetch_history(WorkflowFetchHistoryOptions::default())
                        .into_events()
                        .await
                        .ok()?;
                    events.into_iter().find_map(|e| match e.attributes {
                        Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => {
                            a.failure.map(|f| f.message)
                        }
                        _ => None,
                    })
                }
            },
        )
        .await
    }

    /// A looping and a panicking workflow fail their own workflow tasks with a clear cause; the
    /// worker stays ready and other workflows run meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn looping_and_panicking_workflows_fail_only_their_own_tasks() {
        let (host, queue, _dir) = test_host().await;
        let client = client(shared_server()).await;
        let looping = unique("loop");
        client
            .start_workflow(
                LoopingWorkflow::run,
                (),
                WorkflowStartOptions::new(&queue, &looping).build(),
            )
            .await
            .expect("start looping");
        let panicking = unique("panic");
        client
            .start_workflow(
                PanickingWorkflow::run,
                "workflow kaboom".to_string(),
                WorkflowStartOptions::new(&queue, &panicking).build(),
            )
            .await
            .expect("start panicking");

        // Meanwhile, the hello-world flow completes.
        let greeting = client
            .start_workflow(
                ByName("GreetingWorkflow"),
                json!("meanwhile"),
                WorkflowStartOptions::new(&queue, unique("g")).build(),
            )
            .await
            .expect("start greeting");
        assert_eq!(
            greeting
                .get_result(WorkflowGetResultOptions::default())
                .await
                .expect("greeting"),
            json!("Hello, meanwhile!")
        );

        let message = task_failure(&client, &looping).await;
        assert!(
            message
                .contains("workflow `LoopingWorkflow` did not finish its workflow task within 5s"),
            "{message}"
        );
        let message = task_failure(&client, &panicking).await;
        assert!(
            message.contains("workflow `PanickingWorkflow` trapped"),
            "{message}"
        );
        assert!(
            message.contains("workflow kaboom"),
            "the panic message is in the failure: {message}"
        );

        assert_eq!(http_get(host.metrics_addr(), "/readyz").await.0, 200);
        let (_, metrics) = http_get(host.metrics_addr(), "/metrics").await;
        assert!(
            metrics.contains("wasm_worker_workflow_task_failures_total{cause=\"deadline\",workflow_type=\"LoopingWorkflow\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("wasm_worker_workflow_task_failures_total{cause=\"trap\",workflow_type=\"PanickingWorkflow\"}"),
            "{metrics}"
        );
        for id in [&looping, &panicking] {
            client
                .get_workflow_handle::<UntypedWorkflow>(id)
                .terminate(Default::default())
                .await
                .expect("terminate");
        }
        host.stop().await.expect("stop");
    }
}

mod takeover {
    //! A host killed mid-workflow: a second host process finishes the run from history.

    use crate::common::guests::{self, TEST_WORKFLOWS};
    use crate::common::workflows::client;
    use crate::common::{self, eventually, http_get, shared_server, unique};
    use std::time::Duration;
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    use test_workflows::SignalQueryWorkflow;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_host_finishes_a_run_the_first_left_half_done() {
        let plugins = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            plugins.path().join("test_workflows.wasm"),
            guests::bytes(TEST_WORKFLOWS),
        )
        .expect("write");
        let queue = unique("takeover");
        let deployment = unique("dep");
        let (mut first, addr) = common::spawn_host_on(&queue, &deployment, plugins.path());
        common::wait_ready(addr).await;

        let client = client(shared_server()).await;
        let id = unique("half-done");
        let handle = client
            .start_workflow(
                SignalQueryWorkflow::run,
                "a".to_string(),
                WorkflowStartOptions::new(&queue, &id).build(),
            )
            .await
            .expect("start");
        eventually(
            Duration::from_secs(30),
            "the run to wait for its signal on the first host",
            || {
                let handle = &handle;
                async move {
                    let s = handle
                        .query(SignalQueryWorkflow::state, (), Default::default())
                        .await
                        .ok()?;
                    (s == "a then waiting").then_some(())
                }
            },
        )
        .await;
        let (_, metrics) = http_get(addr, "/metrics").await;
        assert!(
            metrics.contains("wasm_worker_workflow_runs_cached 1"),
            "{metrics}"
        );
        first.kill().await.expect("kill -9 the first host");

        let (_second, addr) = common::spawn_host_on(&queue, &deployment, plugins.path());
        common::wait_ready(addr).await;
        handle
            .signal(
                SignalQueryWorkflow::finish,
                "b".to_string(),
                Default::default(),
            )
            .await
            .expect("signal");
        let result = handle
            .get_result(WorkflowGetResultOptions::default())
            .await
            .expect("result");
        assert_eq!(result, "a then waiting / finished with b");
        let (_, metrics) = http_get(addr, "/metrics").await;
        assert!(
            metrics.lines().any(|l| l.starts_with(
                "wasm_worker_workflow_activations_total{workflow_type=\"SignalQueryWorkflow\"}"
            )),
            "the second host ran the workflow: {metrics}"
        );
    }
}
