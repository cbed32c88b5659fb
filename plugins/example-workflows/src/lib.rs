//! Example workflows, one per feature of Temporal's workflow API, each doing a small real job
//! with the `greet_activity` activity (the `hello-activity` plugin):
//!
//! | workflow | shows |
//! |---|---|
//! | [`ReminderWorkflow`] | a durable timer |
//! | [`ApprovalWorkflow`] | a signal, a query and a validated update |
//! | [`BatchGreetingWorkflow`] | child workflows, and continue-as-new to bound history |
//! | [`OrderCheckWorkflow`] | activities in Python, JavaScript and C, called by name |
//!
//! Build: `cargo build --release --target wasm32-wasip2` (needs `protoc`), or `make plugins`.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_workflow::common::ActivityDefinition;
use temporalio_workflow::common::data_converters::MultiArgs2;
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

/// `validate_document(text, required)`, the Python plugin (`plugins/python-activity`).
pub struct ValidateDocument;

impl ActivityDefinition for ValidateDocument {
    type Input = MultiArgs2<String, Vec<String>>;
    type Output = DocumentReport;

    fn name(&self) -> &str {
        "validate_document"
    }
}

/// The Python plugin's `document-report` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentReport {
    pub field_count: u32,
    pub fields: Vec<String>,
    pub missing: Vec<String>,
    pub title: Option<String>,
    pub depth: u32,
    pub valid: bool,
}

/// `render_template(template, values)`, the JavaScript plugin (`plugins/js-activity`).
pub struct RenderTemplate;

impl ActivityDefinition for RenderTemplate {
    type Input = MultiArgs2<String, Vec<(String, String)>>;
    type Output = Rendered;

    fn name(&self) -> &str {
        "render_template"
    }
}

/// The JavaScript plugin's `rendered` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    pub text: String,
    pub used_keys: Vec<String>,
    pub unused_keys: Vec<String>,
    pub first_missing: Option<String>,
}

/// `checksum(data)`, the C plugin (`plugins/c-activity`).
pub struct Checksum;

impl ActivityDefinition for Checksum {
    type Input = Vec<u8>;
    type Output = Digest;

    fn name(&self) -> &str {
        "checksum"
    }
}

/// The C plugin's `digest` record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub length: u64,
    pub crc32: u32,
    pub adler32: u32,
    pub fnv1a64: u64,
}

/// What [`OrderCheckWorkflow`] found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCheck {
    /// From the Python validation.
    pub report: DocumentReport,
    /// The confirmation the JavaScript template rendered.
    pub confirmation: String,
    /// The C checksum of the confirmation's UTF-8 bytes.
    pub digest: Digest,
}

/// Fields an order document must have.
pub const REQUIRED_ORDER_FIELDS: [&str; 3] = ["id", "title", "customer"];

/// Checks an order document with one activity per language: Python validates the JSON,
/// JavaScript renders a confirmation from what it found, C checksums the confirmation. The
/// workflow knows the activities only by name and type; each lives in its own plugin.
#[workflow]
#[derive(Default)]
pub struct OrderCheckWorkflow;

#[workflow_methods]
impl OrderCheckWorkflow {
    /// Returns the report, the confirmation and its digest; fails if the document is not JSON.
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        document: String,
    ) -> WorkflowResult<OrderCheck> {
        let required = REQUIRED_ORDER_FIELDS.map(String::from).to_vec();
        let report = ctx
            .execute_activity(
                ValidateDocument,
                MultiArgs2(document, required),
                greet_options(),
            )
            .await?;
        let values = vec![
            (
                "title".to_string(),
                report
                    .title
                    .clone()
                    .unwrap_or_else(|| "untitled".to_string()),
            ),
            ("fields".to_string(), report.field_count.to_string()),
            (
                "status".to_string(),
                if report.valid {
                    "complete"
                } else {
                    "incomplete"
                }
                .to_string(),
            ),
        ];
        let rendered = ctx
            .execute_activity(
                RenderTemplate,
                MultiArgs2(ORDER_TEMPLATE.to_string(), values),
                greet_options(),
            )
            .await?;
        let digest = ctx
            .execute_activity(
                Checksum,
                rendered.text.clone().into_bytes(),
                greet_options(),
            )
            .await?;
        Ok(OrderCheck {
            report,
            confirmation: rendered.text,
            digest,
        })
    }
}

/// The confirmation [`OrderCheckWorkflow`] renders.
pub const ORDER_TEMPLATE: &str = "Order \"{{title}}\": {{fields}} field(s), {{status}}.";

#[cfg(target_family = "wasm")]
temporalio_workflow::export_workflow_module!([
    ReminderWorkflow,
    ApprovalWorkflow,
    GreetOneWorkflow,
    BatchGreetingWorkflow,
    OrderCheckWorkflow,
]);
