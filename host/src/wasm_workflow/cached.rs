//! A cached run of either workflow ABI, behind one face for [`super::Workflows`].

use super::failure::{Failed, TaskFailure};
use super::plugin::{Kind, WorkflowPlugin};
use super::run::Run;
use super::wit::WitRun;
use std::time::Duration;
use temporalio_common::protos::coresdk::workflow_activation::{
    InitializeWorkflow, WorkflowActivation,
};
use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;

/// One cached run.
pub(super) enum CachedRun {
    /// On Temporal's `workflow-runtime` ABI.
    Abi(Run),
    /// WIT-typed.
    Wit(WitRun),
}

impl CachedRun {
    /// Starts a run of `init.workflow_type`, which `plugin` exports.
    pub(super) async fn start(
        plugin: &WorkflowPlugin,
        init: &InitializeWorkflow,
        namespace: &str,
        task_queue: &str,
        run_id: &str,
        budget: Duration,
    ) -> Result<CachedRun, (String, TaskFailure)> {
        match &plugin.kind {
            Kind::Abi(pre) => Run::start(
                pre,
                &plugin.source,
                init,
                namespace,
                task_queue,
                run_id,
                budget,
            )
            .await
            .map(CachedRun::Abi),
            Kind::Wit(wit) => {
                let function = wit
                    .functions
                    .iter()
                    .find(|f| f.activity_type == init.workflow_type)
                    .ok_or_else(|| {
                        (
                            format!("exports no workflow `{}`", init.workflow_type),
                            TaskFailure::Guest,
                        )
                    })?;
                Ok(CachedRun::Wit(WitRun::start(
                    wit,
                    &plugin.source,
                    function,
                    init,
                    namespace,
                    task_queue,
                    run_id,
                )))
            }
        }
    }

    /// The run's workflow type.
    pub(super) fn workflow_type(&self) -> &str {
        match self {
            CachedRun::Abi(r) => &r.workflow_type,
            CachedRun::Wit(r) => &r.workflow_type,
        }
    }

    /// Processes one activation within `budget`. On failure the run must be dropped.
    pub(super) async fn activate(
        &mut self,
        activation: WorkflowActivation,
        budget: Duration,
    ) -> Result<WorkflowActivationCompletion, Failed> {
        match self {
            CachedRun::Abi(r) => r.activate(activation, budget).await,
            CachedRun::Wit(r) => r.activate(activation, budget).await,
        }
    }

    /// Signals dropped since the last call because their argument did not fit (WIT runs).
    pub(super) fn take_dropped_signals(&self) -> u64 {
        match self {
            CachedRun::Abi(_) => 0,
            CachedRun::Wit(r) => r.take_dropped_signals(),
        }
    }

    /// Bytes of linear memory the run's instance holds.
    pub(super) fn memory_bytes(&mut self) -> u64 {
        match self {
            CachedRun::Abi(r) => r.memory_bytes(),
            CachedRun::Wit(r) => r.memory_bytes(),
        }
    }
}
