//! Bindings for Temporal's `temporal:workflow-runtime@0.1.0` world (vendored in
//! `wit/deps/workflow-runtime/`), and the host side of `workflow-host`.

use super::WorkflowState;
use prost::Message as _;
use temporalio_common::protos::coresdk::workflow_commands::WorkflowCommand;

wasmtime::component::bindgen!({
    path: "../wit/deps/workflow-runtime",
    world: "workflow-module",
    exports: { default: async },
});

pub use exports::temporal::workflow_runtime::workflow_guest as guest;
pub use temporal::workflow_runtime::types;

/// Bytes of commands one workflow task may carry (core's gRPC limit is 4 MiB, and the
/// completion carries more than the commands).
pub const MAX_ACTIVATION_COMMAND_BYTES: usize = 3 << 20;
/// Longest "current details" a run may set.
pub const MAX_DETAILS_BYTES: usize = 16 << 10;

impl types::Host for WorkflowState {}

impl temporal::workflow_runtime::workflow_host::Host for WorkflowState {
    fn set_current_details(&mut self, mut details: String) {
        // Kept outside the guest's memory limit, so kept short.
        if details.len() > MAX_DETAILS_BYTES {
            let end = crate::runtime::output::truncated(&details, MAX_DETAILS_BYTES).len();
            details.truncate(end);
        }
        self.details = details;
    }

    fn push_command(&mut self, command: Vec<u8>) {
        // One workflow task's commands travel in one gRPC message, which core and the server
        // cap at 4 MiB: past our lower bound the task fails, naming the cause, instead of
        // growing the host's copy and failing later in core with a retry loop.
        self.command_bytes = self.command_bytes.saturating_add(command.len());
        if self.command_bytes > MAX_ACTIVATION_COMMAND_BYTES {
            if self.bad_command.is_none() {
                self.bad_command = Some(format!(
                    "the workflow task's commands exceed {} MiB (the server accepts at most 4 MiB per task): \
                     pass large data by reference, or schedule fewer activities per task",
                    MAX_ACTIVATION_COMMAND_BYTES >> 20
                ));
            }
            self.commands.clear();
            return;
        }
        // Never trust guest bytes: an undecodable command fails the task, it does not panic.
        match WorkflowCommand::decode(command.as_slice()) {
            Ok(c) => self.commands.push(c),
            Err(e) => {
                if self.bad_command.is_none() {
                    self.bad_command = Some(format!(
                        "the workflow pushed a command that does not decode: {e}"
                    ));
                }
            }
        }
    }

    fn patch_activation(&mut self, _patch_id: String) -> bool {
        // No patch-activation policy is configured: new patches take effect (the SDK's default).
        true
    }
}

/// Adds `workflow-host` and the deterministic WASI stand-ins to `linker`.
pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<WorkflowState>,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    WorkflowModule::add_to_linker::<WorkflowState, wasmtime::component::HasSelf<WorkflowState>>(
        linker,
        |s| s,
    )
}
