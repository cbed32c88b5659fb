//! `--rollout manual`: routing is set outside (Temporal's Worker Controller, a CD pipeline
//! running `temporal worker deployment set-current-version`). The host polls under exactly
//! `--build-id`, never changes routing, and follows what the server routes for `/status`: its
//! generation is current, ramping or on standby. A new plugin set would need a new build ID,
//! which only a new host brings, so reloads are refused with that reason.

use super::events::{Event, FleetView};
use super::{Env, Rollout};
use crate::config::RolloutPolicy;
use crate::deployment;
use crate::fleet::plan::ServerRouting;
use std::time::Duration;

/// Longest wait for the server's routing at a tick.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn is_manual(env: &Env<'_>) -> bool {
    env.config.rollout == RolloutPolicy::Manual
}

/// The build polls: nothing to tell anyone (whoever routes watches the server), only to wait
/// until the server lists it for both task types, so that a `set-current-version` right after
/// the host reports ready succeeds.
pub(super) async fn polling(env: &Env<'_>, build_id: &str) -> Event {
    deployment::wait_registered(super::server::deployment_of(env), build_id, env.stop).await;
    Event::Accepted
}

impl Rollout {
    /// In manual mode, at every tick: what the server routes, for the machine to follow.
    pub(super) async fn follow_server(&mut self, env: &Env<'_>) {
        if !is_manual(env) {
            return;
        }
        let c = env.config;
        let read = deployment::routing(env.connection, &c.namespace, &c.deployment_name);
        let (ServerRouting { current, ramping }, _) =
            match tokio::time::timeout(READ_TIMEOUT, read).await {
                Ok(Ok(routing)) => routing,
                Ok(Err(s)) => {
                    tracing::debug!(error = %s, "reading the deployment's routing failed");
                    return;
                }
                Err(_) => return,
            };
        let view = FleetView {
            current,
            ramping,
            // Nothing is retired here: whoever routes also decides when a host goes away.
            retired: Vec::new(),
        };
        if let Err(e) = self.dispatch(env, Event::Fleet(view)).await {
            tracing::error!(error = %format!("{e:#}"), "following the deployment's routing failed");
        }
    }

    /// New files in manual mode: refused, saying why and what to do instead.
    pub(super) async fn refuse_manual_reload(&mut self, env: &Env<'_>) {
        let error = format!(
            "--rollout manual: this host serves build {} as long as it runs; new plugin files \
             need a new host with a new --build-id (whoever routes then makes it current)",
            env.config.build_id
        );
        if let Err(e) = self
            .dispatch(
                env,
                Event::Refused {
                    errors: vec![error],
                },
            )
            .await
        {
            tracing::error!(error = %format!("{e:#}"), "refusing a reload failed");
        }
    }
}
