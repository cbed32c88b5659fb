//! The workflow-runtime ABI's side of an activation, without the instance: classifying core's
//! jobs, turning the guest's per-job results into core's commands (query responses, update
//! acceptances and rejections), and the guest's terminal outcome into the completing command.
//! Every byte from the guest is decoded with an error, never a panic.

use crate::runtime::workflow_host::bindings::types;
use prost::Message;
use temporalio_common::protos::coresdk::workflow_activation::{
    WorkflowActivation, workflow_activation_job::Variant,
};
use temporalio_common::protos::coresdk::workflow_commands::{
    CancelWorkflowExecution, CompleteWorkflowExecution, ContinueAsNewWorkflowExecution,
    FailWorkflowExecution, QueryResult, QuerySuccess, UpdateResponse, WorkflowCommand,
    query_result, update_response, workflow_command,
};
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads};
use temporalio_common::protos::temporal::api::enums::v1::WorkflowTaskFailedCause;
use temporalio_common::protos::temporal::api::failure::v1::Failure;

/// How a step of the activation ended early.
pub(super) enum Step {
    Trap(wasmtime::Error),
    Fail(String, Option<WorkflowTaskFailedCause>),
}

/// What a job expects back from the guest.
#[derive(Debug)]
pub(super) enum JobContext {
    Passive,
    Signal,
    Update { protocol_instance_id: String },
    Query { query_id: String },
}

pub(super) fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, String> {
    M::decode(bytes).map_err(|e| format!("the workflow returned {what} that does not decode: {e}"))
}

pub(super) fn failure_message(f: &Failure) -> String {
    if f.message.is_empty() {
        "(no message)".into()
    } else {
        f.message.clone()
    }
}

/// Turns the guest's per-job results into commands; a signal or update that started a routine
/// adds it to `active_routines`.
pub(super) fn process_results(
    contexts: Vec<JobContext>,
    result: types::ActivationResult,
    active_routines: &mut Vec<u64>,
    outgoing: &mut Vec<WorkflowCommand>,
) -> Result<(), Step> {
    if contexts.len() != result.job_results.len() {
        return Err(Step::Fail(
            format!(
                "returned {} job results for {} jobs",
                result.job_results.len(),
                contexts.len()
            ),
            None,
        ));
    }
    for (context, job_result) in contexts.into_iter().zip(result.job_results) {
        match (context, job_result) {
            (JobContext::Passive | JobContext::Signal, types::ActivationJobResult::None) => {}
            (JobContext::Signal, types::ActivationJobResult::StartedRoutine(r)) => match r.kind {
                types::RoutineKind::Signal(_) => active_routines.push(r.routine_id),
                other => {
                    return Err(Step::Fail(
                        format!("a signal started a {other:?} routine"),
                        None,
                    ));
                }
            },
            (
                JobContext::Update {
                    protocol_instance_id,
                },
                types::ActivationJobResult::StartedRoutine(r),
            ) => match r.kind {
                types::RoutineKind::Update(kind)
                    if kind.protocol_instance_id == protocol_instance_id =>
                {
                    outgoing.push(update_response(
                        protocol_instance_id,
                        update_response::Response::Accepted(()),
                    ));
                    active_routines.push(r.routine_id);
                }
                other => {
                    return Err(Step::Fail(
                        format!(
                            "update {protocol_instance_id} started a mismatched routine {other:?}"
                        ),
                        None,
                    ));
                }
            },
            (
                JobContext::Update {
                    protocol_instance_id,
                },
                types::ActivationJobResult::UpdateRejected(failure),
            ) => {
                let f: Failure = decode(&failure, "a failure").map_err(|e| Step::Fail(e, None))?;
                outgoing.push(update_response(
                    protocol_instance_id,
                    update_response::Response::Rejected(f),
                ));
            }
            (
                JobContext::Query { query_id },
                types::ActivationJobResult::QueryResponse(response),
            ) => {
                let variant = match response.response {
                    Ok(payload) => query_result::Variant::Succeeded(QuerySuccess {
                        response: Some(
                            decode::<Payload>(&payload, "a query result")
                                .map_err(|e| Step::Fail(e, None))?,
                        ),
                    }),
                    Err(failure) => query_result::Variant::Failed(
                        decode(&failure, "a failure").map_err(|e| Step::Fail(e, None))?,
                    ),
                };
                outgoing.push(
                    workflow_command::Variant::RespondToQuery(QueryResult {
                        query_id,
                        variant: Some(variant),
                    })
                    .into(),
                );
            }
            (context, other) => {
                return Err(Step::Fail(
                    format!("unexpected result {other:?} for job {context:?}"),
                    None,
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn terminal_command(
    outcome: types::TerminalOutcome,
) -> Result<workflow_command::Variant, String> {
    Ok(match outcome {
        types::TerminalOutcome::Completed(p) => {
            workflow_command::Variant::CompleteWorkflowExecution(CompleteWorkflowExecution {
                result: Some(decode(&p, "a result")?),
            })
        }
        types::TerminalOutcome::Failed(f) => {
            workflow_command::Variant::FailWorkflowExecution(FailWorkflowExecution {
                failure: Some(decode(&f, "a failure")?),
            })
        }
        types::TerminalOutcome::Cancelled(details) => {
            let details: Option<Payloads> = details
                .map(|d| decode(&d, "cancellation details"))
                .transpose()?;
            workflow_command::Variant::CancelWorkflowExecution(CancelWorkflowExecution { details })
        }
        types::TerminalOutcome::ContinueAsNew(req) => {
            workflow_command::Variant::ContinueAsNewWorkflowExecution(decode::<
                ContinueAsNewWorkflowExecution,
            >(
                &req,
                "a continue-as-new request",
            )?)
        }
    })
}

pub(super) fn update_response(
    protocol_instance_id: String,
    response: update_response::Response,
) -> WorkflowCommand {
    workflow_command::Variant::UpdateResponse(UpdateResponse {
        protocol_instance_id,
        response: Some(response),
    })
    .into()
}

/// Classifies jobs; queries alone need no routine polling.
pub(super) fn translate(
    activation: &WorkflowActivation,
) -> Result<(Vec<JobContext>, bool), String> {
    let mut should_poll = false;
    let mut contexts = Vec::with_capacity(activation.jobs.len());
    for job in &activation.jobs {
        let context = match job
            .variant
            .as_ref()
            .ok_or("an activation job without a variant")?
        {
            Variant::QueryWorkflow(q) => {
                contexts.push(JobContext::Query {
                    query_id: q.query_id.clone(),
                });
                continue;
            }
            Variant::SignalWorkflow(_) => JobContext::Signal,
            Variant::DoUpdate(u) => JobContext::Update {
                protocol_instance_id: u.protocol_instance_id.clone(),
            },
            Variant::RemoveFromCache(_) => return Err("an eviction mixed with other jobs".into()),
            _ => JobContext::Passive,
        };
        should_poll = true;
        contexts.push(context);
    }
    Ok((contexts, should_poll))
}
