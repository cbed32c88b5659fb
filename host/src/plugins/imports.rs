//! A WIT-typed workflow's activity imports checked against what the folder's activity plugins
//! export: a missing activity or one whose WIT types differ is reported when the set loads,
//! not when a run first calls it.
//!
//! Neither refuses the workflow plugin. An activity may be served by another worker on the
//! task queue, in any language, so a missing one is a warning; a type difference is reported
//! the same way, because the JSON mapping tolerates some (an added trailing `option`) and the
//! author is better placed than the host to judge.

use crate::wasm_activity::ActivityPlugin;
use crate::wasm_workflow::WorkflowPlugin;
use std::collections::HashMap;
use std::sync::Arc;

/// One warning about a workflow plugin's import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    /// The workflow plugin's file.
    pub file: String,
    /// What is wrong, naming the import, the activity and (for a type difference) both
    /// signatures.
    pub message: String,
}

/// Warnings for every WIT-typed workflow import of `workflows` that `activities` do not
/// export with the same types.
pub(super) fn check(
    workflows: &[Arc<WorkflowPlugin>],
    activities: &[Arc<ActivityPlugin>],
) -> Vec<ImportWarning> {
    let exported: HashMap<&str, (&str, _)> = activities
        .iter()
        .flat_map(|p| {
            p.functions
                .iter()
                .map(move |f| (f.activity_type.as_str(), (p.source.file.as_str(), f)))
        })
        .collect();
    let mut warnings = Vec::new();
    for w in workflows {
        for import in w.activity_imports() {
            let what = format!(
                "imports `{}#{}` (activity `{}`)",
                import.interface, import.name, import.activity_type
            );
            let message = match exported.get(import.activity_type.as_str()) {
                None => format!(
                    "{what}, which no plugin in this folder exports; its calls wait until a \
                     worker on the task queue serves `{}`",
                    import.activity_type
                ),
                Some((_, f)) if f.raw => continue,
                Some((file, f)) => {
                    let params: Vec<String> = f
                        .params
                        .iter()
                        .map(|(_, t)| crate::convert::describe_full(t))
                        .collect();
                    let result = f.result.as_ref().map(crate::convert::describe_full);
                    if params == import.param_types && result == import.result_type {
                        continue;
                    }
                    format!(
                        "{what} as `{}`, but {file} exports it as `{}`: calls may fail to \
                         convert their arguments or result",
                        import.signature,
                        f.signature()
                    )
                }
            };
            warnings.push(ImportWarning {
                file: w.source.file.clone(),
                message,
            });
        }
    }
    warnings
}
