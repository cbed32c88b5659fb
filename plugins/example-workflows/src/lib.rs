//! Example workflows, one per feature of Temporal's workflow API, each doing a small real job
//! with the `greet_activity` activity (the `hello-activity` plugin):
//!
//! | workflow | shows |
//! |---|---|
//! | [`ReminderWorkflow`] | a durable timer |
//! | [`ApprovalWorkflow`] | a signal, a query and a validated update |
//! | [`BatchGreetingWorkflow`] | child workflows, and continue-as-new to bound history |
//!
//! Build: `cargo build --release --target wasm32-wasip2` (needs `protoc`), or `make plugins`.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_workflow::common::ActivityDefinition;
use temporalio_workflow::{
    ActivityOptions, ChildWorkflowOptions, ContinueAsNewOptions, SyncWorkflowContext,
    WorkflowContext, WorkflowContextView, WorkflowResult, workflow, workflow_methods,
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

fn greet_options() -> ActivityOptions {
    ActivityOptions::start_to_close_timeout(Duration::from_secs(30))
}

/// What [`ReminderWorkflow`] is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reminder {
    /// Who to greet.
    pub name: String,
    /// How long to wait first. The wait is a server-side timer: it survives worker restarts.
    pub delay_ms: u64,
}

/// Waits, then greets: a durable timer.
#[workflow]
#[derive(Default)]
pub struct ReminderWorkflow;

#[workflow_methods]
impl ReminderWorkflow {
    /// Returns the greeting after the delay.
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        reminder: Reminder,
    ) -> WorkflowResult<String> {
        let _ = ctx.timer(Duration::from_millis(reminder.delay_ms)).await;
        let greeting = ctx
            .execute_activity(GreetActivity, reminder.name, greet_options())
            .await?;
        Ok(format!("Reminder: {greeting}"))
    }
}

/// Where an [`ApprovalWorkflow`] stands; what its `status` query returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalStatus {
    /// The request being approved.
    pub request: String,
    /// Comments added by the `comment` update, in order.
    pub comments: Vec<String>,
    /// Who approved it, once the `approve` signal came.
    pub approved_by: Option<String>,
}

/// Waits for a human: the `approve` signal ends it, the `status` query reads it, and the
/// `comment` update adds a comment (empty comments are rejected before they reach history).
#[workflow]
pub struct ApprovalWorkflow {
    status: ApprovalStatus,
}

#[workflow_methods]
impl ApprovalWorkflow {
    /// Starts with the request to approve.
    #[init]
    pub fn new(_ctx: &WorkflowContextView, request: String) -> Self {
        Self {
            status: ApprovalStatus {
                request,
                ..ApprovalStatus::default()
            },
        }
    }

    /// Returns `"<request> approved by <who> after <n> comment(s)"` once approved.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_condition(|s| s.status.approved_by.is_some())
            .await?;
        Ok(ctx.state(|s| {
            format!(
                "{} approved by {} after {} comment(s)",
                s.status.request,
                s.status.approved_by.clone().unwrap_or_default(),
                s.status.comments.len()
            )
        }))
    }

    /// Approves the request; the first approval wins.
    #[signal]
    pub fn approve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, who: String) {
        self.status.approved_by.get_or_insert(who);
    }

    /// The request, its comments and its approver so far.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> ApprovalStatus {
        self.status.clone()
    }

    /// Adds a comment; returns how many there are now.
    #[update]
    pub fn comment(&mut self, _ctx: &mut SyncWorkflowContext<Self>, text: String) -> u32 {
        self.status.comments.push(text);
        self.status.comments.len() as u32
    }

    /// Rejects empty comments: a rejected update leaves no trace in history.
    #[update_validator(comment)]
    #[allow(
        clippy::ptr_arg,
        reason = "the macro passes a reference to the update's input type"
    )]
    pub fn validate_comment(
        &self,
        _ctx: &WorkflowContextView,
        text: &String,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if text.trim().is_empty() {
            return Err("a comment cannot be empty".into());
        }
        Ok(())
    }
}

/// Greets one name through the activity; the child of [`BatchGreetingWorkflow`].
#[workflow]
#[derive(Default)]
pub struct GreetOneWorkflow;

#[workflow_methods]
impl GreetOneWorkflow {
    /// Returns the greeting for `name`.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx
            .execute_activity(GreetActivity, name, greet_options())
            .await?)
    }
}

/// A batch in progress: the input of each run of [`BatchGreetingWorkflow`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Batch {
    /// Names still to greet.
    pub names: Vec<String>,
    /// Greetings made by earlier runs.
    #[serde(default)]
    pub done: Vec<String>,
    /// At most this many names per run; the rest continue as a new run (default 2).
    #[serde(default)]
    pub per_run: Option<u32>,
}

/// Greets every name through one child workflow each, `per_run` names per run, continuing as
/// new with the rest — the pattern that keeps a long batch's history bounded.
#[workflow]
#[derive(Default)]
pub struct BatchGreetingWorkflow;

#[workflow_methods]
impl BatchGreetingWorkflow {
    /// Returns every greeting, in input order.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, batch: Batch) -> WorkflowResult<Vec<String>> {
        let per_run = batch.per_run.unwrap_or(2).max(1) as usize;
        let mut done = batch.done;
        let mut names = batch.names;
        let rest = names.split_off(per_run.min(names.len()));
        for name in names {
            let child = ctx
                .start_child_workflow(GreetOneWorkflow::run, name, ChildWorkflowOptions::default())
                .await?;
            done.push(child.result().await?);
        }
        if rest.is_empty() {
            return Ok(done);
        }
        let next = Batch {
            names: rest,
            done,
            per_run: batch.per_run,
        };
        ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
        unreachable!("continue_as_new always returns an error to propagate")
    }
}

#[cfg(target_family = "wasm")]
temporalio_workflow::export_workflow_module!([
    ReminderWorkflow,
    ApprovalWorkflow,
    GreetOneWorkflow,
    BatchGreetingWorkflow,
]);
