//! `wasi:sockets/ip-name-lookup` for activities: a guest may resolve only the names its socket
//! grants list (`postgres://db.internal:5432` → `db.internal`). wasmtime-wasi's switch is all
//! or nothing, so the host's `resolve-addresses` is shadowed by one that checks the name
//! against the plugin's grants first, then hands over to wasmtime-wasi's. Any other name is
//! refused with `access-denied` before a DNS query leaves the host, and counted.

use super::ActivityState;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::Network;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{Host, ResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
use wasmtime_wasi::sockets::WasiSocketsCtxView;

/// The interface as wasmtime-wasi 48 defines it (guests' older 0.2 imports resolve to it).
const INTERFACE: &str = "wasi:sockets/ip-name-lookup@0.2.12";

type Resolved = Result<Resource<ResolveAddressStream>, ErrorCode>;

/// Replaces `resolve-addresses` in `linker` (after WASI was added) with the checked one.
pub(super) fn add_to_linker(linker: &mut Linker<ActivityState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(INTERFACE)?.func_wrap(
        "resolve-addresses",
        |mut store,
         (network, name): (Resource<Network>, String)|
         -> wasmtime::Result<(Resolved,)> {
            let state: &mut ActivityState = store.data_mut();
            if !state.hooks.egress.allow().socket_names(&name) {
                state
                    .hooks
                    .egress
                    .deny_lookup(&state.hooks.activity_type, &name);
                return Ok((Err(ErrorCode::AccessDenied),));
            }
            let mut view = WasiSocketsCtxView {
                ctx: state.wasi.sockets(),
                table: &mut state.table,
            };
            match Host::resolve_addresses(&mut view, network, name) {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
