//! Fleet rollouts, the host's side: reports to the deployment's coordinator (a build polls,
//! its outcome counts, refused files, a drained build) and reads the coordinator's plan at
//! every tick for the machine to follow and for `/status`.

use super::events::{Event, FleetView};
use super::{Env, Rollout, publish};
use crate::fleet::client::FleetClient;
use crate::fleet::plan::{BuildState, Plan, Report, Tally};
use crate::outcomes::Counts;
use std::collections::HashMap;
use std::time::Duration;

/// Longest wait for a coordinator call at a tick: a slow server must not stall the supervisor.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What this host last told and heard from the coordinator.
pub(crate) struct FleetLink {
    client: FleetClient,
    /// This host's name in reports (the connection's identity, `pid@hostname`).
    host: String,
    /// Counts last sent per build: only changes are sent.
    sent: HashMap<String, Counts>,
    /// Builds reported again to a coordinator that lacked them, until its plan lists them.
    reregistered: std::collections::HashSet<String>,
    /// Whether refused files were reported (a clean load then clears them).
    refused_reported: bool,
    /// The plan last read, and the error of the last read if it failed.
    pub(crate) plan: Option<Plan>,
    pub(crate) error: Option<String>,
}

impl FleetLink {
    pub(crate) fn new(client: FleetClient, host: String) -> Self {
        FleetLink {
            client,
            host,
            sent: HashMap::new(),
            reregistered: std::collections::HashSet::new(),
            refused_reported: false,
            plan: None,
            error: None,
        }
    }

    /// The coordinator's workflow ID, for `/status`.
    pub(crate) fn coordinator(&self) -> String {
        self.client.workflow_id()
    }

    async fn send(&self, report: Report) -> anyhow::Result<()> {
        tokio::time::timeout(CALL_TIMEOUT, self.client.report(report))
            .await
            .map_err(|_| anyhow::anyhow!("the server did not answer within {CALL_TIMEOUT:?}"))?
    }

    /// Reports `build_id` polling once the server lists it for both task types.
    pub(crate) async fn announce(&self, env: &Env<'_>, build_id: &str) -> Event {
        let d = super::server::deployment_of(env);
        crate::deployment::wait_registered(d, build_id, env.stop).await;
        match self.register(env, build_id).await {
            Ok(()) => Event::Accepted,
            Err(e) => Event::RoutingFailed {
                error: format!("{e:#}"),
            },
        }
    }

    async fn register(&self, env: &Env<'_>, build_id: &str) -> anyhow::Result<()> {
        let report = Report::Registered {
            host: self.host.clone(),
            build_id: build_id.to_string(),
            policy: env.config.rollout.fleet_policy(env.config.gate.clone()),
        };
        self.send(report).await
    }

    /// Reports again, once, the builds this host serves that the plan just read does not
    /// know: a coordinator that started over (terminated, reset) learns what hosts run.
    /// `serving` is current first, then ramping, then standby — the order that becomes the
    /// order of first reports; draining builds are not reported (they are on their way out).
    async fn register_missing(&mut self, env: &Env<'_>, serving: Vec<String>) {
        let Some(plan) = &self.plan else {
            return;
        };
        let known = |b: &str| plan.builds.iter().any(|k| k.build_id == b);
        self.reregistered.retain(|b| !known(b));
        let missing: Vec<String> = serving
            .into_iter()
            .filter(|b| !known(b) && !self.reregistered.contains(b))
            .collect();
        for build_id in missing {
            match self.register(env, &build_id).await {
                Ok(()) => {
                    self.reregistered.insert(build_id);
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), build_id, "reporting a build to the rollout coordinator again failed");
                }
            }
        }
    }

    /// Reports refused files, or clears an earlier refusal after a clean load.
    pub(crate) async fn refused(&mut self, errors: Vec<String>) {
        if errors.is_empty() && !self.refused_reported {
            return;
        }
        let clearing = errors.is_empty();
        let report = Report::Refused {
            host: self.host.clone(),
            errors,
        };
        match self.send(report).await {
            Ok(()) => self.refused_reported = !clearing,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "reporting refused files to the rollout coordinator failed")
            }
        }
    }

    /// Reports that `build_id`'s generation stopped, drained or at the drain limit.
    pub(crate) async fn drained(&self, build_id: &str, at_limit: bool) {
        let report = Report::Drained {
            host: self.host.clone(),
            build_id: build_id.to_string(),
            at_limit,
        };
        if let Err(e) = self.send(report).await {
            tracing::warn!(error = %format!("{e:#}"), build_id, "reporting a drained build to the rollout coordinator failed");
        }
    }

    /// Sends the outcome counts that changed since the last tick, of the build the plan last
    /// read ramps (the only counts it judges).
    pub(crate) async fn counts(&mut self, counts: Vec<(String, Counts)>) {
        let ramping = self
            .plan
            .as_ref()
            .and_then(|p| p.ramp.as_ref())
            .map(|r| r.build_id.clone());
        for (build_id, c) in counts {
            if ramping.as_ref() != Some(&build_id)
                || self.sent.get(&build_id) == Some(&c)
                || c == Counts::default()
            {
                continue;
            }
            let report = Report::Counts {
                host: self.host.clone(),
                build_id: build_id.clone(),
                counts: Tally {
                    runs_completed: c.runs_completed,
                    succeeded: c.succeeded,
                    failed: c.failed,
                },
            };
            match self.send(report).await {
                Ok(()) => {
                    self.sent.insert(build_id, c);
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "reporting outcomes to the rollout coordinator failed");
                    return;
                }
            }
        }
    }

    /// Reads the coordinator's plan; the routing it gives this host's builds, if read.
    pub(crate) async fn read(&mut self) -> Option<FleetView> {
        let answer = tokio::time::timeout(CALL_TIMEOUT, self.client.plan()).await;
        match answer {
            Ok(Ok(plan)) => {
                let view = view(&plan);
                self.plan = Some(plan);
                self.error = None;
                Some(view)
            }
            Ok(Err(e)) => {
                self.error = Some(format!("{e:#}"));
                None
            }
            Err(_) => {
                self.error = Some(format!(
                    "the coordinator did not answer within {CALL_TIMEOUT:?}"
                ));
                None
            }
        }
    }
}

impl Rollout {
    /// In a fleet, at every tick: reports the outcome counts that changed, reads the
    /// coordinator's plan and follows it; `/status` shows the plan as last read.
    pub(super) async fn follow_fleet(&mut self, env: &Env<'_>) {
        let Some(link) = &mut self.fleet else {
            return;
        };
        let counts = self
            .generations
            .iter()
            .map(|(b, g)| (b.clone(), g.outcomes.read()))
            .collect();
        link.counts(counts).await;
        let view = link.read().await;
        if view.is_some() {
            let m = &self.machine;
            let serving = (m.current().into_iter())
                .chain(m.ramping().map(|(b, _)| b))
                .chain(m.standby().iter().map(String::as_str))
                .map(str::to_string)
                .collect();
            link.register_missing(env, serving).await;
        }
        if let Some(view) = view
            && let Err(e) = self.dispatch(env, Event::Fleet(view)).await
        {
            tracing::error!(error = %format!("{e:#}"), "following the rollout coordinator failed");
        }
        publish::publish(self, env);
    }
}

/// What a host follows of the plan.
fn view(plan: &Plan) -> FleetView {
    FleetView {
        current: plan.current.clone(),
        ramping: plan.ramp.as_ref().map(|r| (r.build_id.clone(), r.percent)),
        retired: plan
            .builds
            .iter()
            .filter(|b| {
                matches!(
                    b.state,
                    BuildState::Superseded | BuildState::Stale | BuildState::RolledBack { .. }
                )
            })
            .map(|b| b.build_id.clone())
            .collect(),
    }
}
