//! WIT-typed workflows: a component that imports `wasm-worker:workflow/workflow@0.1.0`
//! (`wit/workflow/`) and exports plain functions, each a workflow type. The functions of every
//! other interface it imports are activities: the host links each to "schedule the activity
//! of that snake_case name, await it, return its result as the WIT type" — except those of an
//! interface named `signals`, each the receiver of the signal of its name.
//!
//! A run is the guest's call of its function, suspended on a wasmtime fiber whenever it waits
//! for the server (`state` is what the call and the driver share, `bindings` the contract's
//! host side, `plugin` the per-plugin linker, `signals` the typed signal receivers, `jobs` core's jobs applied, `run` the driver).

mod bindings;
mod jobs;
mod options;
mod plugin;
mod run;
mod signals;
mod state;

pub(crate) use plugin::imports_workflow_contract;
pub use plugin::{ActivityImport, WitPlugin};
pub(crate) use run::WitRun;
