//! The store of one activity attempt: WASI with no capabilities but what the manifest grants,
//! `wasi:http` that refuses every request, the memory limit, and the activity context the
//! host interface ([`imports`]) reads.

mod http;
pub mod imports;

use super::limits::{Limited, MemoryLimiter};
use super::output::Captured;
use crate::activity::ActivityContext;
use crate::manifest::Manifest;
use std::sync::Arc;
use wasmtime::Engine;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Bytes of stdout (and of stderr) kept per attempt; they become log lines afterwards, and
/// output beyond them is dropped and counted.
pub const OUTPUT_CAPACITY: usize = 64 * 1024;

/// What one activity attempt's store holds.
pub struct ActivityState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: http::DenyOutbound,
    table: ResourceTable,
    limiter: MemoryLimiter,
    ctx: ActivityContext,
    plugin: Arc<str>,
}

/// The guest's captured output streams.
pub struct Output {
    pub stdout: Captured,
    pub stderr: Captured,
}

/// Counters for what the sandbox refuses a plugin, resolved once per plugin.
#[derive(Clone)]
pub struct Denials {
    pub http: prometheus::IntCounter,
}

impl Denials {
    pub fn new(metrics: &crate::metrics::HostMetrics, plugin: &str) -> Self {
        Denials {
            http: metrics.sandbox_denials.with_label_values(&[plugin, "http"]),
        }
    }
}

impl ActivityState {
    /// A state granting exactly what `manifest` grants.
    pub fn new(
        plugin: Arc<str>,
        manifest: &Manifest,
        ctx: ActivityContext,
        denials: &Denials,
    ) -> wasmtime::Result<(Self, Output)> {
        let out = Output {
            stdout: Captured::new(OUTPUT_CAPACITY),
            stderr: Captured::new(OUTPUT_CAPACITY),
        };
        let mut b = WasiCtxBuilder::new();
        b.stdout(out.stdout.clone()).stderr(out.stderr.clone());
        for (k, v) in &manifest.env {
            b.env(k, v);
        }
        for d in &manifest.dirs {
            let perms = if d.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            b.preopened_dir(&d.host, &d.guest, perms)?;
        }
        // Sockets: TCP and UDP are off (WasiCtxBuilder's default: creating a socket fails with
        // access-denied before any OS socket exists), and so are name lookups.
        b.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Ok((
            ActivityState {
                wasi: b.build(),
                http: WasiHttpCtx::new(),
                hooks: http::DenyOutbound {
                    plugin: plugin.clone(),
                    denied: denials.http.clone(),
                },
                table: ResourceTable::new(),
                limiter: MemoryLimiter::new(manifest.memory_limit),
                ctx,
                plugin,
            },
            out,
        ))
    }
}

impl Limited for ActivityState {
    fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }
}

/// The activity linker: WASI preview 2, `wasi:http` (its hooks refuse every request) and the
/// `wasm-worker:plugin` host interfaces.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<ActivityState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    imports::add_to_linker(&mut linker)?;
    Ok(linker)
}

impl WasiView for ActivityState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for ActivityState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}
