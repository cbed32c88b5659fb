//! Typed signals: a WIT-typed workflow that imports an interface named `signals` (from its own
//! package, say `example:orders/signals`) declares there the signals it takes. Each function
//! takes no parameters and returns the signal's argument as a WIT value: calling `approve()`
//! waits for the next signal `approve` and converts its first argument with the activity
//! plugins' JSON mapping. The signal is named after the function in snake_case, as activities
//! and workflow types are.
//!
//! A signal whose argument does not fit the type is bad input from a client, not a bug in the
//! workflow: failing the workflow task would retry for ever, failing the workflow would let
//! any client end it. A function returning `result<T, string>` gets the reason as its `err`;
//! any other drops that signal, logs it (once, not on replay) and counts it in
//! `wasm_worker_workflow_signals_dropped_total`, and waits for the next. Either is
//! deterministic: the same history gives the same answer on replay.

use super::bindings::until;
use super::state::{WitState, lock};
use crate::convert::describe;
use crate::convert::payload::{null_payload, payload_to_val};
use wasmtime::StoreContextMut;
use wasmtime::component::types::{ComponentFunc, Type};
use wasmtime::component::{LinkerInstance, Val};

/// One typed signal a workflow plugin takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalImport {
    /// The declaring interface (`example:orders/signals`).
    pub interface: String,
    /// The signal's name (the function's, in snake_case).
    pub signal: String,
    /// The argument's type, spelled out.
    pub argument: String,
}

/// True for an interface named `signals`, in any package and version.
pub(crate) fn is_signals_interface(interface: &str) -> bool {
    interface
        .split_once('/')
        .is_some_and(|(_, rest)| rest.split('@').next() == Some("signals"))
}

/// Links `name` of `interface` as the receiver of its signal; a function that takes
/// parameters or returns nothing is refused, naming it.
pub(crate) fn link(
    li: &mut LinkerInstance<'_, WitState>,
    interface: &str,
    name: &str,
    f: &ComponentFunc,
) -> wasmtime::Result<SignalImport> {
    let params = f.params().count();
    if params != 0 {
        wasmtime::bail!(
            "`{interface}#{name}`: a signal receiver takes no parameters (the signal's argument \
             is what it returns), this one takes {params}"
        );
    }
    let Some(result) = f.results().next() else {
        wasmtime::bail!(
            "`{interface}#{name}`: a signal receiver returns the signal's argument; this one \
             returns nothing (return `option<string>` or any type to take a signal)"
        );
    };
    let signal = crate::convert::snake(name);
    let receiver = signal.clone();
    li.func_new_async(name, move |store, ty, _params, results| {
        Box::new(receive(store, receiver.clone(), ty, results))
    })?;
    Ok(SignalImport {
        interface: interface.to_string(),
        signal,
        argument: describe(&result),
    })
}

/// Waits for the next signal `signal` whose argument fits the receiver's type and returns it.
async fn receive(
    mut store: StoreContextMut<'_, WitState>,
    signal: String,
    ty: ComponentFunc,
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let shared = store.data_mut().shared.clone();
    let Some(result_ty) = ty.results().next() else {
        wasmtime::bail!("signal `{signal}`: the receiver returns nothing");
    };
    // `result<T, string>`: T is the argument's type and a misfit is the guest's to handle.
    let (target, fallible) = match &result_ty {
        Type::Result(r) if matches!(r.err(), Some(Type::String)) => (r.ok(), true),
        t => (Some(t.clone()), false),
    };
    loop {
        let argument = until(&shared, |s| s.take_signal(&signal)).await;
        let payload = argument.unwrap_or_else(null_payload);
        let converted = match &target {
            None => Ok(None),
            Some(t) => payload_to_val(&payload, t)
                .map(|v| Some(Box::new(v)))
                .map_err(|e| {
                    format!(
                        "signal `{signal}`: its argument does not fit {}: {e}",
                        describe(t)
                    )
                }),
        };
        results[0] = match (converted, fallible) {
            (Ok(value), true) => Val::Result(Ok(value)),
            (Ok(Some(value)), false) => *value,
            (Ok(None), false) => unreachable!("a receiver without `result` has a target type"),
            (Err(reason), true) => Val::Result(Err(Some(Box::new(Val::String(reason))))),
            (Err(reason), false) => {
                let mut s = lock(&shared);
                if !s.replaying {
                    s.dropped_signals += 1;
                    tracing::warn!(
                        workflow_type = %s.info.workflow_type,
                        run_id = %s.info.run_id,
                        "{reason}; the signal is dropped and the workflow waits for the next"
                    );
                }
                continue;
            }
        };
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::is_signals_interface;

    #[test]
    fn only_an_interface_named_signals_declares_signals() {
        assert!(is_signals_interface("example:orders/signals"));
        assert!(is_signals_interface("example:orders/signals@1.2.0"));
        assert!(!is_signals_interface("example:signals/orders"));
        assert!(!is_signals_interface("example:orders/signals-v2"));
        assert!(!is_signals_interface("signals"));
    }
}
