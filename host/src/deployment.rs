//! Making this host's deployment version the current one, so the server routes new workflows
//! (and activities) to it.
//!
//! A versioned worker gets no new work until its version is current, and a version exists on
//! the server only after its first poll, so the call is retried while the server answers
//! NotFound. A server without worker deployments answers Unimplemented or FailedPrecondition;
//! the host then keeps polling and says loudly that versioning is off.

use std::time::Duration;
use temporalio_client::Connection;
use temporalio_client::tonic::{Code, Request};
use temporalio_common::protos::temporal::api::enums::v1::RoutingConfigUpdateState;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    DescribeWorkerDeploymentRequest, SetWorkerDeploymentCurrentVersionRequest,
};
use tokio_util::sync::CancellationToken;

/// How long to wait for the server to learn of the version through its first poll.
const REGISTRATION_WAIT: Duration = Duration::from_secs(60);
/// Pause between attempts while the version is not yet known.
const RETRY_EVERY: Duration = Duration::from_millis(250);

/// What became of the request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The version is current.
    Current,
    /// The server does not support worker deployments here; work is routed unversioned.
    Unsupported(String),
}

/// Makes `deployment_name`/`build_id` the deployment's current version.
pub async fn make_current(
    connection: &Connection,
    namespace: &str,
    deployment_name: &str,
    build_id: &str,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let started = tokio::time::Instant::now();
    loop {
        let request = SetWorkerDeploymentCurrentVersionRequest {
            namespace: namespace.to_string(),
            deployment_name: deployment_name.to_string(),
            build_id: build_id.to_string(),
            identity: connection.identity().to_string(),
            ..Default::default()
        };
        let status = match connection
            .workflow_service()
            .set_worker_deployment_current_version(Request::new(request))
            .await
        {
            Ok(_) => {
                wait_propagated(connection, namespace, deployment_name, cancel).await;
                tracing::info!(
                    deployment = deployment_name,
                    build_id,
                    "deployment version is current"
                );
                return Ok(Outcome::Current);
            }
            Err(s) => s,
        };
        match status.code() {
            Code::Unimplemented | Code::FailedPrecondition | Code::PermissionDenied => {
                return Ok(Outcome::Unsupported(status.message().to_string()));
            }
            Code::NotFound | Code::Unavailable | Code::DeadlineExceeded | Code::Aborted
                if started.elapsed() < REGISTRATION_WAIT => {}
            _ => anyhow::bail!(
                "setting {deployment_name}/{build_id} as the current deployment version failed: {}: {}",
                status.code(),
                status.message()
            ),
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = cancel.cancelled() => anyhow::bail!("shutdown requested before the version became current"),
        }
    }
}

/// Longest wait for a routing change to reach every task-queue partition.
const PROPAGATION_WAIT: Duration = Duration::from_secs(10);

/// Waits until the server reports the deployment's routing change propagated to its task
/// queues: before that, matching may still hand the next task of an auto-upgrade run (or a new
/// run) to the old version, and "current" on `/status` would promise more than is true. A
/// server that does not report the state (older ones) or does not answer is not waited for.
async fn wait_propagated(
    connection: &Connection,
    namespace: &str,
    deployment_name: &str,
    cancel: &CancellationToken,
) {
    let started = tokio::time::Instant::now();
    while started.elapsed() < PROPAGATION_WAIT {
        let request = DescribeWorkerDeploymentRequest {
            namespace: namespace.to_string(),
            deployment_name: deployment_name.to_string(),
        };
        let state = connection
            .workflow_service()
            .describe_worker_deployment(Request::new(request))
            .await
            .ok()
            .and_then(|r| r.into_inner().worker_deployment_info)
            .map(|i| i.routing_config_update_state());
        if state != Some(RoutingConfigUpdateState::InProgress) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = cancel.cancelled() => return,
        }
    }
    tracing::warn!(
        deployment = deployment_name,
        "the server still reports the routing change in progress after {PROPAGATION_WAIT:?}"
    );
}
