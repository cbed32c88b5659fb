//! A failed workflow task: the completion core gets, and the cause the metric is labelled with.

use temporalio_common::protos::coresdk::workflow_completion::WorkflowActivationCompletion;

/// Why a workflow task failed, for the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskFailure {
    /// The guest trapped (panic, unreachable, memory limit, exit).
    Trap,
    /// The guest did not finish the activation within the budget (a loop?).
    Deadline,
    /// The guest reported a task failure, or broke the protocol.
    Guest,
    /// No free instance slot for a new run: cached runs hold them all. The least recently
    /// used run is evicted to make room, and core retries the task.
    PoolFull,
}

impl TaskFailure {
    /// Metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            TaskFailure::Trap => "trap",
            TaskFailure::Deadline => "deadline",
            TaskFailure::Guest => "guest",
            TaskFailure::PoolFull => "pool_full",
        }
    }

    /// [`TaskFailure::PoolFull`] when instantiating failed for want of a slot, else `other`.
    pub(crate) fn of_instantiation(error: &wasmtime::Error, other: TaskFailure) -> TaskFailure {
        if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            TaskFailure::PoolFull
        } else {
            other
        }
    }
}

/// What a task that failed with [`TaskFailure::PoolFull`] says after its own message.
pub(crate) const POOL_FULL_HINT: &str = "no free instance slot: cached runs hold them all (an \
interpreter-based run holds many); the least recently used cached run is evicted to make room \
and the task is retried. Lower the plugin's max_cached_runs or --max-cached-workflows to \
keep within the pool";

/// A failed activation: the completion to send, and whether the instance is still usable.
pub(crate) struct Failed {
    pub(crate) completion: WorkflowActivationCompletion,
    pub(crate) cause: TaskFailure,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{
        Config, Engine, InstanceAllocationStrategy, Module, PoolingAllocationConfig, Store,
    };

    #[test]
    fn an_instantiation_refused_for_want_of_a_slot_is_told_from_a_trap() {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(1);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).expect("engine");
        let module = Module::new(&engine, "(module)").expect("module");
        let mut store = Store::new(&engine, ());
        let _held = wasmtime::Instance::new(&mut store, &module, &[]).expect("the one slot");
        let full = wasmtime::Instance::new(&mut store, &module, &[]).expect_err("no slot left");
        assert_eq!(
            TaskFailure::of_instantiation(&full, TaskFailure::Trap),
            TaskFailure::PoolFull
        );
        let trap = wasmtime::Error::msg("unreachable");
        assert_eq!(
            TaskFailure::of_instantiation(&trap, TaskFailure::Trap),
            TaskFailure::Trap
        );
    }
}
