//! Integration tests of the `wasm-worker` host against a real Temporal dev server.
//!
//! One binary (faster to link than many) made of one module per area. Every test gets its own
//! task queue and deployment name on the shared dev server.

// Helpers are `pub` so modules can share them; the crate has no public API to protect.
#![allow(unreachable_pub)]

mod activities;
mod check;
mod common;
mod config_errors;
mod conformance;
mod connect;
mod dashboard;
mod dev_mode;
mod examples;
mod fleet;
mod fulfilment;
mod fuzz;
mod hostile;
mod hostile_bounds;
mod hostile_sizes;
mod hot_swap;
mod install;
mod lifecycle;
mod new_plugin;
mod otlp;
mod outbound;
mod plugin_loading;
mod polyglot;
mod profile;
mod ramp;
mod wit_versions;
mod wit_workflows;
mod workflows;
