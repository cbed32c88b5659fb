//! Temporal payloads (`json/plain`, `binary/plain`, `binary/null`) ↔ WIT values, and the raw
//! mode that hands `payload` records to the guest untouched.

use super::describe::describe;
use super::{ConvError, json_to_val, val_to_json};
use serde_json::Value as Json;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// The metadata key naming a payload's encoding.
pub const ENCODING: &str = "encoding";
/// JSON text.
pub const JSON_PLAIN: &str = "json/plain";
/// Raw bytes.
pub const BINARY_PLAIN: &str = "binary/plain";
/// No value.
pub const BINARY_NULL: &str = "binary/null";

/// The payload's encoding, if it names one.
pub fn encoding(p: &Payload) -> Option<&str> {
    p.metadata
        .get(ENCODING)
        .and_then(|e| std::str::from_utf8(e).ok())
}

/// A payload with `encoding` and `data`.
pub fn with_encoding(enc: &str, data: Vec<u8>) -> Payload {
    Payload {
        metadata: [(ENCODING.to_string(), enc.as_bytes().to_vec())].into(),
        data,
        ..Default::default()
    }
}

/// `json/plain` payload of `json`.
pub fn json_payload(json: &Json) -> Payload {
    with_encoding(JSON_PLAIN, json.to_string().into_bytes())
}

/// The payload of "no value".
pub fn null_payload() -> Payload {
    with_encoding(BINARY_NULL, Vec::new())
}

fn is_bytes(ty: &Type) -> bool {
    matches!(ty, Type::List(l) if matches!(l.ty(), Type::U8))
}

/// Decodes one argument payload as a value of `ty`.
pub fn payload_to_val(p: &Payload, ty: &Type) -> Result<Val, ConvError> {
    let refuse = |found: String| ConvError {
        path: String::new(),
        expected: describe(ty),
        found,
    };
    match encoding(p) {
        Some(JSON_PLAIN) => {
            let json: Json = serde_json::from_slice(&p.data)
                .map_err(|e| refuse(format!("invalid JSON ({e})")))?;
            json_to_val(&json, ty)
        }
        Some(BINARY_NULL) => json_to_val(&Json::Null, ty),
        Some(BINARY_PLAIN) if is_bytes(ty) => {
            Ok(Val::List(p.data.iter().map(|b| Val::U8(*b)).collect()))
        }
        Some(BINARY_PLAIN) => Err(refuse(format!("{} bytes of binary/plain", p.data.len()))),
        Some(other) => Err(refuse(format!(
            "a payload with encoding `{other}`, which only raw-mode functions accept"
        ))),
        None => Err(refuse("a payload without an encoding".into())),
    }
}

/// Encodes a returned value of `ty`: `list<u8>` as `binary/plain`, everything else as JSON.
pub fn val_to_payload(val: &Val, ty: &Type) -> Result<Payload, ConvError> {
    if is_bytes(ty)
        && let Val::List(items) = val
    {
        let bytes = items
            .iter()
            .map(|v| match v {
                Val::U8(b) => Ok(*b),
                _ => Err(ConvError {
                    path: String::new(),
                    expected: "list<u8>".into(),
                    found: "a list of other values".into(),
                }),
            })
            .collect::<Result<Vec<u8>, _>>()?;
        return Ok(with_encoding(BINARY_PLAIN, bytes));
    }
    Ok(json_payload(&val_to_json(val)?))
}

/// True when `ty` is the contract's `payload` record (raw mode).
pub fn is_payload_record(ty: &Type) -> bool {
    let Type::Record(r) = ty else { return false };
    let fields: Vec<_> = r.fields().collect();
    let [meta, data] = fields.as_slice() else {
        return false;
    };
    let metadata_ok = meta.name == "metadata"
        && matches!(&meta.ty, Type::List(l) if matches!(l.ty(), Type::Tuple(t)
            if { let ts: Vec<Type> = t.types().collect(); ts.len() == 2 && ts[0] == Type::String && is_bytes(&ts[1]) }));
    metadata_ok && data.name == "data" && is_bytes(&data.ty)
}

fn bytes_val(b: &[u8]) -> Val {
    Val::List(b.iter().map(|b| Val::U8(*b)).collect())
}

/// A payload as the contract's `payload` record, metadata sorted by key.
pub fn raw_to_val(p: &Payload) -> Val {
    let mut meta: Vec<_> = p.metadata.iter().collect();
    meta.sort_by(|a, b| a.0.cmp(b.0));
    let metadata = meta
        .into_iter()
        .map(|(k, v)| Val::Tuple(vec![Val::String(k.clone()), bytes_val(v)]))
        .collect();
    Val::Record(vec![
        ("metadata".into(), Val::List(metadata)),
        ("data".into(), bytes_val(&p.data)),
    ])
}

fn val_bytes(v: &Val) -> Option<Vec<u8>> {
    let Val::List(items) = v else { return None };
    items
        .iter()
        .map(|b| if let Val::U8(b) = b { Some(*b) } else { None })
        .collect()
}

/// The contract's `payload` record back to a payload.
pub fn val_to_raw(v: &Val) -> Option<Payload> {
    let Val::Record(fields) = v else { return None };
    let mut p = Payload::default();
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("metadata", Val::List(entries)) => {
                for e in entries {
                    let Val::Tuple(kv) = e else { return None };
                    let [Val::String(k), bytes] = kv.as_slice() else {
                        return None;
                    };
                    p.metadata.insert(k.clone(), val_bytes(bytes)?);
                }
            }
            ("data", bytes) => p.data = val_bytes(bytes)?,
            _ => return None,
        }
    }
    Some(p)
}
