//! The plugins folder: every `*.wasm` loaded, validated and compiled; bad files refused one by
//! one with the file and the reason while the rest load.

mod error;
mod imports;
mod loader;

pub use error::{LoadError, Refusal};
pub use imports::ImportWarning;

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
    /// WIT-typed workflow imports no activity plugin of the set exports with the same types.
    pub import_warnings: Vec<ImportWarning>,
}

impl PluginSet {
    /// Loads every `*.wasm` in `dir` (not recursively), in file-name order. Blocking (it
    /// compiles and instantiates): call it from `spawn_blocking`, not from an async task. A type
    /// exported by two files is refused in both, each naming the other.
    pub fn load(runtime: &Runtime, dir: &Path, metrics: &HostMetrics) -> PluginSet {
        match wasm_files(dir) {
            Ok(files) => Self::load_files(runtime, dir, &files, metrics),
            Err(e) => PluginSet {
                errors: vec![LoadError {
                    file: dir.display().to_string(),
                    reason: Refusal::Unlistable(e),
                }],
                ..PluginSet::default()
            },
        }
    }

    /// [`Self::load`] for the given files of `dir` only (what `wasm-worker check` asks about),
    /// with the same cross-file checks among them.
    pub fn load_files(
        runtime: &Runtime,
        dir: &Path,
        files: &[PathBuf],
        metrics: &HostMetrics,
    ) -> PluginSet {
        let mut set = PluginSet::default();
        let loaded: Vec<(String, std::time::Instant, Result<Loaded, Refusal>)> = files
            .iter()
            .map(|path| {
                let started = std::time::Instant::now();
                let result = loader::load(runtime, path, dir, metrics);
                (file_name(path), started, result)
            })
            .collect();
        // A type two files export is refused in both, whatever their names or which ran
        // before: the same files give the same answer at start-up and on every reload.
        let mut activity_owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut workflow_owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (file, _, result) in &loaded {
            match result {
                Ok(Loaded::Activities(p)) => p.functions.iter().for_each(|f| {
                    activity_owners
                        .entry(&f.activity_type)
                        .or_default()
                        .push(file)
                }),
                Ok(Loaded::Workflows(w)) => w.definitions.iter().for_each(|d| {
                    workflow_owners
                        .entry(&d.workflow_type)
                        .or_default()
                        .push(file)
                }),
                Err(_) => {}
            }
        }
        let others = |owners: &BTreeMap<&str, Vec<&str>>, ty: &str, file: &str| {
            owners
                .get(ty)
                .map(|files| {
                    files
                        .iter()
                        .filter(|f| **f != file)
                        .copied()
                        .collect::<Vec<_>>()
                })
                .filter(|o| !o.is_empty())
                .map(|o| o.join(", "))
        };
        let conflicts: Vec<Option<Refusal>> = loaded
            .iter()
            .map(|(file, _, result)| match result {
                Ok(Loaded::Activities(p)) => p.functions.iter().find_map(|f| {
                    others(&activity_owners, &f.activity_type, file).map(|other| {
                        Refusal::DuplicateActivity {
                            activity_type: f.activity_type.clone(),
                            other,
                        }
                    })
                }),
                Ok(Loaded::Workflows(w)) => w.definitions.iter().find_map(|d| {
                    others(&workflow_owners, &d.workflow_type, file).map(|other| {
                        Refusal::DuplicateWorkflow {
                            workflow_type: d.workflow_type.clone(),
                            other,
                        }
                    })
                }),
                Err(_) => None,
            })
            .collect();
        for ((file, started, result), conflict) in loaded.into_iter().zip(conflicts) {
            let result = match conflict {
                Some(refusal) => Err(refusal),
                None => result,
            };
            match result {
                Ok(Loaded::Workflows(w)) => {
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
        set.import_warnings = imports::check(&set.workflows, &set.plugins);
        for w in &set.import_warnings {
            tracing::warn!(plugin = %w.file, "{}", w.message);
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
