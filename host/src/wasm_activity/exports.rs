//! Reading a component's exported functions, with their WIT types, as activity types.

use crate::convert::describe::convertible;
use crate::convert::payload::is_payload_record;
use crate::convert::{describe, snake};
use std::collections::BTreeMap;
use wasmtime::Engine;
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex};

/// One exported function that became an activity type.
#[derive(Clone)]
pub struct ExportedFunction {
    /// The Temporal activity type.
    pub activity_type: String,
    /// Exporting interface (`example:hello/greetings`), empty for a function the world exports
    /// directly.
    pub interface: String,
    /// The WIT function name (`greet-activity`).
    pub name: String,
    /// Parameters, in order.
    pub params: Vec<(String, Type)>,
    /// The result type, if any.
    pub result: Option<Type>,
    /// Takes and returns the contract's `payload` records untouched.
    pub raw: bool,
    /// Where to find it in an instance.
    pub index: ComponentExportIndex,
}

impl ExportedFunction {
    /// `greet-activity(name: string) -> string`, nested types spelled out in full: `/status`
    /// and `check` are where an author looks for the exact shape to send.
    pub fn signature(&self) -> String {
        signature(
            &self.name,
            self.params.iter().map(|(n, t)| (n.as_str(), t)),
            self.result.as_ref(),
        )
    }
}

/// `name(param: type, …) -> result`, nested types spelled out in full: how `/status` and
/// `check` show a function, exported or imported.
pub(crate) fn signature<'a>(
    name: &str,
    params: impl IntoIterator<Item = (&'a str, &'a Type)>,
    result: Option<&Type>,
) -> String {
    let spell = crate::convert::describe_full;
    let params: Vec<String> = params
        .into_iter()
        .map(|(n, t)| format!("{n}: {}", spell(t)))
        .collect();
    let result = result.map_or(String::new(), |t| format!(" -> {}", spell(t)));
    format!("{name}({}){result}", params.join(", "))
}

/// Why a component's exports cannot serve as activities.
#[derive(Debug, thiserror::Error)]
pub enum ExportsError {
    /// The component's own type names an export its index cannot find (a malformed component).
    #[error("{what} cannot be located")]
    Unlocatable {
        /// `export `name`` or `function `iface#name``.
        what: String,
    },
    /// A parameter type the JSON ↔ WIT mapping does not cover (a resource, a borrow…).
    #[error("function `{function}` parameter `{param}` has type {ty} which activities cannot take")]
    UnsupportedParam {
        /// The WIT function.
        function: String,
        /// The parameter.
        param: String,
        /// Its WIT type, written out.
        ty: String,
    },
    /// A result type the mapping does not cover.
    #[error("function `{function}` returns {ty} which activities cannot return")]
    UnsupportedResult {
        /// The WIT function.
        function: String,
        /// Its result type, written out.
        ty: String,
    },
    /// Nothing to call: no exported function at all.
    #[error(
        "exports no functions; an activity plugin exports an interface of functions \
         (see wit/README.md), a command component (wasi:cli/run) is not a plugin"
    )]
    NoFunctions,
    /// The manifest renames a function the component does not export.
    #[error("manifest rename.{0}: the component exports no function `{0}`")]
    UnknownRename(String),
    /// Two functions map to one activity type.
    #[error(
        "activity type `{activity_type}` is exported twice (by `{first}` and `{second}`); rename one in the manifest"
    )]
    DuplicateType {
        /// The activity type.
        activity_type: String,
        /// `interface#function` of the first.
        first: String,
        /// `interface#function` of the second.
        second: String,
    },
}

/// What kind of component this is, judging by its exports.
pub(crate) enum Exports {
    /// Activity functions.
    Activities(Vec<ExportedFunction>),
    /// A workflow component (exports Temporal's workflow-runtime ABI).
    Workflow,
}

/// Exports a language toolchain adds for itself, not activities: componentize-py's
/// build-time `exports#init` (calling it at run time traps, and two Python plugins would
/// clash on the `init` activity type).
fn is_toolchain_hook(instance: &str, function: &str) -> bool {
    instance == "exports" && function == "init"
}

/// Reads the exported functions; `rename` maps WIT names to activity types.
pub(crate) fn read(
    engine: &Engine,
    component: &Component,
    rename: &BTreeMap<String, String>,
) -> Result<Exports, ExportsError> {
    let mut functions = Vec::new();
    let ty = component.component_type();
    for (name, item) in ty.exports(engine) {
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                if name.starts_with("temporal:workflow-runtime/") {
                    return Ok(Exports::Workflow);
                }
                if name.starts_with("wasi:") {
                    continue;
                }
                let iface = component.get_export_index(None, name).ok_or_else(|| {
                    ExportsError::Unlocatable {
                        what: format!("export `{name}`"),
                    }
                })?;
                for (fname, fitem) in instance.exports(engine) {
                    if is_toolchain_hook(name, fname) {
                        continue;
                    }
                    if let ComponentItem::ComponentFunc(f) = fitem.ty {
                        let index =
                            component
                                .get_export_index(Some(&iface), fname)
                                .ok_or_else(|| ExportsError::Unlocatable {
                                    what: format!("function `{name}#{fname}`"),
                                })?;
                        functions.push(function(name, fname, &f, index, rename)?);
                    }
                }
            }
            ComponentItem::ComponentFunc(f) => {
                let index = component.get_export_index(None, name).ok_or_else(|| {
                    ExportsError::Unlocatable {
                        what: format!("function `{name}`"),
                    }
                })?;
                functions.push(function("", name, &f, index, rename)?);
            }
            _ => {}
        }
    }
    if functions.is_empty() {
        return Err(ExportsError::NoFunctions);
    }
    for from in rename.keys() {
        if !functions.iter().any(|f| &f.name == from) {
            return Err(ExportsError::UnknownRename(from.clone()));
        }
    }
    let mut seen: BTreeMap<&str, &ExportedFunction> = BTreeMap::new();
    for f in &functions {
        if let Some(other) = seen.insert(&f.activity_type, f) {
            return Err(ExportsError::DuplicateType {
                activity_type: f.activity_type.clone(),
                first: format!("{}#{}", other.interface, other.name),
                second: format!("{}#{}", f.interface, f.name),
            });
        }
    }
    Ok(Exports::Activities(functions))
}

fn function(
    interface: &str,
    name: &str,
    f: &wasmtime::component::types::ComponentFunc,
    index: ComponentExportIndex,
    rename: &BTreeMap<String, String>,
) -> Result<ExportedFunction, ExportsError> {
    let params: Vec<(String, Type)> = f.params().map(|(n, t)| (n.to_string(), t)).collect();
    let result = f.results().next();
    for (p, t) in &params {
        if !convertible(t) {
            return Err(ExportsError::UnsupportedParam {
                function: name.to_string(),
                param: p.clone(),
                ty: describe(t),
            });
        }
    }
    if let Some(t) = &result
        && !convertible(t)
    {
        return Err(ExportsError::UnsupportedResult {
            function: name.to_string(),
            ty: describe(t),
        });
    }
    let raw = !params.is_empty()
        && params.iter().all(|(_, t)| is_payload_record(t))
        && result.as_ref().is_some_and(is_payload_record);
    Ok(ExportedFunction {
        activity_type: rename.get(name).cloned().unwrap_or_else(|| snake(name)),
        interface: interface.to_string(),
        name: name.to_string(),
        params,
        result,
        raw,
        index,
    })
}
