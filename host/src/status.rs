//! What `GET /status` answers: the generations (build ID, state, plugins with digests and
//! exported types) and the last load error. Updated by the supervisor at every transition.

use serde::Serialize;
use std::sync::Mutex;

/// A generation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GenerationState {
    /// The deployment's current version: new work goes here.
    Current,
    /// Ramping: gets a share of new runs while it proves itself.
    Ramping,
    /// No longer current; still polling for its pinned workflows.
    Draining,
    /// Fleet rollouts: polling, reported to the coordinator, not routed to (yet).
    Standby,
    /// Stopped after draining (the last few are kept for `/status`).
    Drained,
}

impl GenerationState {
    /// The name in `/status` and in `wasm_worker_build_info{state}`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GenerationState::Current => "current",
            GenerationState::Ramping => "ramping",
            GenerationState::Draining => "draining",
            GenerationState::Standby => "standby",
            GenerationState::Drained => "drained",
        }
    }
}

/// One plugin of a generation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PluginStatus {
    pub file: String,
    pub digest: String,
    /// `activities` or `workflows`.
    pub kind: &'static str,
    /// Activity types (with WIT signatures) or workflow types.
    pub types: Vec<String>,
    /// A WIT-typed workflow's activity imports: `summarize_order: summarize-order(…) -> …`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Imports no activity plugin of the set exports with the same types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One generation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GenerationStatus {
    pub build_id: String,
    pub state: GenerationState,
    /// Share of new runs, while ramping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp_percent: Option<f32>,
    pub plugins: Vec<PluginStatus>,
}

/// The last reload that was refused.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoadErrorStatus {
    /// Seconds since the Unix epoch.
    pub at_unix: u64,
    /// `plugin FILE: reason` for each refused file.
    pub errors: Vec<String>,
}

/// The last ramp that was rolled back.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RollbackStatus {
    pub build_id: String,
    /// Why, with the counts it was judged on.
    pub reason: String,
    /// Seconds since the Unix epoch.
    pub at_unix: u64,
}

/// The last routing change the server accepted, and whether it reached every partition.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoutingStatus {
    /// `current` or `ramping` (or `unramped` when a ramp was removed).
    pub change: &'static str,
    pub build_id: String,
    /// True once the server reports every task-queue partition updated. Before, some new runs
    /// (and the next tasks of auto-upgrade runs) may still go to the previous version, which
    /// keeps polling while it drains.
    pub propagated: bool,
}

/// The whole document.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Status {
    pub deployment_name: String,
    pub generations: Vec<GenerationStatus>,
    pub last_load_error: Option<LoadErrorStatus>,
    pub last_rollback: Option<RollbackStatus>,
    /// Builds rolled back and refused for ramping until a retry (SIGHUP) or new files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<String>,
    pub routing: Option<RoutingStatus>,
    /// Fleet rollouts: the coordinator and its plan as last read (the same on every host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetStatus>,
}

/// The fleet's rollout, as the coordinator's plan says.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FleetStatus {
    /// The coordinator's workflow ID (its history is the rollout's audit log).
    pub coordinator: String,
    pub plan: Option<crate::fleet::plan::Plan>,
    /// Why the last read of the plan failed, if it did.
    pub error: Option<String>,
}

/// Shared, updated in place.
#[derive(Default)]
pub(crate) struct StatusBoard(Mutex<Status>);

impl StatusBoard {
    /// Applies `f` to the document.
    pub(crate) fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A copy of the document.
    pub(crate) fn snapshot(&self) -> Status {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
