//! The benchmark's activation-heavy workflows, written once with Temporal's workflow crate:
//! compiled to a component for wasm-worker, and natively for the Rust SDK worker, so both run
//! the very same code. (`GreetingWorkflow` comes from `plugins/greeting-workflow`.)

use std::time::Duration;
use temporalio_workflow::common::ActivityDefinition;
use temporalio_workflow::{
    ActivityOptions, WorkflowContext, WorkflowResult, join_all, workflow, workflow_methods,
};

/// `greet_activity`, served by every worker in the benchmark.
pub struct GreetActivity;

impl ActivityDefinition for GreetActivity {
    type Input = String;
    type Output = String;

    fn name(&self) -> &str {
        "greet_activity"
    }
}

fn options() -> ActivityOptions {
    ActivityOptions::start_to_close_timeout(Duration::from_secs(30))
}

/// Runs `n` greetings at once; returns how many came back.
#[workflow]
#[derive(Default)]
pub struct FanOutWorkflow;

#[workflow_methods]
impl FanOutWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let calls =
            (0..n).map(|i| ctx.execute_activity(GreetActivity, format!("item-{i}"), options()));
        let results = join_all(calls).await;
        let mut done = 0;
        for r in results {
            r?;
            done += 1;
        }
        Ok(done)
    }
}

/// Runs `n` greetings one after another; returns `n`.
#[workflow]
#[derive(Default)]
pub struct SequentialWorkflow;

#[workflow_methods]
impl SequentialWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        for i in 0..n {
            ctx.execute_activity(GreetActivity, format!("step-{i}"), options())
                .await?;
        }
        Ok(n)
    }
}

#[cfg(target_family = "wasm")]
temporalio_workflow::export_workflow_module!([FanOutWorkflow, SequentialWorkflow]);
