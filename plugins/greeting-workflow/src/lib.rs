//! wasm-worker's hello-world workflow, written with Temporal's official Rust workflow crate and
//! compiled to a component: `GreetingWorkflow(name)` runs the `greet_activity` activity (the
//! `hello-activity` plugin) and returns its result.
//!
//! Build: `cargo build --release --target wasm32-wasip2` (needs `protoc`), or `make plugins`.

use std::time::Duration;
use temporalio_workflow::common::ActivityDefinition;
use temporalio_workflow::{
    ActivityOptions, WorkflowContext, WorkflowResult, workflow, workflow_methods,
};

/// The activity, known by name: it lives in another plugin, in any language.
pub struct GreetActivity;

impl ActivityDefinition for GreetActivity {
    type Input = String;
    type Output = String;

    fn name(&self) -> &str {
        "greet_activity"
    }
}

/// Greets `name` through the `greet_activity` activity.
#[workflow]
#[derive(Default)]
pub struct GreetingWorkflow;

#[workflow_methods]
impl GreetingWorkflow {
    /// Returns `Hello, {name}!`.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let options = ActivityOptions::start_to_close_timeout(Duration::from_secs(30));
        let greeting = ctx.execute_activity(GreetActivity, name, options).await?;
        Ok(greeting)
    }
}

#[cfg(target_family = "wasm")]
temporalio_workflow::export_workflow_module!([GreetingWorkflow]);
