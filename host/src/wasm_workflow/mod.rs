//! The workflow executor, directly on core, for two kinds of component: those built with
//! Temporal's official workflow crate (`temporalio-workflow`) on the
//! `temporal:workflow-runtime@0.1.0` ABI ([`run`]), and WIT-typed ones that export plain
//! functions and import activities as typed functions ([`wit`]). [`WorkflowPlugin`] is one
//! loaded component, [`Workflows`] serves a plugin set's workflow types with one instance per
//! cached run ([`cached`]).

mod budget;
mod cached;
mod failure;
mod guest_output;
mod plugin;
mod protocol;
mod run;
mod run_cap;
mod wit;
mod workflows;

pub(crate) use budget::Evictor;
pub use budget::RunBudget;
pub use plugin::{WorkflowDefinition, WorkflowPlugin, WorkflowPluginError};
pub(crate) use wit::imports_workflow_contract;
pub use wit::{ActivityImport, WitPlugin};
pub use workflows::Workflows;

use std::time::Duration;

/// How long one activation (every guest call it needs) may take. Core's workflow task timeout
/// defaults to 10 s; failing at 5 s names the cause before the server times the task out.
pub const ACTIVATION_BUDGET: Duration = Duration::from_secs(5);
