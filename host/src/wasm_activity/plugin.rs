//! An activity plugin, loaded: its exported functions as activity types, linked once, with its
//! network egress and the secrets it names checked.

use super::exports::ExportedFunction;
use crate::metrics::HostMetrics;
use crate::plugin_file::PluginFile;
use crate::runtime::Runtime;
use crate::runtime::activity_host::ActivityState;
use crate::runtime::outbound::{Egress, TlsError};
use crate::runtime::secrets::Secrets;
use std::sync::Arc;
use wasmtime::component::{Component, InstancePre};

/// Why an activity component (its exports fine) does not load.
#[derive(Debug, thiserror::Error)]
pub enum ActivityPluginError {
    /// It imports something the activity linker does not provide.
    #[error("imports something the host does not provide: {0:#}")]
    UnsatisfiedImports(wasmtime::Error),
    /// A `ca_files` entry is not usable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `env_from_host` names a secret the host does not have.
    #[error(
        "manifest env_from_host: the host has no secret {0} (set it in the host's environment or its --secrets-file)"
    )]
    MissingSecret(String),
}

/// A compiled, linked activity plugin; every attempt instantiates from it.
pub struct ActivityPlugin {
    /// The file, its digest and manifest.
    pub source: PluginFile,
    /// Its activity functions.
    pub functions: Vec<ExportedFunction>,
    pub(super) pre: InstancePre<ActivityState>,
    /// Its network grants, shared by its attempts.
    pub(super) egress: Arc<Egress>,
    /// Where its `env_from_host` values come from.
    pub(super) secrets: Arc<Secrets>,
    /// The host's bound on memory spent converting arguments.
    pub(super) conversions: Arc<crate::convert::ConversionBudget>,
    /// Instances kept between calls, when the manifest says `isolation = "reuse"`.
    pub(super) warm: Option<super::warm::WarmInstances>,
}

impl ActivityPlugin {
    /// What the component imports (interface names), for `wasm-worker check`.
    pub fn imports(&self) -> Vec<String> {
        crate::runtime::import_names(self.pre.component(), self.pre.engine())
    }

    /// Links `component`, whose exports were read as `functions`.
    pub fn new(
        runtime: &Runtime,
        source: PluginFile,
        component: &Component,
        functions: Vec<ExportedFunction>,
        metrics: &HostMetrics,
    ) -> Result<Self, ActivityPluginError> {
        let pre = runtime
            .activity_linker()
            .instantiate_pre(component)
            .map_err(ActivityPluginError::UnsatisfiedImports)?;
        let secrets = runtime.secrets().clone();
        if let Some(missing) = source
            .manifest
            .env_from_host
            .iter()
            .find(|name| secrets.get(name).is_none())
        {
            return Err(ActivityPluginError::MissingSecret(missing.clone()));
        }
        let egress = Arc::new(Egress::new(
            &source.file,
            &source.manifest.outbound,
            metrics,
        )?);
        let warm = (source.manifest.isolation == crate::manifest::Isolation::Reuse)
            .then(|| super::warm::WarmInstances::new(runtime.idle_slots().clone()));
        Ok(ActivityPlugin {
            source,
            functions,
            pre,
            egress,
            secrets,
            conversions: runtime.conversions().clone(),
            warm,
        })
    }
}
