//! Workflows the integration tests run as a plugin: one per feature of the workflow ABI, and
//! hostile ones the host must contain.

use std::time::Duration;
use temporalio_workflow::{
    ChildWorkflowOptions, ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult, workflow, workflow_methods,
};

/// Waits for the `finish` signal after a timer; `state` answers queries; `rename` is an update.
#[workflow]
pub struct SignalQueryWorkflow {
    state: String,
    finish: Option<String>,
}

#[workflow_methods]
impl SignalQueryWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, first_state: String) -> Self {
        Self {
            state: first_state,
            finish: None,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        let _ = ctx.timer(Duration::from_millis(100)).await;
        ctx.state_mut(|s| s.state = format!("{} then waiting", s.state));
        ctx.wait_condition(|s| s.finish.is_some()).await?;
        Ok(ctx.state(|s| {
            format!(
                "{} / finished with {}",
                s.state,
                s.finish.clone().unwrap_or_default()
            )
        }))
    }

    #[signal]
    pub fn finish(&mut self, _ctx: &mut SyncWorkflowContext<Self>, value: String) {
        self.finish = Some(value);
    }

    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> String {
        self.state.clone()
    }

    #[update]
    pub fn rename(&mut self, _ctx: &mut SyncWorkflowContext<Self>, state: String) -> String {
        std::mem::replace(&mut self.state, state)
    }
}

/// Doubles its input.
#[workflow]
#[derive(Default)]
pub struct ChildWorkflow;

#[workflow_methods]
impl ChildWorkflow {
    #[run]
    pub async fn run(_ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        Ok(n * 2)
    }
}

/// Runs `ChildWorkflow(n)` and adds one.
#[workflow]
#[derive(Default)]
pub struct ParentWorkflow;

#[workflow_methods]
impl ParentWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let child = ctx
            .start_child_workflow(ChildWorkflow::run, n, ChildWorkflowOptions::default())
            .await?;
        let doubled = child.result().await?;
        Ok(doubled + 1)
    }
}

/// Continues as new, counting down to zero.
#[workflow]
#[derive(Default)]
pub struct CountdownWorkflow;

#[workflow_methods]
impl CountdownWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<String> {
        if n == 0 {
            return Ok("liftoff".to_string());
        }
        ctx.continue_as_new(n - 1, ContinueAsNewOptions::default())?;
        unreachable!("continue_as_new always returns an error to propagate")
    }
}

/// Never yields.
#[workflow]
#[derive(Default)]
pub struct LoopingWorkflow;

#[workflow_methods]
impl LoopingWorkflow {
    #[run]
    pub async fn run(_ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u64> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

/// Panics with its input.
#[workflow]
#[derive(Default)]
pub struct PanickingWorkflow;

#[workflow_methods]
impl PanickingWorkflow {
    #[run]
    pub async fn run(_ctx: &mut WorkflowContext<Self>, message: String) -> WorkflowResult<()> {
        panic!("{message}")
    }
}

/// Fails its run with its input as the reason (non-retryable): a workflow's own failure, not a
/// task's.
#[workflow]
#[derive(Default)]
pub struct FailingWorkflow;

#[workflow_methods]
impl FailingWorkflow {
    #[run]
    pub async fn run(_ctx: &mut WorkflowContext<Self>, message: String) -> WorkflowResult<()> {
        Err(temporalio_workflow::common::error::ApplicationFailure::non_retryable(message).into())
    }
}

/// Recurses without bound: the guest's stack runs out.
#[workflow]
#[derive(Default)]
pub struct RecursingWorkflow;

fn deep(n: u64) -> u64 {
    let frame = std::hint::black_box([n as u8; 256]);
    if n == u64::MAX {
        return 0;
    }
    deep(n + 1).wrapping_add(u64::from(frame[255]))
}

#[workflow_methods]
impl RecursingWorkflow {
    #[run]
    pub async fn run(_ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(deep(0))
    }
}

/// What a workflow saw when it read the clock and the random source directly.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Observed {
    /// `SystemTime::now()`, milliseconds since the epoch.
    pub now_ms: u64,
    /// A hash keyed by `RandomState` (seeded from WASI randomness).
    pub random: u64,
}

/// Reads the wall clock and randomness directly (what a careless workflow does), keeps what it
/// saw for the `observed` query, and waits for `finish`. Deterministic only because the host's
/// stand-ins give workflow time and per-run seeds.
#[workflow]
#[derive(Default)]
pub struct ClockRandomWorkflow {
    observed: Observed,
    finished: bool,
}

#[workflow_methods]
impl ClockRandomWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Observed> {
        use std::hash::BuildHasher as _;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let random = std::collections::hash_map::RandomState::new().hash_one(42u64);
        ctx.state_mut(|s| s.observed = Observed { now_ms, random });
        ctx.wait_condition(|s| s.finished).await?;
        Ok(ctx.state(|s| s.observed.clone()))
    }

    #[signal]
    pub fn finish(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.finished = true;
    }

    #[query]
    pub fn observed(&self, _ctx: &WorkflowContextView) -> Observed {
        self.observed.clone()
    }
}

#[cfg(target_family = "wasm")]
temporalio_workflow::export_workflow_module!([
    SignalQueryWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    CountdownWorkflow,
    LoopingWorkflow,
    PanickingWorkflow,
    RecursingWorkflow,
    ClockRandomWorkflow,
    BallastWorkflow,
    FloodWorkflow,
    SometimesFailingWorkflow,
    FailingWorkflow,
]);

/// Holds `mib` MiB of guest memory until the `finish` signal, then returns a checksum of it:
/// the subject of the host's memory budget for cached runs (the checksum shows that a run
/// evicted and replayed rebuilt its state).
#[workflow]
pub struct BallastWorkflow {
    ballast: Vec<u8>,
    done: bool,
}

#[workflow_methods]
impl BallastWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, mib: u32) -> Self {
        let len = mib as usize * 1024 * 1024;
        Self {
            ballast: (0..len).map(|i| (i % 251) as u8).collect(),
            done: false,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u64> {
        ctx.wait_condition(|s| s.done).await?;
        Ok(ctx.state(|s| s.ballast.iter().map(|b| u64::from(*b)).sum()))
    }

    #[signal]
    pub fn finish(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _why: String) {
        self.done = true;
    }
}

/// What [`BallastWorkflow`] returns for `mib`.
pub fn ballast_checksum(mib: u32) -> u64 {
    (0..mib as usize * 1024 * 1024)
        .map(|i| (i % 251) as u64)
        .sum()
}

/// The `echo_string` activity of the test-activities plugin, known by name.
pub struct EchoString;

impl temporalio_workflow::common::ActivityDefinition for EchoString {
    type Input = String;
    type Output = String;

    fn name(&self) -> &str {
        "echo_string"
    }
}

/// The `fail_percent` activity of the test-activities plugin, known by name.
pub struct FailPercent;

impl temporalio_workflow::common::ActivityDefinition for FailPercent {
    type Input = u32;
    type Output = u32;

    fn name(&self) -> &str {
        "fail_percent"
    }
}

/// Runs `fail_percent(n)` once, without retries, and completes either way saying what
/// happened: the activity's failures are what a ramp judges, and no run is lost to them.
#[workflow]
#[derive(Default)]
pub struct SometimesFailingWorkflow;

#[workflow_methods]
impl SometimesFailingWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, n: u32) -> WorkflowResult<String> {
        let options = temporalio_workflow::ActivityOptions::with_start_to_close_timeout(
            Duration::from_secs(30),
        )
        .retry_policy(
            temporalio_workflow::RetryPolicy::builder()
                .maximum_attempts(1)
                .build(),
        )
        .build();
        Ok(match ctx.execute_activity(FailPercent, n, options).await {
            Ok(v) => format!("ok {v}"),
            Err(e) => format!("failed: {e}"),
        })
    }
}

/// Schedules `count` activities at once, each with a 64 KiB input: past ~50 the commands of
/// one workflow task outgrow what one task may carry.
#[workflow]
#[derive(Default)]
pub struct FloodWorkflow;

#[workflow_methods]
impl FloodWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, count: u32) -> WorkflowResult<u32> {
        let input = "x".repeat(64 * 1024);
        let options = || {
            temporalio_workflow::ActivityOptions::start_to_close_timeout(Duration::from_secs(30))
        };
        let calls: Vec<_> = (0..count)
            .map(|_| ctx.execute_activity(EchoString, input.clone(), options()))
            .collect();
        let done = temporalio_workflow::join_all(calls).await;
        Ok(done.into_iter().filter(Result::is_ok).count() as u32)
    }
}
