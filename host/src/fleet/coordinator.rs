//! The rollout coordinator: one Temporal workflow per deployment, native code in the host.
//!
//! Every host runs a worker for it on the deployment's coordinator task queue
//! ([`coordinator_queue`]), so when the host executing it dies another picks the run up from
//! its history. Hosts report with the `report` signal (signal-with-start: whichever host needs
//! the coordinator starts it); operators command with the `command` update, which answers
//! whether the command applies; everyone reads the `plan` query. The routing calls themselves
//! are activities ([`super::routing`]), so each is recorded in the history with its answer:
//! the history is the rollout's audit log.
//!
//! The workflow owns no logic beyond sequencing: [`Plan`] decides.

use super::plan::{Command, Op, OpError, Plan, Report};
use super::routing::{GateInput, RouteInput, RouteOutcome};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};
use temporalio_workflow::common::ActivityDefinition;
use temporalio_workflow::{
    ActivityCloseTimeouts, ActivityOptions, CancellableFuture as _, ContinueAsNewOptions,
    RetryPolicy, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
    workflow, workflow_methods,
};

/// The coordinator's workflow ID for a deployment: one coordinator per deployment.
pub fn coordinator_id(deployment: &str) -> String {
    format!("wasm-worker-rollout/{deployment}")
}

/// The task queue the coordinator's workflow and activities run on (not versioned: the
/// coordinator is part of the host, not of any plugin build).
pub fn coordinator_queue(deployment: &str) -> String {
    format!("wasm-worker-rollout/{deployment}")
}

/// Longest a gate workflow may run (its execution timeout: a gate that does not finish
/// fails).
pub(super) const GATE_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest one attempt of the activity watching it.
const GATE_WATCH: Duration = Duration::from_secs(630);

/// History length after which the coordinator continues as new with its plan.
const MAX_HISTORY: u32 = 4_000;

/// The coordinator's input: which deployment, and the plan so far (empty at the very start,
/// carried over at continue-as-new).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoordinatorInput {
    pub deployment: String,
    /// The task queue the deployment's builds poll (gate workflows run there).
    pub task_queue: String,
    pub plan: Plan,
}

/// The answer to an operator's command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandAnswer {
    pub accepted: bool,
    pub message: String,
}

/// The routing activity, by name.
struct RouteActivity;

impl ActivityDefinition for RouteActivity {
    type Input = RouteInput;
    type Output = RouteOutcome;

    fn name(&self) -> &str {
        super::routing::ROUTE_ACTIVITY
    }
}

/// The gate activity, by name.
struct GateActivity;

impl ActivityDefinition for GateActivity {
    type Input = GateInput;
    type Output = RouteOutcome;

    fn name(&self) -> &str {
        super::routing::GATE_ACTIVITY
    }
}

/// One coordinator per deployment; see the module docs.
#[workflow]
pub struct RolloutCoordinator {
    deployment: String,
    task_queue: String,
    plan: Plan,
    /// Set by every report and command: the run loop looks at the plan again.
    woken: bool,
}

fn now_ms(time: Option<SystemTime>) -> u64 {
    time.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[workflow_methods]
impl RolloutCoordinator {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: CoordinatorInput) -> Self {
        RolloutCoordinator {
            deployment: input.deployment,
            task_queue: input.task_queue,
            plan: input.plan,
            woken: true,
        }
    }

    /// Performs what the plan asks for, one op at a time, and waits for reports, commands or
    /// the plan's next due time in between.
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        loop {
            let now = now_ms(ctx.workflow_time());
            ctx.state_mut(|s| s.woken = false);
            // Checked before every op too: a coordinator busy with ops must not outgrow its
            // history.
            if (ctx.continue_as_new_suggested() || ctx.history_length() > MAX_HISTORY)
                && ctx.all_handlers_finished()
            {
                let input = ctx.state(|s| CoordinatorInput {
                    deployment: s.deployment.clone(),
                    task_queue: s.task_queue.clone(),
                    plan: s.plan.clone(),
                });
                ctx.continue_as_new(input, ContinueAsNewOptions::default())?;
            }
            if let Some(op) = ctx.state_mut(|s| s.plan.next(now)) {
                let result = perform(ctx, op).await;
                let now = now_ms(ctx.workflow_time());
                ctx.state_mut(|s| s.plan.applied(now, result));
                continue;
            }
            match ctx.state(|s| s.plan.next_check_ms(now)) {
                Some(at) => {
                    let wait = Duration::from_millis(at.saturating_sub(now).max(1));
                    let mut timer = std::pin::pin!(ctx.timer(wait));
                    let mut woken = std::pin::pin!(ctx.wait_condition(|s| s.woken));
                    let fired = temporalio_workflow::workflows::select! {
                        _ = woken => false,
                        _ = timer => true,
                    };
                    if !fired {
                        // Not left to fire later: each would cost a workflow task.
                        timer.cancel();
                    }
                }
                None => ctx.wait_condition(|s| s.woken).await?,
            }
        }
    }

    /// A host's report: a build registered, its counts, refused files, a drained build.
    #[signal]
    pub fn report(&mut self, ctx: &mut SyncWorkflowContext<Self>, report: Report) {
        self.plan.report(now_ms(ctx.workflow_time()), report);
        self.woken = true;
    }

    /// An operator's command; the answer says whether it applies and what will happen.
    #[update]
    pub fn command(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        command: Command,
    ) -> CommandAnswer {
        let answer = match self.plan.command(now_ms(ctx.workflow_time()), command) {
            Ok(message) => CommandAnswer {
                accepted: true,
                message,
            },
            Err(message) => CommandAnswer {
                accepted: false,
                message,
            },
        };
        self.woken = true;
        answer
    }

    /// The whole plan: builds, routing, decisions.
    #[query]
    pub fn plan(&self, _ctx: &WorkflowContextView) -> Plan {
        self.plan.clone()
    }
}

/// Runs `op`'s activity; its failure (after the activity's retries) is the op's failure.
async fn perform(ctx: &mut WorkflowContext<RolloutCoordinator>, op: Op) -> Result<(), OpError> {
    let (deployment, task_queue, expected_current, expected_ramping) = ctx.state(|s| {
        (
            s.deployment.clone(),
            s.task_queue.clone(),
            s.plan.current.clone(),
            s.plan.ramp.as_ref().map(|r| r.build_id.clone()),
        )
    });
    let retry = |attempts: u32| {
        RetryPolicy::builder()
            .initial_interval(Duration::from_millis(200))
            .maximum_interval(Duration::from_secs(5))
            .maximum_attempts(attempts)
            .build()
    };
    let outcome = match op {
        Op::RunGate { build_id, gate } => {
            // The gate workflow runs once (its failure is the verdict); the activity watching it
            // heartbeats, so a dead host's attempt is retried elsewhere and finds the same run.
            let options = ActivityOptions::with_start_to_close_timeout(GATE_WATCH)
                .heartbeat_timeout(Duration::from_secs(30))
                .retry_policy(retry(3))
                .build();
            let input = GateInput {
                deployment,
                task_queue,
                build_id,
                workflow: gate.workflow,
                input: gate.input,
            };
            ctx.execute_activity(GateActivity, input, options).await
        }
        op => {
            let options = ActivityOptions::with_close_timeouts(
                ActivityCloseTimeouts::ScheduleAndStartToClose {
                    schedule_to_close: Duration::from_secs(120),
                    start_to_close: Duration::from_secs(30),
                },
            )
            .retry_policy(retry(0))
            .build();
            let input = RouteInput {
                deployment,
                op,
                expected_current,
                expected_ramping,
            };
            ctx.execute_activity(RouteActivity, input, options).await
        }
    };
    match outcome {
        Ok(RouteOutcome::Done) => Ok(()),
        Ok(RouteOutcome::Conflict { message, server }) => Err(OpError {
            message,
            server: Some(server),
        }),
        Ok(RouteOutcome::Failed { message }) => Err(OpError {
            message,
            server: None,
        }),
        Err(e) => Err(OpError {
            message: e.to_string(),
            server: None,
        }),
    }
}
