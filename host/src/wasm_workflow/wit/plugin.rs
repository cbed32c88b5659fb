//! A WIT-typed workflow plugin, loaded: its exported functions (the workflow types) and a
//! linker made for it, in which every function of every interface it imports (other than WASI,
//! the workflow contract and its `signals`) schedules the activity of the same snake_case name.

use super::bindings::{add_to_linker, until};
use super::signals::{SignalImport, is_signals_interface};
use super::state::{Done, FailsWorkflow, WitState, lock};
use crate::convert::payload::{null_payload, payload_to_val, val_to_payload};
use crate::convert::{describe, describe_full, snake};
use crate::manifest::ActivityOptions;
use crate::wasm_activity::exports::ExportedFunction;
use std::collections::BTreeMap;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, InstancePre, Linker, Val};
use wasmtime::{Engine, StoreContextMut};

/// The workflow contract's interface; a component importing it is a WIT-typed workflow.
pub(crate) const WORKFLOW_INTERFACE: &str = "wasm-worker:workflow/workflow@0.1.0";

/// True when `component` imports the workflow contract.
pub(crate) fn imports_workflow_contract(engine: &Engine, component: &Component) -> bool {
    component
        .component_type()
        .imports(engine)
        .any(|(name, _)| name == WORKFLOW_INTERFACE)
}

/// One imported function: an activity the workflow calls with typed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityImport {
    /// Importing interface (`example:hello/greetings`).
    pub interface: String,
    /// The WIT function name.
    pub name: String,
    /// The activity type it schedules.
    pub activity_type: String,
    /// `greet-activity(name: string) -> string`, nested types spelled out.
    pub signature: String,
    /// Each parameter's type, spelled out in full (compared with the exporting plugin's).
    pub param_types: Vec<String>,
    /// The result type, spelled out in full.
    pub result_type: Option<String>,
}

/// A linked WIT-typed workflow plugin.
pub struct WitPlugin {
    /// The exported functions, one per workflow type.
    pub functions: Vec<ExportedFunction>,
    /// The activities it imports.
    pub imports: Vec<ActivityImport>,
    /// The typed signals it takes (its imported `signals` interface).
    pub signals: Vec<SignalImport>,
    pub(crate) pre: InstancePre<WitState>,
}

impl WitPlugin {
    /// Links `component`: WASI stand-ins, the workflow contract, and its activity imports.
    pub(crate) fn new(
        engine: &Engine,
        component: &Component,
        functions: Vec<ExportedFunction>,
        defaults: &BTreeMap<String, ActivityOptions>,
    ) -> wasmtime::Result<Self> {
        let mut linker: Linker<WitState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        add_to_linker(&mut linker)?;
        let mut imports = Vec::new();
        let mut signals = Vec::new();
        for (iface, item) in component.component_type().imports(engine) {
            let ComponentItem::ComponentInstance(instance) = item.ty else {
                continue;
            };
            if iface.starts_with("wasi:") || iface.starts_with("wasm-worker:workflow/") {
                continue;
            }
            let mut li = linker.instance(iface)?;
            if is_signals_interface(iface) {
                for (name, fitem) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = fitem.ty {
                        signals.push(super::signals::link(&mut li, iface, name, &f)?);
                    }
                }
                continue;
            }
            let defaults = defaults.get(iface).cloned().unwrap_or_default();
            for (name, fitem) in instance.exports(engine) {
                let ComponentItem::ComponentFunc(f) = fitem.ty else {
                    continue;
                };
                let activity_type = snake(name);
                imports.push(ActivityImport {
                    interface: iface.to_string(),
                    name: name.to_string(),
                    activity_type: activity_type.clone(),
                    signature: signature(name, &f),
                    param_types: f.params().map(|(_, t)| describe_full(&t)).collect(),
                    result_type: f.results().next().map(|t| describe_full(&t)),
                });
                let defaults = defaults.clone();
                li.func_new_async(name, move |store, ty, params, results| {
                    Box::new(call_activity(
                        store,
                        activity_type.clone(),
                        defaults.clone(),
                        ty,
                        params,
                        results,
                    ))
                })?;
            }
        }
        let pre = linker.instantiate_pre(component)?;
        Ok(WitPlugin {
            functions,
            imports,
            signals,
            pre,
        })
    }
}

fn signature(name: &str, f: &ComponentFunc) -> String {
    let params: Vec<(&str, Type)> = f.params().collect();
    crate::wasm_activity::exports::signature(
        name,
        params.iter().map(|(n, t)| (*n, t)),
        f.results().next().as_ref(),
    )
}

/// An imported function called: schedules the activity, waits for it, returns its result
/// as the import's WIT type.
async fn call_activity(
    mut store: StoreContextMut<'_, WitState>,
    activity_type: String,
    defaults: ActivityOptions,
    ty: ComponentFunc,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let arguments = params
        .iter()
        .zip(ty.params())
        .map(|(v, (name, t))| {
            val_to_payload(v, &t).map_err(|e| {
                wasmtime::Error::msg(format!(
                    "calling activity `{activity_type}`: parameter `{name}`: {e}"
                ))
            })
        })
        .collect::<wasmtime::Result<Vec<_>>>()?;
    let shared = store.data_mut().shared.clone();
    let handle = {
        let mut s = lock(&shared);
        let options = s
            .next_call_options
            .take()
            .unwrap_or_default()
            .over(&defaults);
        s.schedule_activity(&activity_type, arguments, options)
    };
    let done = until(&shared, |s| s.outcome(handle)).await;
    let Some(result_ty) = ty.results().next() else {
        return match done {
            Done::Value(_) => Ok(()),
            Done::Failed {
                message,
                error_type,
            } => Err(FailsWorkflow::activity(&activity_type, message, error_type).into()),
        };
    };
    let convert = |p: Option<&_>, t: &Type| {
        payload_to_val(p.unwrap_or(&null_payload()), t).map_err(|e| {
            wasmtime::Error::msg(format!(
                "activity `{activity_type}` returned a result that does not fit {}: {e}",
                describe(t)
            ))
        })
    };
    results[0] = match (done, &result_ty) {
        (Done::Value(p), Type::Result(r)) => Val::Result(Ok(match r.ok() {
            Some(t) => Some(Box::new(convert(p.as_ref(), &t)?)),
            None => None,
        })),
        (Done::Value(p), t) => convert(p.as_ref(), t)?,
        (Done::Failed { message, .. }, Type::Result(r)) => Val::Result(Err(match r.err() {
            None => None,
            Some(Type::String) => Some(Box::new(Val::String(message))),
            Some(t) => {
                let as_json = crate::convert::payload::json_payload(&serde_json::Value::String(
                    message.clone(),
                ));
                Some(Box::new(payload_to_val(&as_json, &t).map_err(|_| {
                    FailsWorkflow::activity(&activity_type, message, None)
                })?))
            }
        })),
        (
            Done::Failed {
                message,
                error_type,
            },
            _,
        ) => {
            return Err(FailsWorkflow::activity(&activity_type, message, error_type).into());
        }
    };
    Ok(())
}
