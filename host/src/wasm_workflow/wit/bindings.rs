//! The host side of `wasm-worker:workflow/workflow@0.1.0` (`wit/workflow/`): every call a
//! workflow makes that needs the server records a command and, if it must wait, suspends the
//! guest's fiber until a later activation resolved it.

use super::state::{ActivityOptions, ChildOptions, Done, Shared, WitState, lock};
use crate::convert::payload::json_payload;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_commands::{
    CancelWorkflowExecution, ContinueAsNewWorkflowExecution, workflow_command,
};
use temporalio_common::protos::temporal::api::common::v1::Payload;

wasmtime::component::bindgen!({
    path: "../wit/workflow",
    world: "workflow-plugin",
    imports: { default: async | trappable },
});

use wasm_worker::workflow::types;
pub(crate) use wasm_worker::workflow::workflow::Host;

/// Bytes of JSON a query answer may hold (it is kept outside the guest's memory limit).
const MAX_QUERY_RESULT_BYTES: usize = 256 << 10;

/// Waits until `ready` answers (it marks the run blocked when it does not): the guest's fiber
/// suspends here, and the driver polls again after the next activation.
pub(crate) async fn until<T>(
    shared: &Arc<Mutex<Shared>>,
    mut ready: impl FnMut(&mut Shared) -> Option<T>,
) -> T {
    poll_fn(|_| match ready(&mut lock(shared)) {
        Some(t) => Poll::Ready(t),
        None => Poll::Pending,
    })
    .await
}

/// A JSON text the guest handed over, as a payload; refused text traps naming the function.
pub(crate) fn json_argument(text: &str, what: &str) -> wasmtime::Result<Payload> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| wasmtime::Error::msg(format!("{what}: not JSON text: {e}")))?;
    Ok(json_payload(&json))
}

/// The JSON text of a payload (`null` for none); a payload that is not JSON traps.
pub(crate) fn json_text(payload: Option<&Payload>, what: &str) -> wasmtime::Result<String> {
    let Some(p) = payload.filter(|p| !p.data.is_empty()) else {
        return Ok("null".to_string());
    };
    let json: serde_json::Value = serde_json::from_slice(&p.data)
        .map_err(|e| wasmtime::Error::msg(format!("{what} is not JSON: {e}")))?;
    Ok(json.to_string())
}

pub(crate) fn options(o: types::ActivityOptions) -> ActivityOptions {
    let ms = |v: Option<u64>| v.map(Duration::from_millis);
    ActivityOptions {
        task_queue: o.task_queue,
        start_to_close: ms(o.start_to_close_ms),
        schedule_to_close: ms(o.schedule_to_close_ms),
        heartbeat: ms(o.heartbeat_ms),
        max_attempts: o.max_attempts,
        initial_interval: ms(o.initial_interval_ms),
        non_retryable_error_types: o.non_retryable_error_types,
    }
}

impl WitState {
    fn shared(&mut self) -> Arc<Mutex<Shared>> {
        use crate::runtime::limits::Limited as _;
        let bytes = self.limiter().size() as u64;
        let shared = self.shared.clone();
        lock(&shared).memory_bytes = bytes;
        shared
    }

    fn check_handles(&mut self, handles: &[u32]) -> wasmtime::Result<Arc<Mutex<Shared>>> {
        let shared = self.shared();
        let s = lock(&shared);
        if let Some(h) = handles.iter().find(|h| !s.is_known(**h)) {
            wasmtime::bail!(
                "handle {h} was never returned by start-activity, start-timer, start-child or cancellation"
            );
        }
        drop(s);
        Ok(shared)
    }
}

impl types::Host for WitState {}

impl Host for WitState {
    async fn info(&mut self) -> wasmtime::Result<types::WorkflowInfo> {
        let i = lock(&self.shared).info.clone();
        Ok(types::WorkflowInfo {
            workflow_id: i.workflow_id,
            run_id: i.run_id,
            workflow_type: i.workflow_type,
            namespace: i.namespace,
            task_queue: i.task_queue,
            attempt: i.attempt,
        })
    }

    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(lock(&self.shared).now_ms)
    }

    async fn random(&mut self) -> wasmtime::Result<u64> {
        Ok(lock(&self.shared).random())
    }

    async fn is_replaying(&mut self) -> wasmtime::Result<bool> {
        Ok(lock(&self.shared).replaying)
    }

    async fn log(&mut self, level: types::Level, message: String) -> wasmtime::Result<()> {
        let s = lock(&self.shared);
        if s.replaying {
            return Ok(());
        }
        let message = crate::logging::printable(&message);
        let (ty, run) = (&s.info.workflow_type, &s.info.run_id);
        match level {
            types::Level::Trace => {
                tracing::trace!(target: "plugin", workflow_type = %ty, run_id = %run, "{message}")
            }
            types::Level::Debug => {
                tracing::debug!(target: "plugin", workflow_type = %ty, run_id = %run, "{message}")
            }
            types::Level::Info => {
                tracing::info!(target: "plugin", workflow_type = %ty, run_id = %run, "{message}")
            }
            types::Level::Warn => {
                tracing::warn!(target: "plugin", workflow_type = %ty, run_id = %run, "{message}")
            }
            types::Level::Error => {
                tracing::error!(target: "plugin", workflow_type = %ty, run_id = %run, "{message}")
            }
        }
        Ok(())
    }

    async fn sleep(&mut self, ms: u64) -> wasmtime::Result<()> {
        let shared = self.shared();
        let handle = lock(&shared).start_timer(Duration::from_millis(ms));
        until(&shared, |s| s.is_done(handle).then_some(())).await;
        Ok(())
    }

    async fn start_timer(&mut self, ms: u64) -> wasmtime::Result<u32> {
        Ok(lock(&self.shared()).start_timer(Duration::from_millis(ms)))
    }

    async fn start_activity(
        &mut self,
        activity_type: String,
        arguments: Vec<String>,
        options: Option<types::ActivityOptions>,
    ) -> wasmtime::Result<u32> {
        let payloads = arguments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                json_argument(a, &format!("start-activity {activity_type}, argument {i}"))
            })
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let options = options.map(self::options).unwrap_or_default();
        Ok(lock(&self.shared()).schedule_activity(&activity_type, payloads, options))
    }

    async fn next_call_options(&mut self, options: types::ActivityOptions) -> wasmtime::Result<()> {
        lock(&self.shared).next_call_options = Some(self::options(options));
        Ok(())
    }

    async fn await_any(&mut self, handles: Vec<u32>) -> wasmtime::Result<u32> {
        if handles.is_empty() {
            wasmtime::bail!("await-any of no handles would wait for ever");
        }
        let shared = self.check_handles(&handles)?;
        Ok(until(&shared, |s| {
            let first = handles.iter().copied().find(|h| s.is_done(*h));
            // Only one handle had to be done: clear what the others marked.
            s.blocked = first.is_none();
            first
        })
        .await)
    }

    async fn await_all(&mut self, handles: Vec<u32>) -> wasmtime::Result<()> {
        let shared = self.check_handles(&handles)?;
        until(&shared, |s| {
            handles.iter().all(|h| s.is_done(*h)).then_some(())
        })
        .await;
        Ok(())
    }

    async fn activity_result(
        &mut self,
        h: u32,
    ) -> wasmtime::Result<Result<String, types::ActivityFailure>> {
        let shared = self.check_handles(&[h])?;
        match until(&shared, |s| s.outcome(h)).await {
            Done::Value(p) => Ok(Ok(json_text(p.as_ref(), "the activity's result")?)),
            Done::Failed {
                message,
                error_type,
            } => Ok(Err(types::ActivityFailure {
                message,
                error_type,
            })),
        }
    }

    async fn wait_signal(&mut self, name: String) -> wasmtime::Result<String> {
        let shared = self.shared();
        let arg = until(&shared, |s| s.take_signal(&name)).await;
        json_text(arg.as_ref(), &format!("signal `{name}`'s argument"))
    }

    async fn signal_handle(&mut self, name: String) -> wasmtime::Result<u32> {
        Ok(lock(&self.shared()).signal_handle(&name))
    }

    async fn set_query_result(&mut self, name: String, json: String) -> wasmtime::Result<()> {
        if json.len() > MAX_QUERY_RESULT_BYTES {
            wasmtime::bail!(
                "set-query-result `{name}`: {} bytes of JSON, at most {MAX_QUERY_RESULT_BYTES}",
                json.len()
            );
        }
        let answer = json_argument(&json, &format!("set-query-result `{name}`"))?;
        lock(&self.shared).queries.insert(name, answer);
        Ok(())
    }

    async fn start_child(
        &mut self,
        workflow_type: String,
        arguments: Vec<String>,
        options: Option<types::ChildOptions>,
    ) -> wasmtime::Result<u32> {
        let input = arguments
            .iter()
            .enumerate()
            .map(|(i, a)| json_argument(a, &format!("start-child {workflow_type}, argument {i}")))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let options = options.map_or_else(ChildOptions::default, |o| ChildOptions {
            workflow_id: o.workflow_id,
            task_queue: o.task_queue,
            execution_timeout: o.execution_timeout_ms.map(Duration::from_millis),
        });
        Ok(lock(&self.shared()).start_child(&workflow_type, input, options))
    }

    async fn cancel(&mut self, h: u32) -> wasmtime::Result<()> {
        let shared = self.check_handles(&[h])?;
        lock(&shared).cancel(h);
        Ok(())
    }

    async fn cancellation(&mut self) -> wasmtime::Result<u32> {
        Ok(lock(&self.shared()).cancellation())
    }

    async fn cancelled(&mut self) -> wasmtime::Result<()> {
        let shared = self.shared();
        self::end(
            &shared,
            workflow_command::Variant::CancelWorkflowExecution(CancelWorkflowExecution {
                details: None,
            }),
        )
        .await;
        Ok(())
    }

    async fn patched(&mut self, patch_id: String) -> wasmtime::Result<bool> {
        Ok(lock(&self.shared).patched(&patch_id, false))
    }

    async fn deprecate_patch(&mut self, patch_id: String) -> wasmtime::Result<()> {
        lock(&self.shared).patched(&patch_id, true);
        Ok(())
    }

    async fn continue_as_new(&mut self, arguments: Vec<String>) -> wasmtime::Result<()> {
        let payloads = arguments
            .iter()
            .enumerate()
            .map(|(i, a)| json_argument(a, &format!("continue-as-new, argument {i}")))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let shared = self.shared();
        let command = {
            let s = lock(&shared);
            ContinueAsNewWorkflowExecution {
                workflow_type: s.info.workflow_type.clone(),
                task_queue: s.info.task_queue.clone(),
                arguments: payloads,
                ..Default::default()
            }
        };
        self::end(
            &shared,
            workflow_command::Variant::ContinueAsNewWorkflowExecution(command),
        )
        .await;
        Ok(())
    }
}

/// Ends the run with `command` and never returns: the driver sees `ended` and drops the run
/// with this call still pending.
async fn end(shared: &Arc<Mutex<Shared>>, command: workflow_command::Variant) {
    {
        let mut s = lock(shared);
        s.commands.push(command.into());
        s.ended = true;
    }
    until(shared, |s| {
        s.blocked = true;
        None::<()>
    })
    .await;
}

/// Adds the workflow interface to `linker`.
pub(crate) fn add_to_linker(
    linker: &mut wasmtime::component::Linker<WitState>,
) -> wasmtime::Result<()> {
    WorkflowPlugin::add_to_linker::<WitState, wasmtime::component::HasSelf<WitState>>(linker, |s| s)
}
