//! An attempt's payloads as the exported function's parameter values: one payload per
//! parameter in WIT order, trailing `option<…>` parameters optional, each converted by the
//! function's WIT type (raw-mode functions take the payloads as they are).

use super::exports::ExportedFunction;
use crate::activity::ActivityError;
use crate::convert::describe;
use crate::convert::payload::{payload_to_val, raw_to_val};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// The values to call `function` with (`who` names plugin and function in errors).
pub(crate) fn values(
    function: &ExportedFunction,
    who: &str,
    input: &[Payload],
) -> Result<Vec<Val>, ActivityError> {
    let params = &function.params;
    // Trailing `option<…>` parameters may be left out, as optional arguments are in the
    // SDKs that call us: a parameter added to the end of a signature as an option keeps
    // every existing caller working.
    let omitted = params.get(input.len()..).unwrap_or_default();
    let optional_tail = !function.raw && omitted.iter().all(|(_, t)| matches!(t, Type::Option(_)));
    if input.len() != params.len() && !(input.len() < params.len() && optional_tail) {
        let expected: Vec<String> = params
            .iter()
            .map(|(n, t)| format!("{n}: {}", describe(t)))
            .collect();
        return Err(ActivityError::non_retryable(
            "ArgumentMismatch",
            format!(
                "{}: expects {} argument(s) ({}), got {}{}",
                who,
                params.len(),
                expected.join(", "),
                input.len(),
                if params
                    .last()
                    .is_some_and(|(_, t)| matches!(t, Type::Option(_)))
                {
                    " (trailing option parameters may be left out)"
                } else {
                    ""
                }
            ),
        ));
    }
    params
        .iter()
        .zip(input)
        .map(|((name, ty), p)| {
            if function.raw {
                return Ok(raw_to_val(p));
            }
            payload_to_val(p, ty).map_err(|e| {
                ActivityError::non_retryable(
                    "ArgumentMismatch",
                    format!("{}, parameter `{name}` ({}): {e}", who, describe(ty)),
                )
            })
        })
        .chain(omitted.iter().map(|_| Ok(Val::Option(None))))
        .collect()
}
