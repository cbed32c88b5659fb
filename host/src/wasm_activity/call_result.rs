//! Encoding an attempt's result: WIT value → payload, the plugin's `err` case as a failure
//! with details, and results the server would refuse (over its payload limit) refused here,
//! naming the plugin and function.

use super::{Call, Cause};
use crate::activity::ActivityError;
use crate::convert::payload::{null_payload, val_to_payload, val_to_raw};
use crate::convert::val_to_json;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Largest result an activity may return: Temporal's default blob size limit (2 MiB), above
/// which the server fails the task.
pub(super) const MAX_RESULT_BYTES: usize = 2 << 20;

/// The size core checks against the limit: the result as the `Payloads` message it sends
/// (data, metadata and framing), not the data alone — 33 bytes less data would pass a data
/// check and then fail in core, retryably.
fn encoded_size(payload: &Payload) -> usize {
    let inner = prost::Message::encoded_len(payload);
    1 + prost::encoding::encoded_len_varint(inner as u64) + inner
}

impl Call {
    /// The payload of a call's result value (`None`: the function returns nothing).
    pub(super) fn result(&self, val: Option<Val>) -> Result<Payload, (Cause, ActivityError)> {
        let conversion = |e: crate::convert::ConvError| {
            (
                Cause::Conversion,
                ActivityError::non_retryable(
                    "ResultMismatch",
                    format!("{}: cannot encode the result: {e}", self.who()),
                ),
            )
        };
        let (Some(val), Some(ty)) = (val, self.function.result.as_ref()) else {
            return Ok(null_payload());
        };
        if self.function.raw {
            return val_to_raw(&val).ok_or_else(|| {
                (
                    Cause::Conversion,
                    ActivityError::non_retryable(
                        "ResultMismatch",
                        format!("{}: malformed payload record", self.who()),
                    ),
                )
            });
        }
        match (val, ty) {
            (Val::Result(Ok(ok)), Type::Result(r)) => match (ok, r.ok()) {
                (Some(v), Some(t)) => {
                    self.fits(&v)?;
                    val_to_payload(&v, &t).map_err(conversion)
                }
                _ => Ok(null_payload()),
            },
            (Val::Result(Err(err)), _) => {
                let json = match err {
                    Some(v) => val_to_json(&v).map_err(conversion)?,
                    None => serde_json::Value::Null,
                };
                let message = match &json {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "the plugin returned an error".to_string(),
                    other => other.to_string(),
                };
                Err((
                    Cause::PluginError,
                    ActivityError::Failed {
                        message,
                        error_type: "PluginError".into(),
                        non_retryable: false,
                        details: vec![crate::convert::payload::json_payload(&json)],
                    },
                ))
            }
            (v, t) => {
                self.fits(&v)?;
                val_to_payload(&v, t).map_err(conversion)
            }
        }
    }

    /// Refuses, before any JSON is built, a result certain to exceed the payload limit.
    fn fits(&self, val: &Val) -> Result<(), (Cause, ActivityError)> {
        let at_least = crate::convert::json_size_at_least(val);
        if at_least <= MAX_RESULT_BYTES {
            return Ok(());
        }
        Err(self.too_large(format!("at least {at_least} bytes as JSON")))
    }

    /// Refuses a result the server would refuse (its default payload limit): failing here
    /// says which plugin and function, and does not retry — the same input gives the same
    /// result.
    pub(super) fn within_limit(&self, payload: Payload) -> Result<Payload, (Cause, ActivityError)> {
        let size = encoded_size(&payload);
        if size <= MAX_RESULT_BYTES {
            return Ok(payload);
        }
        Err(self.too_large(format!("{size} bytes encoded")))
    }

    fn too_large(&self, size: String) -> (Cause, ActivityError) {
        (
            Cause::Conversion,
            ActivityError::non_retryable(
                "ResultTooLarge",
                format!(
                    "{}: the result is {size}, which exceeds the {} MiB payload limit; return a reference (a URL, a key) instead of the data",
                    self.who(),
                    MAX_RESULT_BYTES >> 20
                ),
            ),
        )
    }
}

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
