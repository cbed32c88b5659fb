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
use temporalio_common::protos::temporal::api::workflowservice::v1::SetWorkerDeploymentCurrentVersionRequest;
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
