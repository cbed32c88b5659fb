//! A workflow plugin, loaded: a component on Temporal's `workflow-runtime` ABI or a WIT-typed
//! one (`wit/workflow/`), linked once, and the workflow types it exports.

use super::ACTIVATION_BUDGET;
use super::wit::{ActivityImport, WitPlugin};
use crate::config::Versioning;
use crate::manifest::Manifest;
use crate::plugin_file::PluginFile;
use crate::runtime::Runtime;
use crate::runtime::limits;
use crate::runtime::workflow_host::WorkflowState;
use crate::runtime::workflow_host::bindings::WorkflowModulePre;
use crate::wasm_activity::exports::ExportedFunction;
use std::time::Duration;
use wasmtime::component::Component;

/// Why a workflow component does not load.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowPluginError {
    /// It imports something the workflow linker does not provide (real WASI, say).
    #[error("a workflow component that imports something the host does not provide: {0:#}")]
    UnsatisfiedImports(wasmtime::Error),
    /// Its exports do not match the `workflow-runtime` world.
    #[error("does not match the workflow-runtime world: {0:#}")]
    WorldMismatch(wasmtime::Error),
    /// `list-workflows` looped or blocked.
    #[error("list-workflows did not return within {0:?}")]
    ListTimeout(Duration),
    /// `list-workflows` trapped.
    #[error("list-workflows trapped: {0:#}")]
    ListTrapped(wasmtime::Error),
    /// It says it exports no workflow type.
    #[error("a workflow component that exports no workflows")]
    NoWorkflows,
    /// The manifest places a workflow type the plugin does not export (a typo would otherwise
    /// silently leave that type on the default).
    #[error(
        "manifest versioning_by_type.{workflow_type}: the plugin exports no workflow type `{workflow_type}` (it exports {exported})"
    )]
    UnknownVersioningType {
        /// The type named in the manifest.
        workflow_type: String,
        /// The types it does export, comma-separated.
        exported: String,
    },
    /// The manifest sets activity defaults for an interface the plugin does not import.
    #[error(
        "manifest activity_defaults.\"{interface}\": the plugin calls no activity of that interface (it imports {imported})"
    )]
    UnknownDefaultsInterface {
        /// The interface named in the manifest.
        interface: String,
        /// The activity interfaces it does import, comma-separated.
        imported: String,
    },
}

/// A workflow type a plugin exports, as `list-workflows` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowDefinition {
    /// The Temporal workflow type.
    pub workflow_type: String,
    /// Signal names.
    pub signals: Vec<String>,
    /// Query names.
    pub queries: Vec<String>,
    /// Update names.
    pub updates: Vec<String>,
}

/// A compiled, linked workflow plugin.
pub struct WorkflowPlugin {
    /// The file, its digest and manifest.
    pub source: PluginFile,
    /// The workflow types it exports.
    pub definitions: Vec<WorkflowDefinition>,
    pub(super) kind: Kind,
}

/// Which of the two workflow ABIs the plugin is built on.
pub(super) enum Kind {
    /// Temporal's `workflow-runtime` (protobuf activations, the official Rust workflow crate).
    Abi(WorkflowModulePre<WorkflowState>),
    /// Plain exported functions on the `wasm-worker:workflow` contract.
    Wit(WitPlugin),
}

impl WorkflowPlugin {
    /// How `workflow_type` moves between builds: its manifest entry, else the manifest's
    /// plugin-wide setting, else `default`.
    pub fn versioning(&self, workflow_type: &str, default: Versioning) -> Versioning {
        let manifest = &self.source.manifest;
        manifest
            .versioning_by_type
            .get(workflow_type)
            .copied()
            .or(manifest.versioning)
            .unwrap_or(default)
    }

    /// What the component imports (interface names), for `wasm-worker check`.
    pub fn imports(&self) -> Vec<String> {
        match &self.kind {
            Kind::Abi(pre) => {
                let pre = pre.instance_pre();
                crate::runtime::import_names(pre.component(), pre.engine())
            }
            Kind::Wit(w) => crate::runtime::import_names(w.pre.component(), w.pre.engine()),
        }
    }

    /// True for a WIT-typed workflow (plain exported functions), false on Temporal's ABI.
    pub fn is_wit_typed(&self) -> bool {
        matches!(self.kind, Kind::Wit(_))
    }

    /// The activities a WIT-typed workflow imports (none for the `workflow-runtime` ABI).
    pub fn activity_imports(&self) -> &[ActivityImport] {
        match &self.kind {
            Kind::Abi(_) => &[],
            Kind::Wit(w) => &w.imports,
        }
    }

    /// Links a WIT-typed workflow `component` whose exported `functions` are its workflow
    /// types.
    pub(crate) fn new_wit(
        runtime: &Runtime,
        source: PluginFile,
        component: &Component,
        functions: Vec<ExportedFunction>,
    ) -> Result<Self, WorkflowPluginError> {
        let mut definitions = functions
            .iter()
            .map(|f| WorkflowDefinition {
                workflow_type: f.activity_type.clone(),
                signals: Vec::new(),
                queries: Vec::new(),
                updates: Vec::new(),
            })
            .collect::<Vec<_>>();
        check_versioning_types(&source.manifest, &definitions)?;
        let defaults = &source.manifest.activity_defaults;
        let wit = WitPlugin::new(runtime.engine(), component, functions, defaults)
            .map_err(WorkflowPluginError::UnsatisfiedImports)?;
        // A typo in an interface name must not silently leave its calls on the defaults.
        for interface in defaults.keys() {
            if !wit.imports.iter().any(|i| &i.interface == interface) {
                let mut imported: Vec<&str> =
                    wit.imports.iter().map(|i| i.interface.as_str()).collect();
                imported.dedup();
                return Err(WorkflowPluginError::UnknownDefaultsInterface {
                    interface: interface.clone(),
                    imported: if imported.is_empty() {
                        "none".into()
                    } else {
                        imported.join(", ")
                    },
                });
            }
        }
        // Its typed signals are declared once for all its workflow types.
        for d in &mut definitions {
            d.signals = wit.signals.iter().map(|s| s.signal.clone()).collect();
        }
        Ok(WorkflowPlugin {
            source,
            definitions,
            kind: Kind::Wit(wit),
        })
    }

    /// Links `component` and asks it which workflows it exports.
    pub fn new(
        runtime: &Runtime,
        source: PluginFile,
        component: &Component,
    ) -> Result<Self, WorkflowPluginError> {
        let manifest = &source.manifest;
        let pre = runtime
            .workflow_linker()
            .instantiate_pre(component)
            .map_err(WorkflowPluginError::UnsatisfiedImports)?;
        let pre = WorkflowModulePre::new(pre).map_err(WorkflowPluginError::WorldMismatch)?;
        let definitions = wasmtime_wasi::runtime::in_tokio(list_workflows(&pre, manifest))?;
        if definitions.is_empty() {
            return Err(WorkflowPluginError::NoWorkflows);
        }
        check_versioning_types(manifest, &definitions)?;
        Ok(WorkflowPlugin {
            source,
            definitions,
            kind: Kind::Abi(pre),
        })
    }
}

/// A typo in a type name must not silently leave that type on the default.
fn check_versioning_types(
    manifest: &Manifest,
    definitions: &[WorkflowDefinition],
) -> Result<(), WorkflowPluginError> {
    for ty in manifest.versioning_by_type.keys() {
        if !definitions.iter().any(|d| &d.workflow_type == ty) {
            let exported: Vec<&str> = definitions
                .iter()
                .map(|d| d.workflow_type.as_str())
                .collect();
            return Err(WorkflowPluginError::UnknownVersioningType {
                workflow_type: ty.clone(),
                exported: exported.join(", "),
            });
        }
    }
    Ok(())
}

async fn list_workflows(
    pre: &WorkflowModulePre<WorkflowState>,
    manifest: &Manifest,
) -> Result<Vec<WorkflowDefinition>, WorkflowPluginError> {
    let mut store = limits::store(pre.engine(), WorkflowState::new(0, manifest.memory_limit));
    let work = async {
        let module = pre.instantiate_async(&mut store).await?;
        module
            .temporal_workflow_runtime_workflow_guest()
            .call_list_workflows(&mut store)
            .await
    };
    let defs = tokio::time::timeout(ACTIVATION_BUDGET, work)
        .await
        .map_err(|_| WorkflowPluginError::ListTimeout(ACTIVATION_BUDGET))?
        .map_err(WorkflowPluginError::ListTrapped)?;
    Ok(defs
        .into_iter()
        .map(|d| WorkflowDefinition {
            workflow_type: d.workflow_type,
            signals: d.signals,
            queries: d.queries,
            updates: d.updates.into_iter().map(|u| u.name).collect(),
        })
        .collect())
}
