//! A generation: one plugin set under one build ID, and the core worker that polls for it.

use crate::activity::ActivityRegistry;
use crate::config::Config;
use crate::metrics::HostMetrics;
use crate::outcomes::{CurrentTypes, Outcomes};
use crate::plugin_file::PluginFile;
use crate::plugins::PluginSet;
use crate::status::{GenerationState, GenerationStatus, PluginStatus};
use crate::wasm_activity::WasmActivity;
use crate::wasm_workflow::{RunBudget, Workflows};
use crate::worker::PollingWorker;
use std::sync::Arc;
use temporalio_client::Connection;
use temporalio_sdk_core::CoreRuntime;

/// A loaded plugin set, ready to poll.
pub(crate) struct Prepared {
    /// Content-derived: prefix + hash of the plugin files.
    pub build_id: String,
    activities: ActivityRegistry,
    workflows: Arc<Workflows>,
    outcomes: Arc<Outcomes>,
    plugins: Vec<PluginStatus>,
    types: ServedTypes,
}

/// The workflow and activity types a generation serves.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServedTypes {
    pub(crate) workflows: Vec<String>,
    pub(crate) activities: Vec<String>,
}

impl Prepared {
    /// Registers `set`'s plugins (on top of the host's native activities).
    pub(crate) fn new(
        set: &PluginSet,
        native: &ActivityRegistry,
        config: &Config,
        metrics: &HostMetrics,
        current: &Arc<CurrentTypes>,
        budget: &Arc<RunBudget>,
    ) -> Self {
        let mut activities = native.clone();
        register_activities(set, &mut activities, metrics);
        let outcomes = Arc::new(Outcomes::new(current.clone()));
        let workflows = Arc::new(Workflows::new(
            &set.workflows,
            &config.namespace,
            &config.task_queue,
            config.default_versioning,
            metrics,
            budget,
        ));
        let status = |source: &PluginFile, kind, types| PluginStatus {
            file: source.file.clone(),
            digest: source.digest.clone(),
            kind,
            types,
            imports: Vec::new(),
            warnings: set
                .import_warnings
                .iter()
                .filter(|w| w.file == source.file)
                .map(|w| w.message.clone())
                .collect(),
        };
        let mut sources: Vec<&PluginFile> = Vec::new();
        let mut plugins = Vec::new();
        for p in &set.plugins {
            sources.push(&p.source);
            let types = p
                .functions
                .iter()
                .map(|f| format!("{}: {}", f.activity_type, f.signature()))
                .collect();
            plugins.push(status(&p.source, "activities", types));
        }
        for w in &set.workflows {
            sources.push(&w.source);
            let types = w
                .definitions
                .iter()
                .map(|d| {
                    let behavior = w.versioning(&d.workflow_type, config.default_versioning);
                    format!("{} ({})", d.workflow_type, behavior.as_str())
                })
                .collect();
            let mut plugin = status(&w.source, "workflows", types);
            plugin.imports = w
                .activity_imports()
                .iter()
                .map(|i| format!("{}: {}", i.activity_type, i.signature))
                .collect();
            plugins.push(plugin);
        }
        plugins.sort_by(|a, b| a.file.cmp(&b.file));
        let types = ServedTypes {
            workflows: workflows.types(),
            activities: activities.names().into_iter().map(str::to_string).collect(),
        };
        Prepared {
            types,
            build_id: {
                let identities: Vec<String> = sources.iter().map(|s| s.identity()).collect();
                let pairs: Vec<(&str, &str)> = sources
                    .iter()
                    .zip(&identities)
                    .map(|(s, id)| (s.file.as_str(), id.as_str()))
                    .collect();
                if config.rollout == crate::config::RolloutPolicy::Manual {
                    // Routing is set outside, by this exact build ID.
                    config.build_id.clone()
                } else {
                    crate::build_id::build_id(&config.build_id, &pairs)
                }
            },
            activities,
            workflows,
            outcomes,
            plugins,
        }
    }
}

/// Registers every function of every activity plugin in `set` into `registry`, each as the
/// activity type its plugin names it.
pub fn register_activities(
    set: &PluginSet,
    registry: &mut ActivityRegistry,
    metrics: &HostMetrics,
) {
    for plugin in &set.plugins {
        for (activity_type, activity) in WasmActivity::all(plugin, metrics) {
            registry.insert(activity_type, Arc::new(activity));
        }
    }
}

/// A generation whose worker polls.
pub(crate) struct Generation {
    /// Its build ID.
    pub build_id: String,
    /// Its plugins, for `/status`.
    pub plugins: Vec<PluginStatus>,
    /// What its work came to, for the ramp.
    pub outcomes: Arc<Outcomes>,
    /// The types it serves.
    pub types: ServedTypes,
    worker: PollingWorker,
}

impl Generation {
    /// Starts polling under `prepared.build_id`.
    pub(crate) async fn start(
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
            outcomes: prepared.outcomes,
            types: prepared.types,
            worker,
        })
    }

    /// True when its poll loops ended on their own.
    pub(crate) fn has_stopped(&self) -> bool {
        self.worker.has_stopped()
    }

    /// `/status` view.
    pub(crate) fn status(&self, state: GenerationState) -> GenerationStatus {
        GenerationStatus {
            build_id: self.build_id.clone(),
            state,
            ramp_percent: None,
            plugins: self.plugins.clone(),
        }
    }

    /// Stops polling gracefully.
    pub(crate) async fn shutdown(self) {
        self.worker.shutdown().await;
    }
}
