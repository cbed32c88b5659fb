//! Periodic DescribeTaskQueue: the backlog gauge, and the reachability signal `/readyz` needs
//! to turn 503 when the server goes away after start.

use crate::health::Health;
use crate::metrics::HostMetrics;
use std::sync::Arc;
use std::time::Duration;
use temporalio_client::Connection;
use temporalio_client::tonic::Request;
use temporalio_common::protos::temporal::api::enums::v1::TaskQueueType;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeTaskQueueRequest;
use tokio_util::sync::CancellationToken;

/// A call that takes longer than this counts as the server being unreachable.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Refreshes every `interval` until `stop` fires.
pub(crate) async fn refresh_loop(
    connection: Connection,
    namespace: String,
    task_queue: String,
    interval: Duration,
    metrics: HostMetrics,
    health: Arc<Health>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let mut reachable = Ok(());
        for (label, kind) in [
            ("workflow", TaskQueueType::Workflow),
            ("activity", TaskQueueType::Activity),
        ] {
            match describe(&connection, &namespace, &task_queue, kind).await {
                Ok(backlog) => metrics
                    .task_queue_backlog
                    .with_label_values(&[&task_queue, label])
                    .set(backlog),
                Err(e) => reachable = Err(e),
            }
        }
        if let Err(e) = &reachable {
            tracing::warn!(error = %e, "Temporal server not reachable");
        }
        health.set_reachable(reachable);
    }
}

/// The approximate backlog of one task-queue type.
async fn describe(
    connection: &Connection,
    namespace: &str,
    task_queue: &str,
    kind: TaskQueueType,
) -> Result<i64, String> {
    let request = DescribeTaskQueueRequest {
        namespace: namespace.to_string(),
        task_queue: Some(TaskQueue {
            name: task_queue.to_string(),
            ..Default::default()
        }),
        task_queue_type: kind as i32,
        report_stats: true,
        ..Default::default()
    };
    let mut service = connection.workflow_service();
    let call = service.describe_task_queue(Request::new(request));
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(resp)) => Ok(resp
            .into_inner()
            .stats
            .map_or(0, |s| s.approximate_backlog_count)),
        Ok(Err(status)) => Err(format!(
            "DescribeTaskQueue failed: {}: {}",
            status.code(),
            status.message()
        )),
        Err(_) => Err(format!(
            "DescribeTaskQueue timed out after {CALL_TIMEOUT:?}"
        )),
    }
}
