//! Making this host's deployment version the current one, so the server routes new workflows
//! (and activities) to it.
//!
//! A versioned worker gets no new work until its version is current, and a version exists on
//! the server only after its first poll, so the call is retried while the server answers
//! NotFound. A server without worker deployments answers Unimplemented or FailedPrecondition;
//! the host then keeps polling and says loudly that versioning is off.

use crate::fleet::plan::ServerRouting;
use std::time::Duration;
use temporalio_client::Connection;
use temporalio_client::tonic::{Code, Request};
use temporalio_common::protos::temporal::api::deployment::v1::{
    WorkerDeploymentVersion, WorkerDeploymentVersionInfo,
};
use temporalio_common::protos::temporal::api::enums::v1::{
    RoutingConfigUpdateState, TaskQueueType,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    DescribeWorkerDeploymentRequest, DescribeWorkerDeploymentVersionRequest,
    SetWorkerDeploymentCurrentVersionRequest, SetWorkerDeploymentRampingVersionRequest,
};
use tokio_util::sync::CancellationToken;

/// How long to wait for the server to learn of the version through its first poll.
const REGISTRATION_WAIT: Duration = Duration::from_secs(60);
/// Pause between attempts while the version is not yet known.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// What became of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server accepted the routing change (current, ramping or unramped).
    Accepted,
    /// The server does not support worker deployments here; work is routed unversioned.
    Unsupported(String),
}

/// The deployment a host's generations belong to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deployment<'a> {
    pub connection: &'a Connection,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The task queue every generation polls, for workflow and activity tasks alike.
    pub task_queue: &'a str,
}

/// A routing change request.
enum SetRequest {
    Current(SetWorkerDeploymentCurrentVersionRequest),
    Ramping(SetWorkerDeploymentRampingVersionRequest),
}

impl SetRequest {
    async fn send(&self, connection: &Connection) -> Result<(), temporalio_client::tonic::Status> {
        let mut service = connection.workflow_service();
        match self {
            SetRequest::Current(r) => service
                .set_worker_deployment_current_version(Request::new(r.clone()))
                .await
                .map(|_| ()),
            SetRequest::Ramping(r) => service
                .set_worker_deployment_ramping_version(Request::new(r.clone()))
                .await
                .map(|_| ()),
        }
    }
}

/// Makes `build_id` the deployment's current version (which also ends a ramp to it).
pub(crate) async fn make_current(
    d: Deployment<'_>,
    build_id: &str,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let request = SetRequest::Current(SetWorkerDeploymentCurrentVersionRequest {
        namespace: d.namespace.to_string(),
        deployment_name: d.name.to_string(),
        build_id: build_id.to_string(),
        identity: d.connection.identity().to_string(),
        ..Default::default()
    });
    let started = tokio::time::Instant::now();
    wait_registered(d, build_id, cancel).await;
    let registered_ms = started.elapsed().as_millis();
    let outcome = change_routing(d, build_id, "current", cancel, &request).await?;
    if outcome == Outcome::Accepted {
        tracing::info!(
            deployment = d.name,
            build_id,
            registered_ms,
            routed_ms = started.elapsed().as_millis(),
            "deployment version is current"
        );
    }
    Ok(outcome)
}

/// Makes `build_id` the deployment's ramping version at `percent` of new runs; `None`
/// removes the ramp (all new runs go to the current version again).
pub(crate) async fn set_ramping(
    d: Deployment<'_>,
    ramp: Option<(&str, f32)>,
    cancel: &CancellationToken,
) -> anyhow::Result<Outcome> {
    let (build_id, percentage) = ramp.unwrap_or(("", 0.0));
    let request = SetRequest::Ramping(SetWorkerDeploymentRampingVersionRequest {
        namespace: d.namespace.to_string(),
        deployment_name: d.name.to_string(),
        build_id: build_id.to_string(),
        percentage,
        identity: d.connection.identity().to_string(),
        ..Default::default()
    });
    let what = if ramp.is_some() {
        wait_registered(d, build_id, cancel).await;
        "ramping"
    } else {
        "unramped"
    };
    let outcome = change_routing(d, build_id, what, cancel, &request).await?;
    if outcome == Outcome::Accepted {
        tracing::info!(
            deployment = d.name,
            build_id,
            percentage,
            "deployment ramp set"
        );
    }
    Ok(outcome)
}

/// Sends `request` until the server accepts it, retrying while the server does not know the
/// version yet (NotFound until the first poll reaches it) or is briefly unavailable.
/// `Outcome::Accepted` means the server accepted the change (see [`wait_propagated`]).
async fn change_routing(
    d: Deployment<'_>,
    build_id: &str,
    what: &str,
    cancel: &CancellationToken,
    request: &SetRequest,
) -> anyhow::Result<Outcome> {
    let started = tokio::time::Instant::now();
    loop {
        let status = match request.send(d.connection).await {
            Ok(()) => return Ok(Outcome::Accepted),
            Err(s) => s,
        };
        match status.code() {
            // The version polls one task-queue type but the server has not seen the other
            // yet: routing to it now would leave that type unversioned, so the server says no
            // until it has (normally prevented by `wait_registered`). The server sends this as a
            // plain FailedPrecondition with no error detail of its own, so only the message
            // tells it from a server without deployments: the one decision here made by text.
            Code::FailedPrecondition
                if status.message().contains("missing active task queues")
                    && started.elapsed() < REGISTRATION_WAIT => {}
            Code::Unimplemented | Code::FailedPrecondition | Code::PermissionDenied => {
                return Ok(Outcome::Unsupported(status.message().to_string()));
            }
            Code::NotFound | Code::Unavailable | Code::DeadlineExceeded | Code::Aborted
                if started.elapsed() < REGISTRATION_WAIT => {}
            _ => anyhow::bail!(
                "making {}/{build_id} {what} failed: {}: {}",
                d.name,
                status.code(),
                status.message()
            ),
        }
        tracing::debug!(build_id, what, code = ?status.code(), reason = status.message(), ms = started.elapsed().as_millis() as u64, "routing change refused for now; retrying");
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = cancel.cancelled() => anyhow::bail!("shutdown requested before {}/{build_id} was {what}", d.name),
        }
    }
}

/// What the server knows of `build_id`'s version (`None` when it answers without it).
pub(crate) async fn describe_version(
    d: Deployment<'_>,
    build_id: &str,
) -> Result<Option<WorkerDeploymentVersionInfo>, temporalio_client::tonic::Status> {
    let request = DescribeWorkerDeploymentVersionRequest {
        namespace: d.namespace.to_string(),
        deployment_version: Some(WorkerDeploymentVersion {
            deployment_name: d.name.to_string(),
            build_id: build_id.to_string(),
        }),
        ..Default::default()
    };
    d.connection
        .workflow_service()
        .describe_worker_deployment_version(Request::new(request))
        .await
        .map(|r| r.into_inner().worker_deployment_version_info)
}

/// Waits until the server lists `build_id`'s version on the host's task queue for both
/// workflow and activity tasks. A version registers each type with its first poll of that
/// type, and the server refuses to route to a version that lacks a type the current version
/// has ("missing active task queues"), so asking before both polls arrived fails the swap.
/// Bounded by [`REGISTRATION_WAIT`]; a server that cannot describe versions is not waited for
/// (the routing call then says what is wrong).
pub(crate) async fn wait_registered(d: Deployment<'_>, build_id: &str, cancel: &CancellationToken) {
    let started = tokio::time::Instant::now();
    while started.elapsed() < REGISTRATION_WAIT {
        let answer = describe_version(d, build_id).await;
        match answer {
            Ok(info) => {
                let queues = info.map(|i| i.task_queue_infos).unwrap_or_default();
                let has = |t: TaskQueueType| {
                    queues
                        .iter()
                        .any(|q| q.name == d.task_queue && q.r#type() == t)
                };
                if has(TaskQueueType::Workflow) && has(TaskQueueType::Activity) {
                    return;
                }
            }
            Err(s) if matches!(s.code(), Code::NotFound | Code::Unavailable) => {}
            Err(s) => {
                tracing::debug!(build_id, error = %s, "describing the new version failed; not waiting for its registration");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = cancel.cancelled() => return,
        }
    }
}

/// The deployment's routing as the server has it, and the conflict token of that reading
/// (to pass to a change that must not overwrite a newer one). A deployment no version has
/// polled yet (NotFound) routes nothing.
pub(crate) async fn routing(
    connection: &Connection,
    namespace: &str,
    name: &str,
) -> Result<(ServerRouting, Vec<u8>), temporalio_client::tonic::Status> {
    let request = DescribeWorkerDeploymentRequest {
        namespace: namespace.to_string(),
        deployment_name: name.to_string(),
    };
    let answer = match connection
        .workflow_service()
        .describe_worker_deployment(Request::new(request))
        .await
    {
        Ok(a) => a.into_inner(),
        Err(s) if s.code() == Code::NotFound => return Ok((ServerRouting::default(), Vec::new())),
        Err(s) => return Err(s),
    };
    let config = answer
        .worker_deployment_info
        .and_then(|i| i.routing_config)
        .unwrap_or_default();
    let build =
        |v: Option<WorkerDeploymentVersion>| v.map(|v| v.build_id).filter(|b| !b.is_empty());
    let percent = config.ramping_version_percentage;
    let server = ServerRouting {
        current: build(config.current_deployment_version),
        ramping: build(config.ramping_deployment_version).map(|b| (b, percent)),
    };
    Ok((server, answer.conflict_token))
}

/// Longest wait for a routing change to reach every task-queue partition.
const PROPAGATION_WAIT: Duration = Duration::from_secs(60);

/// Waits until the server reports the deployment's last routing change propagated to every
/// task-queue partition; false if it did not within [`PROPAGATION_WAIT`] or on cancellation.
///
/// A routing change takes effect as soon as the server accepts it, partition by partition:
/// until all have it, some new runs (and the next tasks of auto-upgrade runs) may still go to
/// the previous version — which keeps polling while it drains, so nothing waits on it. The
/// host therefore reports a version current when the server accepted it and tracks this
/// separately (`/status` `routing.propagated`). On the dev server the answer takes ~1 s: the
/// describe call is a query that waits for the deployment workflow's pending work.
///
/// Takes the connection and names by value: it runs in a background task.
pub(crate) async fn wait_propagated(
    connection: Connection,
    namespace: String,
    name: String,
    cancel: CancellationToken,
) -> bool {
    let started = tokio::time::Instant::now();
    while started.elapsed() < PROPAGATION_WAIT {
        let request = DescribeWorkerDeploymentRequest {
            namespace: namespace.clone(),
            deployment_name: name.clone(),
        };
        let state = connection
            .workflow_service()
            .describe_worker_deployment(Request::new(request))
            .await
            .ok()
            .and_then(|r| r.into_inner().worker_deployment_info)
            .map(|i| i.routing_config_update_state());
        if matches!(
            state,
            Some(RoutingConfigUpdateState::Completed | RoutingConfigUpdateState::Unspecified)
        ) {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = cancel.cancelled() => return false,
        }
    }
    tracing::warn!(
        deployment = name,
        "the server still reports the routing change in progress after {PROPAGATION_WAIT:?}"
    );
    false
}
