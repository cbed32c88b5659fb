//! Activity plugins at run time: one engine and linker for all of them, and an [`Activity`]
//! per exported function that instantiates the plugin fresh for every attempt.

mod call;
mod http;
pub mod imports;
pub mod output;
pub mod state;

use crate::activity::{Activity, ActivityContext, ActivityError, ActivityRegistry};
use crate::compile_cache::{CompileCache, Source};
use crate::engine::{EpochTicker, PoolSize, plugin_engine};
use crate::metrics::HostMetrics;
use crate::plugins::PluginSet;
use crate::plugins::exports::ExportedFunction;
use crate::plugins::loader::LoadedPlugin;
use crate::wasm_workflow::state::WorkflowState;
use futures::future::BoxFuture;
use state::ActivityState;
use std::sync::Arc;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use wasmtime::Engine;
use wasmtime::component::Linker;

/// The engine, one linker per plugin kind, the compile caches and the epoch ticker.
pub struct PluginRuntime {
    engine: Engine,
    /// Compiled components by SHA-256 of their bytes: a swap compiles only what changed, and
    /// a revert compiles nothing.
    compiled: std::sync::Mutex<std::collections::HashMap<String, wasmtime::component::Component>>,
    /// The same, on disk: restarts skip compilation too.
    disk: Option<CompileCache>,
    cache_lookups: prometheus::IntCounterVec,
    linker: Linker<ActivityState>,
    workflow_linker: Linker<WorkflowState>,
    _ticker: EpochTicker,
}

impl PluginRuntime {
    /// Builds the engine and links, once: for activities WASI preview 2, `wasi:http` and the
    /// plugin contract; for workflows `workflow-host` and the deterministic WASI stand-ins.
    /// Compiled components persist in `cache_dir` when given; a folder that cannot be created
    /// only costs time, so it is logged, not fatal.
    pub fn new(
        pool: PoolSize,
        metrics: &HostMetrics,
        cache_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let engine = plugin_engine(pool)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        imports::add_to_linker(&mut linker)?;
        let mut workflow_linker = Linker::new(&engine);
        crate::wasm_workflow::bindings::add_to_linker(&mut workflow_linker)?;
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
        Ok(PluginRuntime {
            engine,
            compiled: std::sync::Mutex::default(),
            disk,
            cache_lookups: metrics.compile_cache.clone(),
            linker,
            workflow_linker,
            _ticker: ticker,
        })
    }

    /// The compiled component for `bytes` (whose SHA-256 is `digest`): from memory, else from
    /// the disk cache, else compiled (and then stored in both).
    pub fn component(
        &self,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<wasmtime::component::Component> {
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
    ) -> wasmtime::Result<(wasmtime::component::Component, Source)> {
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
                let c = wasmtime::component::Component::new(&self.engine, bytes)?;
                if let Some(disk) = &self.disk {
                    disk.store(digest, &c);
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

    /// The linker for workflow plugins.
    pub fn workflow_linker(&self) -> &Linker<WorkflowState> {
        &self.workflow_linker
    }

    /// The shared engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The shared linker.
    pub fn linker(&self) -> &Linker<ActivityState> {
        &self.linker
    }
}

/// One exported function of one plugin, as an activity type.
pub struct WasmActivity {
    plugin: Arc<LoadedPlugin>,
    function: ExportedFunction,
    plugin_name: Arc<str>,
    metrics: HostMetrics,
    denials: state::Denials,
}

impl Activity for WasmActivity {
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Payload, ActivityError>> {
        let call = call::Call {
            plugin: self.plugin.clone(),
            function: self.function.clone(),
            plugin_name: self.plugin_name.clone(),
            metrics: self.metrics.clone(),
            denials: self.denials.clone(),
        };
        Box::pin(call.run(ctx, input))
    }
}

/// Registers every function of every plugin in `set` into `registry`.
pub fn register(set: &PluginSet, registry: &mut ActivityRegistry, metrics: &HostMetrics) {
    for plugin in &set.plugins {
        let name: Arc<str> = Arc::from(plugin.file.as_str());
        let denials = state::Denials::new(metrics, &name);
        for f in &plugin.functions {
            registry.insert(
                f.activity_type.clone(),
                Arc::new(WasmActivity {
                    plugin: plugin.clone(),
                    function: f.clone(),
                    plugin_name: name.clone(),
                    metrics: metrics.clone(),
                    denials: denials.clone(),
                }),
            );
        }
    }
}
