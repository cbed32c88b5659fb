//! A generation: one plugin set under one build ID, and the core worker that polls for it.

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::metrics::HostMetrics;
use crate::outcomes::Outcomes;
use crate::plugins::PluginSet;
use crate::status::{GenerationState, GenerationStatus, PluginStatus};
use crate::wasm_workflow::Workflows;
use crate::worker::PollingWorker;
use std::sync::Arc;
use std::time::Instant;
use temporalio_client::Connection;
use temporalio_sdk_core::CoreRuntime;

/// A loaded plugin set, ready to poll.
pub struct Prepared {
    /// Content-derived: prefix + hash of the plugin files.
    pub build_id: String,
    activities: ActivityRegistry,
    workflows: Arc<Workflows>,
    outcomes: Arc<Outcomes>,
    plugins: Vec<PluginStatus>,
}

impl Prepared {
    /// Registers `set`'s plugins (on top of the host's native activities).
    pub fn new(
        set: &PluginSet,
        native: &ActivityRegistry,
        config: &Config,
        metrics: &HostMetrics,
    ) -> Self {
        let mut activities = native.clone();
        crate::wasm_activity::register(set, &mut activities, metrics);
        let outcomes = Arc::new(Outcomes::default());
        let workflows = Arc::new(Workflows::new(
            &set.workflows,
            &config.namespace,
            &config.task_queue,
            config.default_versioning,
            outcomes.clone(),
            metrics,
        ));
        // A plugin's identity is its code and its manifest (which grants and limits it).
        let identity =
            |digest: &str, manifest: &crate::plugins::manifest::Manifest| match &manifest.sha256 {
                Some(m) => format!("{digest}+{m}"),
                None => digest.to_string(),
            };
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut plugins = Vec::new();
        for p in &set.plugins {
            pairs.push((&p.file, identity(&p.digest, &p.manifest)));
            plugins.push(PluginStatus {
                file: p.file.clone(),
                digest: p.digest.clone(),
                kind: "activities",
                types: p
                    .functions
                    .iter()
                    .map(|f| format!("{}: {}", f.activity_type, f.signature()))
                    .collect(),
            });
        }
        for w in &set.workflows {
            pairs.push((&w.file, identity(&w.digest, &w.manifest)));
            plugins.push(PluginStatus {
                file: w.file.clone(),
                digest: w.digest.clone(),
                kind: "workflows",
                types: w
                    .definitions
                    .iter()
                    .map(|d| {
                        let behavior = w.versioning(&d.workflow_type, config.default_versioning);
                        format!("{} ({})", d.workflow_type, behavior.as_str())
                    })
                    .collect(),
            });
        }
        plugins.sort_by(|a, b| a.file.cmp(&b.file));
        Prepared {
            build_id: {
                let pairs: Vec<(&str, &str)> =
                    pairs.iter().map(|(f, d)| (*f, d.as_str())).collect();
                crate::build_id::build_id(&config.build_id, &pairs)
            },
            activities,
            workflows,
            outcomes,
            plugins,
        }
    }
}

/// A generation whose worker polls.
pub struct Generation {
    /// Its build ID.
    pub build_id: String,
    /// Its plugins, for `/status`.
    pub plugins: Vec<PluginStatus>,
    /// Set when it stopped being current.
    pub draining_since: Option<Instant>,
    /// What its work came to, for the ramp.
    pub outcomes: Arc<Outcomes>,
    worker: PollingWorker,
}

impl Generation {
    /// Starts polling under `prepared.build_id`.
    pub async fn start(
        prepared: Prepared,
        runtime: &CoreRuntime,
        connection: Connection,
        config: &Config,
        metrics: &HostMetrics,
    ) -> anyhow::Result<Self> {
        let worker = PollingWorker::start(
            runtime,
            connection,
            config,
            &prepared.build_id,
            crate::worker::Served {
                activities: prepared.activities,
                workflows: prepared.workflows,
                outcomes: prepared.outcomes.clone(),
            },
            metrics,
        )
        .await?;
        Ok(Generation {
            build_id: prepared.build_id,
            plugins: prepared.plugins,
            draining_since: None,
            outcomes: prepared.outcomes,
            worker,
        })
    }

    /// True when its poll loops ended on their own.
    pub fn has_stopped(&self) -> bool {
        self.worker.has_stopped()
    }

    /// `/status` view.
    pub fn status(&self, state: GenerationState) -> GenerationStatus {
        GenerationStatus {
            build_id: self.build_id.clone(),
            state,
            ramp_percent: None,
            plugins: self.plugins.clone(),
        }
    }

    /// Stops polling gracefully.
    pub async fn shutdown(self) {
        self.worker.shutdown().await;
    }
}
