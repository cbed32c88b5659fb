//! The host side of `wasm-worker:plugin`: activity info, heartbeats, cancellation and logging,
//! bound from `wit/plugin.wit` with `bindgen!`.

use super::{ActivityState, LOG_RECORD_BYTES};
use crate::convert::payload::json_payload;
use crate::runtime::output::{printable, truncated};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "activity-plugin",
});

pub use wasm_worker::plugin::log::Level;
use wasm_worker::plugin::types::ActivityInfo;

impl wasm_worker::plugin::types::Host for ActivityState {}

impl wasm_worker::plugin::activity::Host for ActivityState {
    fn info(&mut self) -> ActivityInfo {
        let i = &self.ctx.info;
        let deadline = i
            .deadline
            .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_millis()).ok());
        let heartbeat = i
            .heartbeat_details
            .first()
            .map(|p| String::from_utf8_lossy(&p.data).into_owned());
        ActivityInfo {
            activity_id: i.activity_id.clone(),
            activity_type: i.activity_type.clone(),
            workflow_id: i.workflow_id.clone(),
            workflow_run_id: i.run_id.clone(),
            workflow_type: i.workflow_type.clone(),
            namespace: i.namespace.clone(),
            task_queue: i.task_queue.clone(),
            attempt: i.attempt,
            deadline_unix_ms: deadline,
            heartbeat_details: heartbeat,
        }
    }

    fn heartbeat(&mut self, details: Option<String>) {
        let payloads = match details {
            None => Vec::new(),
            Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(json) => vec![json_payload(&json)],
                // Not JSON: keep it as a JSON string so it still round-trips.
                Err(_) => vec![json_payload(&serde_json::Value::String(text))],
            },
        };
        self.ctx.heartbeat(payloads);
    }

    fn is_cancelled(&mut self) -> bool {
        self.ctx.cancelled.is_cancelled()
    }
}

impl wasm_worker::plugin::log::Host for ActivityState {
    fn log(&mut self, level: Level, message: String) {
        // One record: at most LOG_RECORD_BYTES, printable; all records of an attempt: at most
        // LOG_BUDGET bytes, the rest dropped and counted (reported after the call).
        let message = truncated(&message, LOG_RECORD_BYTES);
        if message.len() > self.log_budget {
            self.log_dropped += 1;
            return;
        }
        self.log_budget -= message.len();
        let message = printable(message);
        let plugin = &*self.plugin;
        let activity_type = &self.ctx.info.activity_type;
        let activity_id = &self.ctx.info.activity_id;
        match level {
            Level::Trace => {
                tracing::trace!(target: "plugin", plugin, activity_type, activity_id, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "plugin", plugin, activity_type, activity_id, "{message}")
            }
            Level::Info => {
                tracing::info!(target: "plugin", plugin, activity_type, activity_id, "{message}")
            }
            Level::Warn => {
                tracing::warn!(target: "plugin", plugin, activity_type, activity_id, "{message}")
            }
            Level::Error => {
                tracing::error!(target: "plugin", plugin, activity_type, activity_id, "{message}")
            }
        }
    }
}

/// Adds the host interfaces to `linker`.
pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<ActivityState>,
) -> wasmtime::Result<()> {
    ActivityPlugin::add_to_linker::<ActivityState, wasmtime::component::HasSelf<ActivityState>>(
        linker,
        |s| s,
    )
}
