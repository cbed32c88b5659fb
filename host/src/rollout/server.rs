//! The rollout's calls to the server: routing changes and drainage, each answer turned into
//! what the machine understands.

use super::Env;
use super::events::{Change, Event};
use crate::deployment::{self, Outcome};
use std::time::Duration;
use temporalio_common::protos::temporal::api::enums::v1::VersionDrainageStatus;

/// Longest wait for the server's drainage answer: a slow server must not stall the
/// supervisor (and with it reloads and shutdown).
const DRAIN_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The host's deployment, as the routing calls take it.
pub(super) fn deployment_of<'a>(env: &Env<'a>) -> deployment::Deployment<'a> {
    deployment::Deployment {
        connection: env.connection,
        namespace: &env.config.namespace,
        name: &env.config.deployment_name,
        task_queue: &env.config.task_queue,
    }
}

/// Performs a routing change; the server's answer as an event.
pub(super) async fn route(env: &Env<'_>, change: Change) -> Event {
    let d = deployment_of(env);
    let answer = match &change {
        Change::Current { build_id } => deployment::make_current(d, build_id, env.stop).await,
        Change::Ramp { build_id, percent } => {
            deployment::set_ramping(d, Some((build_id, *percent)), env.stop).await
        }
        Change::Unramp => deployment::set_ramping(d, None, env.stop).await,
        Change::Announce { build_id } => {
            return Event::RoutingFailed {
                error: format!("{build_id}: a fleet report reached the routing calls (a bug)"),
            };
        }
    };
    match answer {
        Ok(Outcome::Accepted) => Event::Accepted,
        Ok(Outcome::Unsupported(reason)) => Event::Unsupported { reason },
        Err(e) => Event::RoutingFailed {
            error: format!("{e:#}"),
        },
    }
}

/// Whether the server reports `build_id`'s version drained (no open pinned workflows).
pub(super) async fn drained(env: &Env<'_>, build_id: &str) -> bool {
    let call = deployment::describe_version(deployment_of(env), build_id);
    let Ok(answer) = tokio::time::timeout(DRAIN_CHECK_TIMEOUT, call).await else {
        tracing::debug!(%build_id, "describing a draining version timed out");
        return false;
    };
    match answer {
        Ok(info) => {
            let status = info.and_then(|i| i.drainage_info).map(|d| d.status());
            tracing::debug!(%build_id, ?status, "drainage of a replaced version");
            status == Some(VersionDrainageStatus::Drained)
        }
        Err(status) => {
            tracing::debug!(%build_id, error = %status, "describing a draining version failed");
            false
        }
    }
}
