//! The workflow executor for components built with Temporal's official workflow crate
//! (`temporalio-workflow`), hosted on the `temporal:workflow-runtime@0.1.0` ABI directly on
//! core: [`WorkflowPlugin`] is one loaded component, [`Workflows`] serves a plugin set's
//! workflow types with one instance per cached run ([`run`]).

mod budget;
mod failure;
mod plugin;
mod protocol;
mod run;
mod workflows;

pub(crate) use budget::Evictor;
pub use budget::RunBudget;
pub use plugin::{WorkflowDefinition, WorkflowPlugin, WorkflowPluginError};
pub use workflows::Workflows;

use std::time::Duration;

/// How long one activation (every guest call it needs) may take. Core's workflow task timeout
/// defaults to 10 s; failing at 5 s names the cause before the server times the task out.
pub const ACTIVATION_BUDGET: Duration = Duration::from_secs(5);
