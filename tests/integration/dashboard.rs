//! The Grafana dashboard and the alert rules, proven on Debian's real Prometheus: a host under
//! load is scraped, every panel's query is evaluated through Prometheus's HTTP API and must
//! return series, and the alert rules must load and evaluate without error.

use crate::common::guests::{self, GREETING_WORKFLOW, HELLO_ACTIVITY, TEST_ACTIVITIES};
use crate::common::workflows::{ByName, Call, client, run};
use crate::common::{eventually, free_port, plugin_host, shared_server, unique, workspace_root};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

/// Debian's `prometheus` (and `promtool`), which `make setup` installs.
fn tool(name: &str) -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: run `make setup` (or `apt-get install prometheus`, which \
             provides prometheus and promtool)"
        )
    })
}

/// Every `expr` of the dashboard's panels, with the panel's title.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = workspace_root().join("deploy/grafana/wasm-worker.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_string();
            p["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |t| (title.clone(), t["expr"].as_str().expect("expr").to_string()))
        })
        .collect()
}

async fn query(prometheus: &str, expr: &str) -> Result<Vec<Value>, String> {
    let body: Value = reqwest::Client::new()
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))?;
    if body["status"] != "success" {
        return Err(format!("query failed: {body}"));
    }
    Ok(body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_alert_rule_works_on_a_real_prometheus() {
    let alerts = workspace_root().join("deploy/prometheus/alerts.yml");
    let checked = std::process::Command::new(tool("promtool"))
        .args(["check", "rules"])
        .arg(&alerts)
        .output()
        .expect("running promtool");
    assert!(
        checked.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let (host, queue, _dir) = plugin_host(
        &[
            ("hello_activity.wasm", guests::bytes(HELLO_ACTIVITY)),
            ("test_activities.wasm", guests::bytes(TEST_ACTIVITIES)),
            ("greeting_workflow.wasm", guests::bytes(GREETING_WORKFLOW)),
        ],
        &[],
    )
    .await;
    let data = tempfile::tempdir().expect("prometheus dir");
    let config = data.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             rule_files: [\"{}\"]\n\
             scrape_configs:\n  - job_name: wasm-worker\n    static_configs:\n      - targets: [\"{}\"]\n",
            alerts.display(),
            host.metrics_addr()
        ),
    )
    .expect("write the config");
    let port = free_port();
    let _prometheus = tokio::process::Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            data.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting prometheus");
    let prometheus = format!("http://127.0.0.1:{port}");

    // Load of every kind the panels show: calls, a failure, a sandbox denial, a workflow.
    let client = client(shared_server()).await;
    let workflow = client
        .start_workflow(
            ByName("GreetingWorkflow"),
            json!("Prometheus"),
            WorkflowStartOptions::new(&queue, unique("dash")).build(),
        )
        .await
        .expect("start");
    let greeted = run(&queue, Call::new("greet_activity", &queue).json(json!("p"))).await;
    assert_eq!(greeted.json(), json!("Hello, p!"));
    let panicked = run(
        &queue,
        Call::new("panic", &queue)
            .json(json!("on purpose"))
            .attempts(1),
    )
    .await;
    assert!(panicked.failure.is_some());
    let denied = run(
        &queue,
        Call::new("http_get", &queue).json(json!("http://127.0.0.1:9/")),
    )
    .await;
    assert!(denied.failure.is_some(), "an unlisted host is refused");
    workflow
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the workflow completes");

    // Every panel query returns series once Prometheus has scraped the load.
    let queries = dashboard_queries();
    assert!(queries.len() >= 15, "{queries:?}");
    let mut empty = Vec::new();
    for (title, expr) in &queries {
        let prometheus = prometheus.as_str();
        let answer = tokio::time::timeout(
            Duration::from_secs(45),
            eventually(Duration::from_secs(45), title, || async move {
                match query(prometheus, expr).await {
                    Ok(series) if !series.is_empty() => Some(Ok(series.len())),
                    Ok(_) => None,
                    // A query Prometheus refuses never starts working: report it at once.
                    Err(e) if e.starts_with("query failed") => Some(Err(e)),
                    Err(_) => None,
                }
            }),
        )
        .await;
        match answer {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => empty.push(format!("{title}: `{expr}`: {e}")),
            Err(_) => empty.push(format!("{title}: `{expr}`: no series")),
        }
    }
    assert!(
        empty.is_empty(),
        "panels without data:\n{}",
        empty.join("\n")
    );

    // The alert rules were loaded and evaluate without error.
    let rules = eventually(
        Duration::from_secs(30),
        "the alert rules to be evaluated",
        || {
            let prometheus = prometheus.clone();
            async move {
                let text = reqwest::get(format!("{prometheus}/api/v1/rules"))
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                let body: Value = serde_json::from_str(&text).ok()?;
                let rules: Vec<Value> = body["data"]["groups"][0]["rules"].as_array()?.clone();
                (rules.len() == 4
                    && rules.iter().all(|r| {
                        !r["lastEvaluation"]
                            .as_str()
                            .unwrap_or("0001")
                            .starts_with("0001")
                    }))
                .then_some(rules)
            }
        },
    )
    .await;
    for rule in rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    host.stop().await.expect("stop");
}
