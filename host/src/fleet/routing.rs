//! The coordinator's activities: the deployment's routing calls and the gate workflow. They run
//! on every host's coordinator worker, so whichever host is alive performs them.
//!
//! A routing change is never blind: the activity first reads the deployment's routing and
//! compares it with what the coordinator last set. If they differ, someone changed it outside
//! the coordinator (an operator's `temporal worker deployment set-current-version`, a CD
//! pipeline) and the activity changes nothing — the coordinator pauses for an operator. The
//! change itself carries the server's conflict token from that read, so a change slipping in
//! between is refused by the server and seen at the next read.

use super::plan::{Op, ServerRouting};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use temporalio_client::Connection;
use temporalio_client::tonic::Request;
use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads, WorkflowType};
use temporalio_common::protos::temporal::api::deployment::v1::WorkerDeploymentVersion;
use temporalio_common::protos::temporal::api::enums::v1::{
    EventType, HistoryEventFilterType, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflow::v1::{
    VersioningOverride, versioning_override,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    GetWorkflowExecutionHistoryRequest, SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest, StartWorkflowExecutionRequest,
};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

/// The routing activity's type name.
pub const ROUTE_ACTIVITY: &str = "wasm-worker.route";
/// The gate activity's type name.
pub const GATE_ACTIVITY: &str = "wasm-worker.gate";

/// A routing change and what the coordinator believes the routing is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteInput {
    pub deployment: String,
    pub op: Op,
    /// The current build the coordinator last set (`None` before its first change: whatever
    /// the server has is adopted).
    pub expected_current: Option<String>,
    /// The ramping build the coordinator last set.
    pub expected_ramping: Option<String>,
}

/// Runs a gate workflow pinned to a build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateInput {
    pub deployment: String,
    pub task_queue: String,
    pub build_id: String,
    pub workflow: String,
    pub input: serde_json::Value,
}

/// What became of a routing change or gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum RouteOutcome {
    Done,
    /// The routing differs from what the coordinator set (or, before its first change, the
    /// deployment already routes elsewhere); nothing was changed.
    Conflict {
        message: String,
        #[serde(default)]
        server: ServerRouting,
    },
    /// A definite failure (the gate workflow failed, say).
    Failed {
        message: String,
    },
}

/// The activities' shared state: the host's connection.
pub struct RoutingActivities {
    pub connection: Connection,
    pub namespace: String,
}

/// The deployment's routing as the server has it, and the token of that reading.
struct Routing {
    server: ServerRouting,
    token: Vec<u8>,
}

fn retryable(what: &str, e: impl std::fmt::Display) -> ActivityError {
    anyhow::anyhow!("{what}: {e}").into()
}

impl RoutingActivities {
    async fn routing(&self, deployment: &str) -> Result<Routing, ActivityError> {
        let (server, token) =
            crate::deployment::routing(&self.connection, &self.namespace, deployment)
                .await
                .map_err(|s| retryable("reading the deployment's routing", s))?;
        Ok(Routing { server, token })
    }

    /// Whether the server already shows the op done (an earlier attempt changed the routing
    /// but did not report back: a timeout, or its host was killed). A ramp change counts as
    /// done only under the current build the coordinator expects: with another current, the
    /// routing was changed outside and the conflict check must see it.
    fn already_done(input: &RouteInput, server: &ServerRouting) -> bool {
        let ramping = server.ramping.as_ref().map(|(b, _)| b.as_str());
        let current_as_expected =
            input.expected_current.is_none() || server.current == input.expected_current;
        match &input.op {
            Op::SetCurrent { build_id } => {
                server.current.as_deref() == Some(build_id.as_str()) && ramping != Some(build_id)
            }
            Op::SetRamping { build_id, percent } => {
                current_as_expected
                    && server
                        .ramping
                        .as_ref()
                        .is_some_and(|(b, p)| b == build_id && (p - percent).abs() < 0.001)
            }
            Op::Unramp { build_id, .. } => {
                current_as_expected && ramping != Some(build_id.as_str())
            }
            Op::RunGate { .. } => false,
        }
    }

    /// Why `input.op` must not be performed on `server`, if it must not.
    fn conflict(input: &RouteInput, server: &ServerRouting) -> Option<String> {
        let ramping = server.ramping.as_ref().map(|(b, _)| b.clone());
        let Some(expected) = &input.expected_current else {
            // The coordinator's first change: a deployment that already routes to another
            // build (routed before the coordinator existed, or the coordinator restarted
            // empty) is adopted, not overwritten.
            let target = match &input.op {
                Op::SetCurrent { build_id } | Op::SetRamping { build_id, .. } => Some(build_id),
                _ => None,
            };
            return server
                .current
                .as_ref()
                .filter(|c| Some(*c) != target)
                .map(|c| format!("the deployment already routes to {c}"));
        };
        (Some(expected) != server.current.as_ref() || input.expected_ramping != ramping).then(|| {
            format!(
                "the server routes current={} ramping={}, the coordinator set current={} ramping={}",
                server.current.as_deref().unwrap_or("-"),
                ramping.as_deref().unwrap_or("-"),
                expected,
                input.expected_ramping.as_deref().unwrap_or("-"),
            )
        })
    }
}

#[activities]
impl RoutingActivities {
    /// Performs one routing change of the coordinator's plan.
    #[activity(name = "wasm-worker.route")]
    pub async fn route(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RouteInput,
    ) -> Result<RouteOutcome, ActivityError> {
        let Routing { server, token } = self.routing(&input.deployment).await?;
        if Self::already_done(&input, &server) {
            return Ok(RouteOutcome::Done);
        }
        if let Some(message) = Self::conflict(&input, &server) {
            return Ok(RouteOutcome::Conflict { message, server });
        }
        let identity = self.connection.identity().to_string();
        let mut service = self.connection.workflow_service();
        let sent = match &input.op {
            Op::SetCurrent { build_id } => service
                .set_worker_deployment_current_version(Request::new(
                    SetWorkerDeploymentCurrentVersionRequest {
                        namespace: self.namespace.clone(),
                        deployment_name: input.deployment.clone(),
                        build_id: build_id.clone(),
                        conflict_token: token.clone(),
                        identity,
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
            Op::SetRamping { build_id, percent } => service
                .set_worker_deployment_ramping_version(Request::new(
                    SetWorkerDeploymentRampingVersionRequest {
                        namespace: self.namespace.clone(),
                        deployment_name: input.deployment.clone(),
                        build_id: build_id.clone(),
                        percentage: *percent,
                        conflict_token: token.clone(),
                        identity,
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
            Op::Unramp { .. } => service
                .set_worker_deployment_ramping_version(Request::new(
                    SetWorkerDeploymentRampingVersionRequest {
                        namespace: self.namespace.clone(),
                        deployment_name: input.deployment.clone(),
                        conflict_token: token.clone(),
                        identity,
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
            Op::RunGate { .. } => {
                return Ok(RouteOutcome::Failed {
                    message: "a gate is not a routing change".into(),
                });
            }
        };
        // Refused: retried (a version not registered yet, a token that moved); the next
        // attempt reads the routing again and sees a conflict if there is one.
        sent.map_err(|s| {
            retryable(
                "changing the routing",
                format!("{}: {}", s.code(), s.message()),
            )
        })?;
        Ok(RouteOutcome::Done)
    }

    /// Runs the gate workflow pinned to the new build and waits for it to close.
    #[activity(name = "wasm-worker.gate")]
    pub async fn gate(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: GateInput,
    ) -> Result<RouteOutcome, ActivityError> {
        // One gate run per build: a retried attempt finds the run an earlier one started.
        let workflow_id = format!("wasm-worker-gate/{}/{}", input.deployment, input.build_id);
        let payload = Payload {
            metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(),
            data: serde_json::to_vec(&input.input).unwrap_or_default(),
            ..Default::default()
        };
        let request = StartWorkflowExecutionRequest {
            namespace: self.namespace.clone(),
            workflow_id: workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: input.workflow.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: input.task_queue.clone(),
                ..Default::default()
            }),
            input: (!input.input.is_null()).then(|| Payloads {
                payloads: vec![payload],
            }),
            identity: self.connection.identity().to_string(),
            request_id: workflow_id.clone(),
            workflow_execution_timeout: super::coordinator::GATE_TIMEOUT.try_into().ok(),
            workflow_id_reuse_policy: WorkflowIdReusePolicy::RejectDuplicate.into(),
            workflow_id_conflict_policy: WorkflowIdConflictPolicy::UseExisting.into(),
            versioning_override: Some(VersioningOverride {
                r#override: Some(versioning_override::Override::Pinned(
                    versioning_override::PinnedOverride {
                        behavior: versioning_override::PinnedOverrideBehavior::Pinned.into(),
                        version: Some(WorkerDeploymentVersion {
                            deployment_name: input.deployment.clone(),
                            build_id: input.build_id.clone(),
                        }),
                    },
                )),
                ..Default::default()
            }),
            ..Default::default()
        };
        let started = self
            .connection
            .workflow_service()
            .start_workflow_execution(Request::new(request))
            .await;
        let run_id = match started {
            Ok(s) => s.into_inner().run_id,
            // An earlier attempt's run already closed: its verdict stands.
            Err(s) if s.code() == temporalio_client::tonic::Code::AlreadyExists => String::new(),
            Err(s) => return Err(retryable("starting the gate workflow", s)),
        };
        self.await_close(&ctx, &workflow_id, &run_id).await
    }
}

impl RoutingActivities {
    /// Long-polls the workflow's history for its close event.
    async fn await_close(
        &self,
        ctx: &ActivityContext,
        id: &str,
        run_id: &str,
    ) -> Result<RouteOutcome, ActivityError> {
        let mut token = Vec::new();
        loop {
            // Each long poll returns within ~20 s: alive, still waiting.
            let _ = ctx.record_heartbeat(()).await;
            let request = GetWorkflowExecutionHistoryRequest {
                namespace: self.namespace.clone(),
                execution: Some(WorkflowExecution {
                    workflow_id: id.to_string(),
                    run_id: run_id.to_string(),
                }),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent.into(),
                next_page_token: token.clone(),
                ..Default::default()
            };
            let page = self
                .connection
                .workflow_service()
                .get_workflow_execution_history(Request::new(request))
                .await
                .map_err(|s| retryable("waiting for the gate workflow", s))?
                .into_inner();
            if let Some(event) = page.history.and_then(|h| h.events.into_iter().last()) {
                return Ok(match (event.event_type(), event.attributes) {
                    (EventType::WorkflowExecutionCompleted, _) => RouteOutcome::Done,
                    (_, Some(Attributes::WorkflowExecutionFailedEventAttributes(a))) => {
                        RouteOutcome::Failed {
                            message: a.failure.map_or_else(|| "failed".into(), |f| f.message),
                        }
                    }
                    (t, _) => RouteOutcome::Failed {
                        message: format!("closed as {}", t.as_str_name()),
                    },
                });
            }
            token = page.next_page_token;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(op: Op, current: &str, ramping: Option<&str>) -> RouteInput {
        RouteInput {
            deployment: "d".into(),
            op,
            expected_current: Some(current.into()),
            expected_ramping: ramping.map(Into::into),
        }
    }

    fn server(current: &str, ramping: Option<(&str, f32)>) -> ServerRouting {
        ServerRouting {
            current: Some(current.into()),
            ramping: ramping.map(|(b, p)| (b.into(), p)),
        }
    }

    #[test]
    fn a_change_an_earlier_attempt_made_is_done_and_an_outside_change_conflicts() {
        let unramp = |b: &str| Op::Unramp {
            build_id: b.into(),
            reason: "r".into(),
            rolled_back: true,
        };
        // The ramp is gone and the current build is the expected one: done.
        let i = input(unramp("r"), "a", Some("r"));
        assert!(RoutingActivities::already_done(&i, &server("a", None)));
        // Gone because someone made `r` current outside: not done, a conflict.
        let s = server("r", None);
        assert!(!RoutingActivities::already_done(&i, &s));
        assert!(RoutingActivities::conflict(&i, &s).is_some());
        // The normal flow has no conflict.
        let ramp = Op::SetRamping {
            build_id: "r".into(),
            percent: 10.0,
        };
        let i = input(ramp, "a", None);
        assert!(RoutingActivities::conflict(&i, &server("a", None)).is_none());
        assert!(RoutingActivities::already_done(
            &i,
            &server("a", Some(("r", 10.0)))
        ));
        // A first change meeting existing routing conflicts (adopted, not overwritten).
        let first = RouteInput {
            expected_current: None,
            ..input(
                Op::SetCurrent {
                    build_id: "n".into(),
                },
                "a",
                None,
            )
        };
        assert!(RoutingActivities::conflict(&first, &server("x", None)).is_some());
        let fresh = ServerRouting::default();
        assert!(RoutingActivities::conflict(&first, &fresh).is_none());
    }
}
