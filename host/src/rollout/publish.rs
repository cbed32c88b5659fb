//! Renders the rollout onto `/status` and the `wasm_worker_build_info` gauge: every live
//! generation with its state, then the last few drained, the last refused reload and the last
//! rollback.

use super::{Env, Rollout};
use crate::status::{GenerationState, GenerationStatus};

/// Publishes `rollout`'s state.
pub(super) fn publish(rollout: &Rollout, env: &Env<'_>) {
    let m = &rollout.machine;
    let status = |build_id: &str, state| rollout.generations.get(build_id).map(|g| g.status(state));
    if let Some(current) = m.current().and_then(|b| rollout.generations.get(b)) {
        env.current_types
            .set(&current.types.workflows, &current.types.activities);
    }
    for build_id in m
        .ramping()
        .map(|(b, _)| b)
        .into_iter()
        .chain(m.draining().iter().map(|d| d.build_id.as_str()))
    {
        if let Some(g) = rollout.generations.get(build_id) {
            env.current_types
                .remember(&g.types.workflows, &g.types.activities);
        }
    }
    let mut generations: Vec<GenerationStatus> = Vec::new();
    generations.extend(
        m.current()
            .and_then(|b| status(b, GenerationState::Current)),
    );
    if let Some((b, percent)) = m.ramping()
        && let Some(mut s) = status(b, GenerationState::Ramping)
    {
        s.ramp_percent = Some(percent);
        generations.push(s);
    }
    generations.extend(
        m.draining()
            .iter()
            .filter_map(|d| status(&d.build_id, GenerationState::Draining)),
    );
    generations.extend(
        m.standby()
            .iter()
            .filter_map(|b| status(b, GenerationState::Standby)),
    );
    env.metrics.build_info.reset();
    // Stopped generations are history: on `/status`, not in the live build_info gauge.
    for g in &generations {
        env.metrics
            .build_info
            .with_label_values(&[&g.build_id, g.state.as_str()])
            .set(1);
    }
    generations.extend(rollout.drained.iter().cloned());
    let last_rollback = m.last_rollback().cloned();
    let last_load_error = m.last_load_error().cloned();
    let rolled_back = m.rolled_back();
    let fleet = rollout.fleet.as_ref().map(|l| crate::status::FleetStatus {
        coordinator: l.coordinator(),
        plan: l.plan.clone(),
        error: l.error.clone(),
    });
    env.board.update(|s| {
        s.deployment_name.clone_from(&env.config.deployment_name);
        s.generations = generations;
        s.last_rollback = last_rollback;
        s.last_load_error = last_load_error;
        s.rolled_back = rolled_back;
        s.fleet = fleet;
    });
}
