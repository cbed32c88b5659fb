//! The runtime layer under both plugin kinds: one engine, one linker per kind of store, the
//! compile caches (memory and disk), the epoch ticker, guest-output capture and the memory
//! limiter. Activities and workflows build on it; it knows neither executor.
//!
//! What a store of each kind holds, and the host imports linked for it, live here too
//! ([`activity_host`], [`workflow_host`]): a linker is typed by its store, so whoever owns the
//! linkers owns the store types.

pub mod activity_host;
pub mod idle_slots;
pub mod limits;
pub mod outbound;
pub mod output;
pub mod secrets;
mod ticker;
pub mod workflow_host;

use crate::compile_cache::{CompileCache, Source};
use crate::engine::{PoolSize, plugin_engine};
use crate::incremental_cache::DiskCacheStore;
use crate::metrics::HostMetrics;
use activity_host::ActivityState;
use secrets::Secrets;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use ticker::EpochTicker;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use workflow_host::WorkflowState;

/// The engine, one linker per plugin kind, the compile caches and the epoch ticker; alive
/// while the host runs.
pub struct Runtime {
    engine: Engine,
    /// Compiled components by SHA-256 of their bytes: a swap compiles only what changed, and
    /// a revert compiles nothing.
    compiled: Mutex<HashMap<String, Component>>,
    /// The same, on disk: restarts skip compilation too.
    disk: Option<CompileCache>,
    cache_lookups: prometheus::IntCounterVec,
    activity_linker: Linker<ActivityState>,
    workflow_linker: Linker<WorkflowState>,
    /// The secrets plugins name in `env_from_host`.
    secrets: Arc<Secrets>,
    /// What folders manifests may grant.
    grants: crate::manifest::GrantPolicy,
    /// Cranelift's per-function cache, when the compile cache is on.
    incremental: Option<Arc<DiskCacheStore>>,
    /// Memory all activity attempts may spend converting arguments at once.
    conversions: Arc<crate::convert::ConversionBudget>,
    /// Activity instances kept idle (`isolation = "reuse"`), all plugins together.
    idle_slots: idle_slots::IdleSlots,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine and links, once: for activities WASI preview 2, `wasi:http` and the
    /// plugin contract; for workflows `workflow-host` and the deterministic WASI stand-ins.
    /// Compiled components persist in `cache_dir` when given; a folder that cannot be created
    /// only costs time, so it is logged, not fatal.
    pub fn new(
        pool: PoolSize,
        metrics: &HostMetrics,
        cache_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        // Cranelift's per-function cache lives beside the compile cache (and is off with it).
        let incremental = cache_dir.and_then(|dir| {
            let dir = dir.join("incremental");
            DiskCacheStore::open(&dir)
                .inspect_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "incremental compilation cache unavailable"))
                .ok()
                .map(Arc::new)
        });
        let engine = plugin_engine(
            pool,
            incremental
                .clone()
                .map(|s| s as Arc<dyn wasmtime::CacheStore>),
        )?;
        let activity_linker = activity_host::linker(&engine)?;
        let workflow_linker = workflow_host::linker(&engine)?;
        let ticker = EpochTicker::start(&engine)?;
        let disk = cache_dir.and_then(|dir| match CompileCache::open(dir, &engine) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "compile cache unavailable; plugins compile on every start");
                None
            }
        });
        match &disk {
            Some(d) => tracing::info!(dir = %d.dir().display(), "compile cache"),
            None => tracing::info!("compile cache off: plugins compile on every start"),
        }
        Ok(Runtime {
            engine,
            compiled: Mutex::default(),
            disk,
            cache_lookups: metrics.compile_cache.clone(),
            activity_linker,
            workflow_linker,
            secrets: Arc::new(Secrets::default()),
            grants: crate::manifest::GrantPolicy::default(),
            incremental,
            conversions: Arc::new(crate::convert::ConversionBudget::new(512 << 20)),
            // The pool holds two instances per concurrent activity; idle instances may use
            // half of that headroom, so attempts that overlap (a retry starting while the
            // last attempt is torn down, two generations during a swap) still find slots.
            idle_slots: idle_slots::IdleSlots::new(pool.activities.div_ceil(2)),
            _ticker: ticker,
        })
    }

    /// The compiled component for `bytes` (whose SHA-256 is `digest`): from memory, else from
    /// the disk cache, else compiled (and then stored in both).
    pub fn component(&self, digest: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let started = std::time::Instant::now();
        let (component, source) = self.lookup_or_compile(digest, bytes)?;
        self.cache_lookups
            .with_label_values(&[source.label()])
            .inc();
        tracing::debug!(
            digest = &digest[..digest.len().min(12)],
            source = source.label(),
            ms = started.elapsed().as_millis() as u64,
            "component ready"
        );
        Ok(component)
    }

    fn lookup_or_compile(
        &self,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Source)> {
        let cached = self
            .compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
            .cloned();
        if let Some(c) = cached {
            return Ok((c, Source::Memory));
        }
        let (component, source) = match self
            .disk
            .as_ref()
            .and_then(|d| d.load(&self.engine, digest))
        {
            Some(c) => (c, Source::Disk),
            None => {
                let c = Component::new(&self.engine, bytes)?;
                if let Some(disk) = &self.disk {
                    disk.store(digest, &c);
                }
                if let Some(store) = &self.incremental {
                    let (reused, compiled, _) = store.take_counts();
                    tracing::info!(
                        digest = &digest[..digest.len().min(12)],
                        functions_reused = reused,
                        functions_compiled = compiled,
                        "compiled (Cranelift's function cache)"
                    );
                    // Off the swap's path: the entries go to disk while the plugin serves.
                    let store = store.clone();
                    std::thread::spawn(move || {
                        store.flush();
                        store.prune(crate::incremental_cache::MAX_BYTES);
                    });
                }
                (c, Source::Compiled)
            }
        };
        self.compiled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.to_string(), component.clone());
        Ok((component, source))
    }

    /// Writes Cranelift's function-cache entries not yet on disk (they are written behind
    /// each compile); for a process about to exit.
    pub fn flush_function_cache(&self) {
        if let Some(store) = &self.incremental {
            store.flush();
        }
    }

    /// Uses `secrets` for `env_from_host` (by default only the environment is asked).
    pub fn with_secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = Arc::new(secrets);
        self
    }

    /// The secrets plugins name in `env_from_host`.
    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// Judges manifests' folder grants by `grants` (by default: no host files protected
    /// beyond the kernel's folders, and a warning for folders outside the plugins folder).
    pub fn with_grants(mut self, grants: crate::manifest::GrantPolicy) -> Self {
        self.grants = grants;
        self
    }

    /// What folders manifests may grant.
    pub fn grants(&self) -> &crate::manifest::GrantPolicy {
        &self.grants
    }

    /// Bounds argument conversion memory at `bytes` for all attempts together.
    pub fn with_conversion_budget(mut self, bytes: u64) -> Self {
        self.conversions = Arc::new(crate::convert::ConversionBudget::new(bytes));
        self
    }

    /// The bound on argument conversion memory.
    pub fn conversions(&self) -> &Arc<crate::convert::ConversionBudget> {
        &self.conversions
    }

    /// The bound on activity instances kept idle between calls.
    pub fn idle_slots(&self) -> &idle_slots::IdleSlots {
        &self.idle_slots
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker for activity plugins.
    pub fn activity_linker(&self) -> &Linker<ActivityState> {
        &self.activity_linker
    }

    /// The linker for workflow plugins.
    pub fn workflow_linker(&self) -> &Linker<WorkflowState> {
        &self.workflow_linker
    }
}

/// The names a component imports (`wasi:http/outgoing-handler@0.2.6`, …), sorted.
pub fn import_names(component: &wasmtime::component::Component, engine: &Engine) -> Vec<String> {
    let mut names: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    names.sort();
    names
}
