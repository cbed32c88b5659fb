//! The per-attempt store state of an activity instance: WASI with no capabilities but what
//! the manifest grants, `wasi:http` that refuses every request, memory limits, and the
//! activity context the host interface reads.

use super::output::Captured;
use crate::activity::ActivityContext;
use crate::plugins::manifest::Manifest;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Bytes of stdout (and of stderr) kept per attempt; they become log lines afterwards, and
/// output beyond them is dropped and counted.
pub const OUTPUT_CAPACITY: usize = 64 * 1024;

/// What one activity attempt's store holds.
pub struct ActivityState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: super::http::DenyOutbound,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) ctx: ActivityContext,
    pub(super) plugin: Arc<str>,
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
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(manifest.memory_limit).unwrap_or(usize::MAX))
            .trap_on_grow_failure(true)
            .build();
        Ok((
            ActivityState {
                wasi: b.build(),
                http: WasiHttpCtx::new(),
                hooks: super::http::DenyOutbound {
                    plugin: plugin.clone(),
                    denied: denials.http.clone(),
                },
                table: ResourceTable::new(),
                limits,
                ctx,
                plugin,
            },
            out,
        ))
    }
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
