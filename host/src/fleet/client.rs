//! Talking to a deployment's coordinator through the server: hosts report with
//! signal-with-start (so the first host to need it starts it), operators command with an
//! update, everyone reads the plan with a query. Nothing here goes through a host's HTTP port.

use super::coordinator::{
    CommandAnswer, CoordinatorInput, RolloutCoordinator, coordinator_id, coordinator_queue,
};
use super::plan::{Command, Plan, Report};
use anyhow::Context as _;
use temporalio_client::{
    Client, ClientOptions, Connection, WorkflowExecuteUpdateOptions, WorkflowQueryOptions,
    WorkflowStartOptions,
};

/// A handle on one deployment's coordinator.
#[derive(Clone)]
pub struct FleetClient {
    client: Client,
    deployment: String,
    task_queue: String,
}

impl FleetClient {
    /// For the coordinator of `deployment`, whose builds poll `task_queue`.
    pub fn new(
        connection: Connection,
        namespace: &str,
        deployment: &str,
        task_queue: &str,
    ) -> anyhow::Result<Self> {
        let client = Client::new(connection, ClientOptions::new(namespace).build())
            .context("a client for the rollout coordinator")?;
        Ok(FleetClient {
            client,
            deployment: deployment.to_string(),
            task_queue: task_queue.to_string(),
        })
    }

    /// The coordinator's workflow ID.
    pub fn workflow_id(&self) -> String {
        coordinator_id(&self.deployment)
    }

    /// Sends `report`, starting the coordinator if none runs.
    pub async fn report(&self, report: Report) -> anyhow::Result<()> {
        let input = CoordinatorInput {
            deployment: self.deployment.clone(),
            task_queue: self.task_queue.clone(),
            plan: Plan::default(),
        };
        let options = WorkflowStartOptions::new(
            coordinator_queue(&self.deployment),
            coordinator_id(&self.deployment),
        )
        .build();
        self.client
            .signal_with_start_workflow(
                RolloutCoordinator::run,
                input,
                RolloutCoordinator::report,
                report,
                options,
            )
            .await
            .map(|_| ())
            .with_context(|| {
                format!(
                    "reporting to the rollout coordinator {}",
                    self.workflow_id()
                )
            })
    }

    /// The coordinator's plan.
    pub async fn plan(&self) -> anyhow::Result<Plan> {
        self.client
            .get_workflow_handle::<RolloutCoordinator>(self.workflow_id())
            .query(
                RolloutCoordinator::plan,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .with_context(|| format!("asking the rollout coordinator {}", self.workflow_id()))
    }

    /// Sends an operator's command; the answer says whether it applies.
    pub async fn command(&self, command: Command) -> anyhow::Result<CommandAnswer> {
        self.client
            .get_workflow_handle::<RolloutCoordinator>(self.workflow_id())
            .execute_update(
                RolloutCoordinator::command,
                command,
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .with_context(|| format!("commanding the rollout coordinator {}", self.workflow_id()))
    }
}
