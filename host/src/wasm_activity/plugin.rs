//! An activity plugin, loaded: its exported functions as activity types, linked once.

use super::exports::ExportedFunction;
use crate::plugin_file::PluginFile;
use crate::runtime::Runtime;
use crate::runtime::activity_host::ActivityState;
use wasmtime::component::{Component, InstancePre};

/// Linking failed: the component imports something the activity linker does not provide.
#[derive(Debug, thiserror::Error)]
#[error("imports something the host does not provide: {0:#}")]
pub struct UnsatisfiedImports(wasmtime::Error);

/// A compiled, linked activity plugin; every attempt instantiates from it.
pub struct ActivityPlugin {
    /// The file, its digest and manifest.
    pub source: PluginFile,
    /// Its activity functions.
    pub functions: Vec<ExportedFunction>,
    pub(super) pre: InstancePre<ActivityState>,
}

impl ActivityPlugin {
    /// Links `component`, whose exports were read as `functions`.
    pub fn new(
        runtime: &Runtime,
        source: PluginFile,
        component: &Component,
        functions: Vec<ExportedFunction>,
    ) -> Result<Self, UnsatisfiedImports> {
        let pre = runtime
            .activity_linker()
            .instantiate_pre(component)
            .map_err(UnsatisfiedImports)?;
        Ok(ActivityPlugin {
            source,
            functions,
            pre,
        })
    }
}
