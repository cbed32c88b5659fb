//! Fleet rollouts: one decision-maker per deployment. Every host reports its builds and their
//! outcomes to a coordinator that is itself a Temporal workflow (one per deployment, started by
//! whichever host needs it first), and only the coordinator changes the deployment's routing.
//!
//! [`plan`] decides (pure, unit-tested); [`policy`] is what a build's rollout asks for;
//! [`coordinator`] is the workflow that sequences the plan's ops; [`routing`] its activities;
//! [`worker`] runs both in every host; [`client`] is how hosts and operators reach it.

pub mod client;
pub mod coordinator;
pub mod plan;
pub mod policy;
pub mod routing;
pub mod worker;
