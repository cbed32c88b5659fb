//! The store of one activity attempt: WASI with no capabilities but what the manifest grants
//! (folders, environment, the host's secrets it names, network through its [`Egress`]), the
//! memory limit, and the activity context the host interface ([`imports`]) reads.

mod http;
pub mod imports;
mod lookup;

use super::limits::{Limited, MemoryLimiter};
use super::outbound::Egress;
use super::output::Captured;
use super::secrets::Secrets;
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

/// Bytes of `log` records kept per attempt, all records together (the same budget as each
/// output stream); records beyond it are dropped and counted.
pub const LOG_BUDGET: usize = OUTPUT_CAPACITY;

/// Longest single `log` record; longer ones are cut.
pub const LOG_RECORD_BYTES: usize = 8 * 1024;

/// What one activity attempt's store holds.
pub struct ActivityState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: http::OutboundHttp,
    table: ResourceTable,
    limiter: MemoryLimiter,
    ctx: ActivityContext,
    plugin: Arc<str>,
    /// What is left of [`LOG_BUDGET`] in this attempt.
    log_budget: usize,
    /// Records dropped for want of budget.
    log_dropped: usize,
}

/// The guest's captured output streams.
pub struct Output {
    pub stdout: Captured,
    pub stderr: Captured,
}

impl ActivityState {
    /// A state granting exactly what `manifest` grants; `egress` carries its network grants,
    /// `secrets` the values of the names in its `env_from_host`.
    pub fn new(
        plugin: Arc<str>,
        manifest: &Manifest,
        ctx: ActivityContext,
        egress: &Arc<Egress>,
        secrets: &Secrets,
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
        for name in &manifest.env_from_host {
            // Checked at load; a secret removed since then is an error of this attempt.
            let value = secrets.get(name).ok_or_else(|| {
                wasmtime::format_err!("the host no longer has the secret {name} (env_from_host)")
            })?;
            b.env(name, value);
        }
        for d in &manifest.dirs {
            let perms = if d.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            b.preopened_dir(&d.host, &d.guest, perms)?;
        }
        // Sockets: UDP is off, and so is TCP unless a grant names a non-HTTP destination
        // (creating a socket then fails with access-denied before any OS socket exists). With
        // one, every connection passes the egress's check; name lookups are on only when a
        // socket grant names a host, and then only for the names granted (`lookup.rs`).
        let activity_type: Arc<str> = Arc::from(ctx.info.activity_type.as_str());
        let sockets = egress.allow().has_sockets();
        b.allow_udp(false)
            .allow_tcp(sockets)
            .allow_ip_name_lookup(sockets && egress.allow().socket_names_any());
        if sockets {
            b.socket_addr_check(egress.socket_check(activity_type.clone()));
        }
        Ok((
            ActivityState {
                wasi: b.build(),
                http: WasiHttpCtx::new(),
                hooks: http::OutboundHttp {
                    egress: egress.clone(),
                    activity_type,
                },
                table: ResourceTable::new(),
                limiter: MemoryLimiter::new(manifest.memory_limit),
                ctx,
                plugin,
                log_budget: LOG_BUDGET,
                log_dropped: 0,
            },
            out,
        ))
    }
}

impl ActivityState {
    /// Readies the state of a kept instance (`isolation = "reuse"`) for its next attempt:
    /// that attempt's context (info, heartbeats, cancellation) and a full `log` budget.
    pub fn begin(&mut self, ctx: ActivityContext) {
        self.ctx = ctx;
        self.log_budget = LOG_BUDGET;
        self.log_dropped = 0;
    }

    /// `log` records the attempt dropped for want of budget.
    pub fn log_dropped(&self) -> usize {
        self.log_dropped
    }
}

impl Limited for ActivityState {
    fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }
}

/// The activity linker: WASI preview 2, `wasi:http` (its hooks send what the plugin's grants
/// allow) and the
/// `wasm-worker:plugin` host interfaces.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<ActivityState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    lookup::add_to_linker(&mut linker)?;
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

#[cfg(test)]
mod tests {
    use super::imports::wasm_worker::plugin::log::Host as _;
    use super::*;
    use crate::activity::ActivityInfo;

    fn state() -> ActivityState {
        let ctx = ActivityContext::new(
            ActivityInfo::default(),
            tokio_util::sync::CancellationToken::new(),
            Arc::new(|_| {}),
        );
        let egress = Arc::new(
            Egress::new(
                "p.wasm",
                &crate::manifest::Outbound::default(),
                &crate::metrics::HostMetrics::new(),
            )
            .expect("egress"),
        );
        ActivityState::new(
            Arc::from("p.wasm"),
            &Manifest::default(),
            ctx,
            &egress,
            &Secrets::default(),
        )
        .expect("state")
        .0
    }

    #[test]
    fn log_records_have_a_budget_per_attempt_and_a_size_per_record() {
        let mut s = state();
        // 150 records of 1 MiB: each cut to 8 KiB, and only 8 of those fit the 64 KiB budget.
        for _ in 0..150 {
            s.log(imports::Level::Info, "x".repeat(1 << 20));
        }
        assert_eq!(s.log_dropped(), 150 - LOG_BUDGET / LOG_RECORD_BYTES);
        assert_eq!(s.log_budget, 0);
    }
}
