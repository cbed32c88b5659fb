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

impl types::Host for WorkflowState {}

impl temporal::workflow_runtime::workflow_host::Host for WorkflowState {
    fn set_current_details(&mut self, details: String) {
        self.details = details;
    }

    fn push_command(&mut self, command: Vec<u8>) {
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
