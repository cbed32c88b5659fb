//! One WIT-typed workflow run: the guest's call of its exported function is a future that owns
//! the run's store and instance; each activation records what the server resolved, then polls
//! that future until the guest waits on something not yet resolved, returns, or fails.
//!
//! Replay needs nothing special: a run started from history re-executes the function, and
//! each call it makes is answered from the resolutions core feeds in order; core compares the
//! commands issued with history and fails the task on a mismatch (non-determinism), naming
//! both.

use super::super::failure::{Failed, POOL_FULL_HINT, TaskFailure};
use super::super::guest_output;
use super::jobs::{self, Applied};
use super::plugin::WitPlugin;
use super::state::{FailsWorkflow, RunInfo, Shared, WitState, lock};
use crate::convert::payload::{null_payload, val_to_payload};
use crate::convert::val_to_json;
use crate::plugin_file::PluginFile;
use crate::runtime::limits::{self, MemoryLimitExceeded};
use crate::runtime::output::Captured;
use crate::runtime::workflow_host::{WorkflowState, WorkflowTime};
use crate::wasm_activity::exports::ExportedFunction;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, WorkflowActivation,
};
use temporalio_common::protos::coresdk::workflow_commands::{
    CancelWorkflowExecution, CompleteWorkflowExecution, FailWorkflowExecution, QueryResult,
    QuerySuccess, WorkflowCommand, query_result, update_response, workflow_command,
};
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::enums::v1::WorkflowTaskFailedCause;
use temporalio_common::protos::temporal::api::failure::v1::{
    ApplicationFailureInfo, Failure, failure::FailureInfo,
};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// A workflow result larger than this fails the workflow: the server refuses payloads over
/// 2 MiB by default, and would otherwise fail every retry of the task.
const MAX_RESULT_BYTES: usize = 2 << 20;

/// The guest's call, in flight: it owns the store, so nothing else touches the instance.
type GuestCall = Pin<Box<dyn Future<Output = wasmtime::Result<Option<Val>>> + Send>>;

/// A cached WIT-typed run.
pub(crate) struct WitRun {
    /// `None` once the function returned, failed or continued as new.
    call: Option<GuestCall>,
    shared: Arc<Mutex<Shared>>,
    time: WorkflowTime,
    stdout: Captured,
    stderr: Captured,
    result: Option<Type>,
    plugin: String,
    pub(crate) workflow_type: String,
}

impl WitRun {
    /// A run of `function`, not yet polled: the first activation instantiates the plugin and
    /// calls the function. Arguments that do not fit its parameters fail the workflow then.
    pub(crate) fn start(
        plugin: &WitPlugin,
        source: &PluginFile,
        function: &ExportedFunction,
        init: &InitializeWorkflow,
        namespace: &str,
        task_queue: &str,
        run_id: &str,
    ) -> WitRun {
        let info = RunInfo {
            workflow_id: init.workflow_id.clone(),
            run_id: run_id.to_string(),
            workflow_type: init.workflow_type.clone(),
            namespace: namespace.to_string(),
            task_queue: task_queue.to_string(),
            attempt: u32::try_from(init.attempt).unwrap_or(1),
        };
        let shared = Arc::new(Mutex::new(Shared::new(info, init.randomness_seed)));
        let base = WorkflowState::new(init.randomness_seed, source.manifest.memory_limit);
        let (time, stdout, stderr) = (base.time.clone(), base.stdout.clone(), base.stderr.clone());
        let who = format!("workflow `{}`", init.workflow_type);
        let arguments = crate::wasm_activity::arguments::values(function, &who, &init.arguments)
            .map_err(|e| FailsWorkflow {
                message: e.to_string(),
                error_type: "ArgumentMismatch".into(),
            });
        let mut store = limits::store(
            plugin.pre.engine(),
            WitState {
                base,
                shared: shared.clone(),
            },
        );
        let pre = plugin.pre.clone();
        let (index, name) = (function.index, function.name.clone());
        let n_results = usize::from(function.result.is_some());
        let call = async move {
            let arguments = arguments?;
            let instance = pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, index)
                .ok_or_else(|| wasmtime::format_err!("export `{name}` vanished"))?;
            let mut results = vec![Val::Bool(false); n_results];
            func.call_async(&mut store, &arguments, &mut results)
                .await?;
            Ok(results.pop())
        };
        WitRun {
            call: Some(Box::pin(call)),
            shared,
            time,
            stdout,
            stderr,
            result: function.result.clone(),
            plugin: source.file.clone(),
            workflow_type: init.workflow_type.clone(),
        }
    }

    /// Bytes of linear memory the run's instance held when it last called the host.
    pub(crate) fn memory_bytes(&self) -> u64 {
        lock(&self.shared).memory_bytes
    }

    /// Signals dropped since the last call, their argument not fitting the receiver's type.
    pub(crate) fn take_dropped_signals(&self) -> u64 {
        std::mem::take(&mut lock(&self.shared).dropped_signals)
    }

    /// Processes one activation within `budget`. On failure the run must be dropped.
    pub(crate) async fn activate(
        &mut self,
        activation: WorkflowActivation,
        budget: Duration,
    ) -> Result<WorkflowActivationCompletion, Failed> {
        let run_id = activation.run_id.clone();
        let fail = |message: String, cause: TaskFailure| Failed {
            completion: WorkflowActivationCompletion::fail(
                run_id.clone(),
                Failure::application_failure(message, false),
                Some(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure),
            ),
            cause,
        };
        let who = format!("plugin {}: workflow `{}`", self.plugin, self.workflow_type);
        let replaying = activation.is_replaying;
        let applied = {
            let mut s = lock(&self.shared);
            if let Some(ts) = &activation.timestamp
                && let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.seconds), u32::try_from(ts.nanos))
            {
                let since_epoch = Duration::new(secs, nanos);
                self.time.set(since_epoch);
                s.now_ms = u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX);
            }
            s.replaying = replaying;
            jobs::apply(&mut s, &activation)
        };
        let applied = applied.map_err(|m| fail(format!("{who}: {m}"), TaskFailure::Guest))?;
        let mut terminal = None;
        if applied.poll
            && let Some(call) = self.call.as_mut()
        {
            let polled = tokio::time::timeout(budget, poll_until_waiting(call, &self.shared)).await;
            let stderr_tail = self.log_output(replaying);
            match polled {
                Err(_) => {
                    return Err(fail(
                        format!(
                            "{who} did not finish its workflow task within {budget:?} (an endless loop?); the task fails and will be retried"
                        ),
                        TaskFailure::Deadline,
                    ));
                }
                Ok(None) => {}
                Ok(Some(Ok(value))) => terminal = Some(self.completed(value)),
                Ok(Some(Err(e))) => match e.downcast::<FailsWorkflow>() {
                    Ok(f) => terminal = Some(fail_workflow(f.message, &f.error_type)),
                    Err(trap) => {
                        let cause = TaskFailure::of_instantiation(&trap, TaskFailure::Trap);
                        let mut what = if MemoryLimitExceeded::caused(&trap).is_some() {
                            "exceeded its memory limit".to_string()
                        } else if cause == TaskFailure::PoolFull {
                            format!("could not start: {POOL_FULL_HINT}")
                        } else {
                            format!("trapped: {trap:#}")
                        };
                        if !stderr_tail.is_empty() {
                            what.push_str(&format!("\nguest stderr:\n{stderr_tail}"));
                        }
                        return Err(fail(format!("{who} {what}"), cause));
                    }
                },
            }
        }
        let mut commands = self.commands(&applied, terminal);
        self.answer_queries(&applied, &mut commands);
        Ok(WorkflowActivationCompletion {
            run_id,
            status: Some(workflow_activation_completion::Status::Successful(
                commands.into(),
            )),
            ..Default::default()
        })
    }

    /// The commands the guest's calls issued, then the update rejections, then the run's end
    /// (returned, failed, continued as new or cancelled), which must come last.
    fn commands(
        &mut self,
        applied: &Applied,
        terminal: Option<workflow_command::Variant>,
    ) -> Vec<WorkflowCommand> {
        let mut s = lock(&self.shared);
        let mut commands = std::mem::take(&mut s.commands);
        for id in &applied.updates {
            let rejection = Failure {
                message: "WIT-typed workflows accept no updates; send a signal instead".into(),
                ..Default::default()
            };
            commands.push(super::super::protocol::update_response(
                id.clone(),
                update_response::Response::Rejected(rejection),
            ));
        }
        let continued = s.ended;
        drop(s);
        if let Some(t) = terminal {
            self.call = None;
            commands.push(t.into());
        } else if continued {
            // The guest's continue-as-new call already pushed the command; it never returns.
            self.call = None;
        } else if applied.cancel && self.call.is_some() {
            self.call = None;
            commands.push(
                workflow_command::Variant::CancelWorkflowExecution(CancelWorkflowExecution {
                    details: None,
                })
                .into(),
            );
        }
        commands
    }

    fn answer_queries(&self, applied: &Applied, commands: &mut Vec<WorkflowCommand>) {
        let s = lock(&self.shared);
        for (query_id, query_type) in &applied.queries {
            let variant = match s.queries.get(query_type) {
                Some(answer) => query_result::Variant::Succeeded(QuerySuccess {
                    response: Some(answer.clone()),
                }),
                None => {
                    let mut known: Vec<&str> = s.queries.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    query_result::Variant::Failed(Failure {
                        message: format!(
                            "workflow `{}` has no query `{query_type}` (it set results for: {})",
                            self.workflow_type,
                            if known.is_empty() {
                                "none yet".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                        ..Default::default()
                    })
                }
            };
            commands.push(
                workflow_command::Variant::RespondToQuery(QueryResult {
                    query_id: query_id.clone(),
                    variant: Some(variant),
                })
                .into(),
            );
        }
    }

    /// The command ending a run whose function returned `value`: a `result<_, E>` holding an
    /// error fails the workflow with it, as an activity plugin's error fails the activity.
    fn completed(&self, value: Option<Val>) -> workflow_command::Variant {
        let payload = match (value, self.result.as_ref()) {
            (Some(Val::Result(Err(err))), _) => {
                let json = err.map_or(Ok(serde_json::Value::Null), |v| val_to_json(&v));
                let message = match json {
                    Ok(serde_json::Value::String(s)) => s,
                    Ok(serde_json::Value::Null) => "the workflow returned an error".into(),
                    Ok(other) => other.to_string(),
                    Err(e) => format!("the workflow returned an error that cannot be encoded: {e}"),
                };
                return fail_workflow(message, "WorkflowError");
            }
            (Some(Val::Result(Ok(ok))), Some(Type::Result(r))) => match (ok, r.ok()) {
                (Some(v), Some(t)) => val_to_payload(&v, &t),
                _ => Ok(null_payload()),
            },
            (Some(v), Some(t)) => val_to_payload(&v, t),
            _ => Ok(null_payload()),
        };
        match payload {
            Ok(p) if prost::Message::encoded_len(&p) > MAX_RESULT_BYTES => fail_workflow(
                format!(
                    "the result is {} bytes, more than the {MAX_RESULT_BYTES} the server accepts",
                    prost::Message::encoded_len(&p)
                ),
                "ResultTooLarge",
            ),
            Ok(p) => {
                workflow_command::Variant::CompleteWorkflowExecution(CompleteWorkflowExecution {
                    result: Some(p),
                })
            }
            Err(e) => fail_workflow(format!("cannot encode the result: {e}"), "ResultMismatch"),
        }
    }

    fn log_output(&self, replaying: bool) -> String {
        guest_output::drain(
            &self.stdout,
            &self.stderr,
            replaying,
            &self.plugin,
            &self.workflow_type,
        )
    }
}

/// Polls the guest's call until it returns (`Some`) or waits on the server (`None`). A
/// `Pending` without [`Shared::blocked`] is the guest yielding at an epoch tick (it has
/// already asked to be polled again), so it is polled on.
async fn poll_until_waiting(
    call: &mut GuestCall,
    shared: &Arc<Mutex<Shared>>,
) -> Option<wasmtime::Result<Option<Val>>> {
    poll_fn(|cx| {
        lock(shared).blocked = false;
        match call.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => {
                let s = lock(shared);
                if s.blocked || s.ended {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                }
            }
        }
    })
    .await
}

fn fail_workflow(message: String, error_type: &str) -> workflow_command::Variant {
    workflow_command::Variant::FailWorkflowExecution(FailWorkflowExecution {
        failure: Some(Failure {
            message,
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: error_type.to_string(),
                    non_retryable: true,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
    })
}
