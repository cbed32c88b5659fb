//! Core's activation jobs applied to a WIT-typed run's shared state, before the guest is
//! polled: resolutions are recorded for the calls waiting on them, signals queued, and what
//! needs an answer without guest code (queries, updates, cancellation) is handed back.

use super::state::{Done, Shared};
use temporalio_common::protos::coresdk::activity_result::activity_resolution::Status;
use temporalio_common::protos::coresdk::child_workflow::child_workflow_result::Status as ChildStatus;
use temporalio_common::protos::coresdk::child_workflow::StartChildWorkflowExecutionFailedCause;
use temporalio_common::protos::coresdk::workflow_activation::resolve_child_workflow_execution_start::Status as ChildStart;
use temporalio_common::protos::coresdk::workflow_activation::WorkflowActivation;
use temporalio_common::protos::coresdk::workflow_activation::workflow_activation_job::Variant;
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};

/// What an activation asks that the guest does not answer.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Applied {
    /// Queries, `(query id, query type)`: answered from the query results the guest set.
    pub queries: Vec<(String, String)>,
    /// Updates, by protocol instance id: rejected (the contract has no updates yet).
    pub updates: Vec<String>,
    /// The workflow was asked to cancel.
    pub cancel: bool,
    /// Something changed that a waiting call may be waiting for.
    pub poll: bool,
}

/// Applies `activation`'s jobs to `shared`; an error names a job this executor cannot serve.
pub(super) fn apply(
    shared: &mut Shared,
    activation: &WorkflowActivation,
) -> Result<Applied, String> {
    let mut applied = Applied::default();
    for job in &activation.jobs {
        let Some(variant) = &job.variant else {
            return Err("an activation job without a variant".into());
        };
        match variant {
            // The run was started with it; a replayed run's first activation carries it too.
            Variant::InitializeWorkflow(_) => applied.poll = true,
            Variant::FireTimer(t) => {
                shared.resolve(t.seq, Done::Value(None));
                applied.poll = true;
            }
            Variant::ResolveActivity(a) => {
                let done = match a.result.as_ref().and_then(|r| r.status.as_ref()) {
                    Some(Status::Completed(s)) => Done::Value(s.result.clone()),
                    Some(Status::Failed(f)) => failed(f.failure.as_ref(), "the activity failed"),
                    Some(Status::Cancelled(c)) => {
                        failed(c.failure.as_ref(), "the activity was cancelled")
                    }
                    // Local activities only: this executor schedules none.
                    Some(Status::Backoff(_)) | None => {
                        return Err(format!(
                            "activity {} resolved without an outcome this executor understands",
                            a.seq
                        ));
                    }
                };
                shared.resolve(a.seq, done);
                applied.poll = true;
            }
            Variant::SignalWorkflow(s) => {
                shared.signal(&s.signal_name, s.input.first().cloned());
                applied.poll = true;
            }
            Variant::QueryWorkflow(q) => applied
                .queries
                .push((q.query_id.clone(), q.query_type.clone())),
            Variant::DoUpdate(u) => applied.updates.push(u.protocol_instance_id.clone()),
            Variant::UpdateRandomSeed(s) => shared.reseed(s.randomness_seed),
            // A guest that holds the cancellation handle decides itself; otherwise the run
            // ends as cancelled.
            Variant::CancelWorkflow(_) => {
                if shared.request_cancel() {
                    applied.poll = true;
                } else {
                    applied.cancel = true;
                }
            }
            Variant::ResolveChildWorkflowExecutionStart(c) => {
                match &c.status {
                    Some(ChildStart::Succeeded(_)) => {}
                    Some(ChildStart::Failed(f)) => shared.resolve(
                        c.seq,
                        Done::Failed {
                            message: format!(
                                "child workflow `{}` (id `{}`) could not start: {}",
                                f.workflow_type,
                                f.workflow_id,
                                StartChildWorkflowExecutionFailedCause::try_from(f.cause)
                                    .map_or("unknown cause", |c| c.as_str_name())
                            ),
                            error_type: Some("ChildWorkflowStartFailed".into()),
                        },
                    ),
                    Some(ChildStart::Cancelled(x)) => {
                        shared.resolve(c.seq, failed(x.failure.as_ref(), "the child was cancelled"))
                    }
                    None => {}
                }
                applied.poll = true;
            }
            Variant::ResolveChildWorkflowExecution(c) => {
                let done = match c.result.as_ref().and_then(|r| r.status.as_ref()) {
                    Some(ChildStatus::Completed(s)) => Done::Value(s.result.clone()),
                    Some(ChildStatus::Failed(f)) => {
                        failed(f.failure.as_ref(), "the child workflow failed")
                    }
                    Some(ChildStatus::Cancelled(x)) => {
                        failed(x.failure.as_ref(), "the child workflow was cancelled")
                    }
                    None => failed(None, "the child workflow ended without an outcome"),
                };
                shared.resolve(c.seq, done);
                applied.poll = true;
            }
            Variant::NotifyHasPatch(p) => shared.notify_patch(&p.patch_id),
            Variant::RemoveFromCache(_) => return Err("an eviction mixed with other jobs".into()),
            other => {
                return Err(format!(
                    "job {} is not served by WIT-typed workflows yet",
                    job_name(other)
                ));
            }
        }
    }
    Ok(applied)
}

fn job_name(v: &Variant) -> String {
    let debug = format!("{v:?}");
    debug.split('(').next().unwrap_or("?").to_string()
}

/// The innermost cause's message (the activity's own words: the outer layers only say
/// "activity task failed"), and the application error type found on the way down.
fn failed(failure: Option<&Failure>, fallback: &str) -> Done {
    let mut message = None;
    let mut error_type = None;
    let mut next = failure;
    while let Some(f) = next {
        if !f.message.is_empty() {
            message = Some(f.message.clone());
        }
        if let Some(FailureInfo::ApplicationFailureInfo(a)) = &f.failure_info
            && !a.r#type.is_empty()
        {
            error_type = Some(a.r#type.clone());
        }
        next = f.cause.as_deref();
    }
    Done::Failed {
        message: message.unwrap_or_else(|| fallback.to_string()),
        error_type,
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::{ActivityOptions, RunInfo};
    use super::*;
    use temporalio_common::protos::coresdk::activity_result::{
        ActivityResolution, Failure as ActivityFailure, Success,
    };
    use temporalio_common::protos::coresdk::workflow_activation::{
        FireTimer, QueryWorkflow, ResolveActivity, SignalWorkflow, WorkflowActivationJob,
    };
    use temporalio_common::protos::temporal::api::common::v1::Payload;
    use temporalio_common::protos::temporal::api::failure::v1::ApplicationFailureInfo;

    fn activation(jobs: Vec<Variant>) -> WorkflowActivation {
        WorkflowActivation {
            jobs: jobs
                .into_iter()
                .map(|v| WorkflowActivationJob { variant: Some(v) })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn resolutions_signals_and_queries_land_where_the_guest_reads_them() {
        let mut s = Shared::new(RunInfo::default(), 1);
        let timer = s.start_timer(std::time::Duration::from_secs(1));
        let ok = s.schedule_activity("a", vec![], ActivityOptions::default());
        let bad = s.schedule_activity("b", vec![], ActivityOptions::default());
        let result = Payload {
            data: b"\"hi\"".to_vec(),
            ..Default::default()
        };
        let cause = Failure {
            message: "card declined".into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: "Declined".into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let outer = Failure {
            message: "Activity task failed".into(),
            cause: Some(Box::new(cause)),
            ..Default::default()
        };
        let resolve = |seq, status| {
            Variant::ResolveActivity(ResolveActivity {
                seq,
                result: Some(ActivityResolution {
                    status: Some(status),
                }),
                ..Default::default()
            })
        };
        let a = activation(vec![
            Variant::FireTimer(FireTimer { seq: timer }),
            resolve(
                ok,
                Status::Completed(Success {
                    result: Some(result.clone()),
                }),
            ),
            resolve(
                bad,
                Status::Failed(ActivityFailure {
                    failure: Some(outer),
                    ..Default::default()
                }),
            ),
            Variant::SignalWorkflow(SignalWorkflow {
                signal_name: "approve".into(),
                input: vec![result.clone()],
                ..Default::default()
            }),
            Variant::QueryWorkflow(QueryWorkflow {
                query_id: "q1".into(),
                query_type: "status".into(),
                ..Default::default()
            }),
        ]);
        let applied = apply(&mut s, &a).expect("applies");
        assert!(applied.poll);
        assert_eq!(applied.queries, vec![("q1".into(), "status".into())]);
        assert_eq!(s.outcome(timer), Some(Done::Value(None)));
        assert_eq!(s.outcome(ok), Some(Done::Value(Some(result.clone()))));
        assert_eq!(
            s.outcome(bad),
            Some(Done::Failed {
                message: "card declined".into(),
                error_type: Some("Declined".into())
            })
        );
        assert_eq!(s.take_signal("approve"), Some(Some(result)));
    }

    #[test]
    fn a_query_alone_does_not_poll_and_unknown_jobs_are_named() {
        let mut s = Shared::new(RunInfo::default(), 1);
        let q = activation(vec![Variant::QueryWorkflow(QueryWorkflow::default())]);
        assert!(!apply(&mut s, &q).expect("applies").poll);
        let update = activation(vec![Variant::ResolveSignalExternalWorkflow(
            Default::default(),
        )]);
        let e = apply(&mut s, &update).expect_err("not served");
        assert!(e.contains("ResolveSignalExternalWorkflow"), "{e}");
    }
}
