//! One workflow run inside its own instance: core's activation in, the guest driven through the
//! `workflow-instance` resource (`activate`, then `poll-routine` until no routine makes
//! progress), core's completion out.
//!
//! The translation follows the official SDK's (`temporalio-sdk` `workflow_future.rs`): jobs are
//! classified first (queries need no routine polling); per-job results become query responses
//! and update acceptances/rejections; signal and update routines stay active across
//! activations; the main routine's terminal outcome becomes the completing command. Unlike the
//! SDK, every byte the guest hands back is decoded with an error, never a panic, and a trap or
//! an exhausted time budget fails only this run's workflow task.

use super::protocol::{
    Step, decode, failure_message, process_results, terminal_command, translate, update_response,
};
use crate::plugin_file::PluginFile;
use crate::runtime::limits::{self, MemoryLimitExceeded};
use crate::runtime::workflow_host::WorkflowState;
use crate::runtime::workflow_host::bindings::{
    MAX_ACTIVATION_COMMAND_BYTES, WorkflowModulePre, guest, types,
};
use prost::Message;
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, WorkflowActivation,
};
use temporalio_common::protos::coresdk::workflow_commands::{WorkflowCommand, update_response};
use temporalio_common::protos::coresdk::workflow_completion::{
    WorkflowActivationCompletion, workflow_activation_completion,
};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::protos::temporal::api::enums::v1::WorkflowTaskFailedCause;
use temporalio_common::protos::temporal::api::failure::v1::Failure;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

pub(super) use super::failure::{Failed, TaskFailure};

/// The main routine's fixed id in the ABI.
const MAIN_ROUTINE_ID: u64 = 0;

/// A cached run.
pub(super) struct Run {
    store: Store<WorkflowState>,
    guest: guest::Guest,
    instance: ResourceAny,
    active_routines: Vec<u64>,
    /// The plugin file, for messages.
    plugin: String,
    /// The run's workflow type.
    pub(super) workflow_type: String,
}

impl Run {
    /// Bytes of linear memory the run's instance holds.
    pub(super) fn memory_bytes(&mut self) -> u64 {
        use crate::runtime::limits::Limited as _;
        self.store.data_mut().limiter().size() as u64
    }
}

impl Run {
    /// Instantiates the plugin for a new run and calls `instantiate-workflow`.
    pub(super) async fn start(
        pre: &WorkflowModulePre<WorkflowState>,
        source: &PluginFile,
        init: &InitializeWorkflow,
        namespace: &str,
        task_queue: &str,
        run_id: &str,
        budget: Duration,
    ) -> Result<Run, (String, TaskFailure)> {
        let memory_limit = source.manifest.memory_limit;
        let mut store = limits::store(
            pre.engine(),
            WorkflowState::new(init.randomness_seed, memory_limit),
        );
        let work = async {
            let module = pre.instantiate_async(&mut store).await?;
            let guest = module.temporal_workflow_runtime_workflow_guest().clone();
            let wit_init = types::WorkflowInit {
                namespace: namespace.to_string(),
                task_queue: task_queue.to_string(),
                run_id: run_id.to_string(),
                initialize_workflow: init.encode_to_vec(),
            };
            let instance = guest
                .call_instantiate_workflow(&mut store, &wit_init)
                .await?;
            Ok::<_, wasmtime::Error>((guest, instance))
        };
        let (guest, instance) = match tokio::time::timeout(budget, work).await {
            Err(_) => {
                return Err((
                    format!("instantiating the workflow took longer than {budget:?}"),
                    TaskFailure::Deadline,
                ));
            }
            Ok(Err(trap)) => {
                let cause = TaskFailure::of_instantiation(&trap, TaskFailure::Trap);
                let mut message = format!("the workflow trapped while starting: {trap:#}");
                if cause == TaskFailure::PoolFull {
                    message = format!("{message}; {}", super::failure::POOL_FULL_HINT);
                }
                return Err((message, cause));
            }
            Ok(Ok((_, Err(failure)))) => {
                let f: Failure =
                    decode(&failure, "a failure").map_err(|e| (e, TaskFailure::Guest))?;
                return Err((
                    format!("the workflow failed to start: {}", failure_message(&f)),
                    TaskFailure::Guest,
                ));
            }
            Ok(Ok((guest, Ok(instance)))) => (guest, instance),
        };
        Ok(Run {
            store,
            guest,
            instance,
            active_routines: Vec::new(),
            plugin: source.file.clone(),
            workflow_type: init.workflow_type.clone(),
        })
    }

    /// Processes one activation within `budget`. On failure the run must be dropped.
    pub(super) async fn activate(
        &mut self,
        activation: WorkflowActivation,
        budget: Duration,
    ) -> Result<WorkflowActivationCompletion, Failed> {
        let run_id = activation.run_id.clone();
        let fail =
            |message: String, cause: TaskFailure, force: Option<WorkflowTaskFailedCause>| Failed {
                completion: WorkflowActivationCompletion::fail(
                    run_id.clone(),
                    Failure::application_failure(message, false),
                    Some(force.unwrap_or(WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure)),
                ),
                cause,
            };
        if let Some(ts) = &activation.timestamp
            && ts.seconds >= 0
            && ts.nanos >= 0
        {
            self.store.data().time.set(Duration::new(
                ts.seconds.unsigned_abs(),
                ts.nanos.unsigned_abs(),
            ));
        }
        let replaying = activation.is_replaying;
        let result = tokio::time::timeout(budget, self.process(activation)).await;
        let stderr_tail = self.log_output(replaying);
        let plugin = self.plugin.clone();
        match result {
            Err(_) => Err(fail(
                format!(
                    "plugin {plugin}: workflow `{}` did not finish its workflow task within {budget:?} (an endless loop?); the task fails and will be retried",
                    self.workflow_type
                ),
                TaskFailure::Deadline,
                None,
            )),
            Ok(Err(Step::Trap(e))) => {
                let mut what = if MemoryLimitExceeded::caused(&e).is_some() {
                    "exceeded its memory limit".to_string()
                } else {
                    format!("trapped: {e:#}")
                };
                if !stderr_tail.is_empty() {
                    what.push_str(&format!("\nguest stderr:\n{stderr_tail}"));
                }
                Err(fail(
                    format!("plugin {plugin}: workflow `{}` {what}", self.workflow_type),
                    TaskFailure::Trap,
                    None,
                ))
            }
            Ok(Err(Step::Fail(message, force))) => Err(fail(
                format!(
                    "plugin {plugin}: workflow `{}`: {message}",
                    self.workflow_type
                ),
                TaskFailure::Guest,
                force,
            )),
            Ok(Ok(commands)) => Ok(WorkflowActivationCompletion {
                run_id,
                status: Some(workflow_activation_completion::Status::Successful(
                    commands.into(),
                )),
                ..Default::default()
            }),
        }
    }

    /// Logs the guest's output; returns the last stderr lines for failure messages.
    fn log_output(&mut self, replaying: bool) -> String {
        let state = self.store.data();
        super::guest_output::drain(
            &state.stdout,
            &state.stderr,
            replaying,
            &self.plugin,
            &self.workflow_type,
        )
    }

    async fn process(
        &mut self,
        activation: WorkflowActivation,
    ) -> Result<Vec<WorkflowCommand>, Step> {
        let (contexts, should_poll) = translate(&activation).map_err(|m| Step::Fail(m, None))?;
        self.store.data_mut().commands.clear();
        self.store.data_mut().command_bytes = 0;
        let bytes = activation.encode_to_vec();
        let result = self
            .guest
            .workflow_instance()
            .call_activate(&mut self.store, self.instance, &bytes)
            .await
            .map_err(Step::Trap)?;
        let result = match result {
            Ok(r) => r,
            Err(failure) => {
                let f: Failure = decode(&failure, "a failure").map_err(|e| Step::Fail(e, None))?;
                return Err(Step::Fail(
                    format!("activation failed: {}", failure_message(&f)),
                    None,
                ));
            }
        };
        let mut outgoing = Vec::new();
        process_results(contexts, result, &mut self.active_routines, &mut outgoing)?;
        if should_poll {
            self.drive_routines(&mut outgoing).await?;
        }
        let state = self.store.data_mut();
        if let Some(bad) = state.bad_command.take() {
            return Err(Step::Fail(bad, None));
        }
        outgoing.append(&mut state.commands);
        // Query and update responses count too: the whole completion travels in one message.
        let size: usize = outgoing.iter().map(prost::Message::encoded_len).sum();
        if size > MAX_ACTIVATION_COMMAND_BYTES {
            return Err(Step::Fail(
                format!(
                    "the workflow task's commands and responses exceed {} MiB ({size} bytes; \
                     the server accepts at most 4 MiB per task)",
                    MAX_ACTIVATION_COMMAND_BYTES >> 20
                ),
                None,
            ));
        }
        Ok(outgoing)
    }

    async fn poll(&mut self, routine: u64) -> Result<types::RoutinePollResult, Step> {
        let result = self
            .guest
            .workflow_instance()
            .call_poll_routine(&mut self.store, self.instance, routine)
            .await
            .map_err(Step::Trap)?;
        result.map_err(|failure| match decode::<Failure>(&failure, "a failure") {
            Ok(f) => Step::Fail(
                format!("routine {routine} failed: {}", failure_message(&f)),
                None,
            ),
            Err(e) => Step::Fail(e, None),
        })
    }

    /// Polls signal/update routines and then the main routine until a pass makes no progress
    /// or the main routine ends the run.
    async fn drive_routines(&mut self, outgoing: &mut Vec<WorkflowCommand>) -> Result<(), Step> {
        loop {
            let mut progress = false;
            let mut interceptor_pending = false;
            let mut still_active = Vec::with_capacity(self.active_routines.len());
            for routine in std::mem::take(&mut self.active_routines) {
                let r = self.poll(routine).await?;
                progress |= r.made_progress;
                interceptor_pending |= matches!(
                    r.pending_state,
                    Some(types::RoutinePendingState::Interceptor)
                );
                match r.completion {
                    None => still_active.push(routine),
                    Some(types::RoutineCompletion::Signal(
                        types::SignalRoutineCompletion::Succeeded,
                    )) => {}
                    Some(types::RoutineCompletion::Signal(
                        types::SignalRoutineCompletion::Failed(f),
                    )) => {
                        let f: Failure =
                            decode(&f, "a failure").map_err(|e| Step::Fail(e, None))?;
                        return Err(Step::Fail(
                            format!("a signal handler failed: {}", failure_message(&f)),
                            None,
                        ));
                    }
                    Some(types::RoutineCompletion::Update(
                        types::UpdateRoutineCompletion::Completed(s),
                    )) => {
                        let value = decode::<Payload>(&s.value, "an update result")
                            .map_err(|e| Step::Fail(e, None))?;
                        outgoing.push(update_response(
                            s.protocol_instance_id,
                            update_response::Response::Completed(value),
                        ));
                    }
                    Some(types::RoutineCompletion::Update(
                        types::UpdateRoutineCompletion::Rejected(r),
                    )) => {
                        let f: Failure =
                            decode(&r.failure, "a failure").map_err(|e| Step::Fail(e, None))?;
                        outgoing.push(update_response(
                            r.protocol_instance_id,
                            update_response::Response::Rejected(f),
                        ));
                    }
                    Some(types::RoutineCompletion::Main(_)) => {
                        return Err(Step::Fail(
                            "a handler routine returned a main-routine completion".into(),
                            None,
                        ));
                    }
                }
            }
            self.active_routines = still_active;

            let main = self.poll(MAIN_ROUTINE_ID).await?;
            progress |= main.made_progress;
            interceptor_pending |= matches!(
                main.pending_state,
                Some(types::RoutinePendingState::Interceptor)
            );
            match main.completion {
                Some(types::RoutineCompletion::Main(types::MainRoutineCompletion::Blocked)) => {}
                Some(types::RoutineCompletion::Main(types::MainRoutineCompletion::TaskFailed(
                    t,
                ))) => {
                    let f: Failure =
                        decode(&t.failure, "a failure").map_err(|e| Step::Fail(e, None))?;
                    let force = t
                        .force_cause
                        .and_then(|c| i32::try_from(c).ok())
                        .and_then(|c| WorkflowTaskFailedCause::try_from(c).ok());
                    return Err(Step::Fail(failure_message(&f), force));
                }
                Some(types::RoutineCompletion::Main(types::MainRoutineCompletion::Terminal(
                    outcome,
                ))) => {
                    let variant = terminal_command(outcome).map_err(|e| Step::Fail(e, None))?;
                    self.store.data_mut().commands.push(variant.into());
                    return Ok(());
                }
                other => {
                    return Err(Step::Fail(
                        format!("the main routine returned {other:?}"),
                        None,
                    ));
                }
            }
            if !progress {
                if interceptor_pending {
                    return Err(Step::Fail(
                        "an interceptor is waiting for a wake-up that only native code can deliver; \
                         WASM workflow interceptors must poll an SDK operation"
                            .into(),
                        None,
                    ));
                }
                return Ok(());
            }
        }
    }
}
