//! The plugins folder: every `*.wasm` loaded, validated and compiled; bad files refused one by
//! one with the file and the reason while the rest load.

mod error;
mod loader;

pub use error::{LoadError, Refusal};

use crate::metrics::HostMetrics;
use crate::runtime::Runtime;
use crate::wasm_activity::ActivityPlugin;
use crate::wasm_workflow::WorkflowPlugin;
use loader::{Loaded, file_name};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The loaded plugins of one folder scan.
#[derive(Default)]
pub struct PluginSet {
    /// Loaded activity plugins, by file name order.
    pub plugins: Vec<Arc<ActivityPlugin>>,
    /// Loaded workflow plugins, by file name order.
    pub workflows: Vec<Arc<WorkflowPlugin>>,
    /// Refused files.
    pub errors: Vec<LoadError>,
}

impl PluginSet {
    /// Loads every `*.wasm` in `dir` (not recursively), in file-name order. Blocking (it
    /// compiles and instantiates): call it from `spawn_blocking`, not from an async task. A type exported by
    /// two files is refused in the later file, naming both.
    pub fn load(runtime: &Runtime, dir: &Path, metrics: &HostMetrics) -> PluginSet {
        let mut set = PluginSet::default();
        let files = match wasm_files(dir) {
            Ok(f) => f,
            Err(e) => {
                set.errors.push(LoadError {
                    file: dir.display().to_string(),
                    reason: Refusal::Unlistable(e),
                });
                return set;
            }
        };
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        let mut workflow_owners: BTreeMap<String, String> = BTreeMap::new();
        for path in files {
            let file = file_name(&path);
            let started = std::time::Instant::now();
            let result =
                loader::load(runtime, &path, dir, metrics).and_then(|loaded| match loaded {
                    Loaded::Activities(p) => {
                        match p
                            .functions
                            .iter()
                            .find_map(|f| owners.get(&f.activity_type).map(|o| (f, o)))
                        {
                            Some((f, other)) => Err(Refusal::DuplicateActivity {
                                activity_type: f.activity_type.clone(),
                                other: other.clone(),
                            }),
                            None => Ok(Loaded::Activities(p)),
                        }
                    }
                    Loaded::Workflows(w) => {
                        match w
                            .definitions
                            .iter()
                            .find_map(|d| workflow_owners.get(&d.workflow_type).map(|o| (d, o)))
                        {
                            Some((d, other)) => Err(Refusal::DuplicateWorkflow {
                                workflow_type: d.workflow_type.clone(),
                                other: other.clone(),
                            }),
                            None => Ok(Loaded::Workflows(w)),
                        }
                    }
                });
            match result {
                Ok(Loaded::Workflows(w)) => {
                    for d in &w.definitions {
                        workflow_owners.insert(d.workflow_type.clone(), file.clone());
                    }
                    tracing::info!(
                        plugin = %file,
                        digest = %w.source.short_digest(),
                        load_ms = started.elapsed().as_millis(),
                        workflows = %w.definitions.iter().map(|d| d.workflow_type.as_str()).collect::<Vec<_>>().join(", "),
                        "workflow plugin loaded"
                    );
                    set.workflows.push(Arc::new(w));
                }
                Ok(Loaded::Activities(plugin)) => {
                    for f in &plugin.functions {
                        owners.insert(f.activity_type.clone(), file.clone());
                    }
                    tracing::info!(
                        plugin = %file,
                        digest = %plugin.source.short_digest(),
                        load_ms = started.elapsed().as_millis(),
                        activities = %plugin.functions.iter().map(|f| f.activity_type.as_str()).collect::<Vec<_>>().join(", "),
                        "plugin loaded"
                    );
                    set.plugins.push(Arc::new(plugin));
                }
                Err(reason) => {
                    metrics
                        .plugin_load_failures
                        .with_label_values(&[&file])
                        .inc();
                    let error = LoadError { file, reason };
                    tracing::error!("{error}");
                    set.errors.push(error);
                }
            }
        }
        metrics
            .plugins_loaded
            .set(i64::try_from(set.plugins.len() + set.workflows.len()).unwrap_or(i64::MAX));
        set
    }
}

fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    files.sort();
    Ok(files)
}
