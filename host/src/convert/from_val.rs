//! WIT value → JSON. Values carry their own case and field names, so no type is needed.

use super::ConvError;
use super::snake;
use serde_json::{Map, Value as Json};
use wasmtime::component::Val;

/// Converts a value returned by a guest to JSON; fails only on NaN/infinite floats (JSON has
/// no spelling for them) and on resources.
pub fn val_to_json(val: &Val) -> Result<Json, ConvError> {
    convert(val, &mut String::new())
}

fn float(f: f64, path: &str) -> Result<Json, ConvError> {
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .ok_or_else(|| ConvError {
            path: path.to_string(),
            expected: "a finite number (JSON cannot carry NaN or infinity)".into(),
            found: format!("{f}"),
        })
}

fn with<T>(path: &mut String, seg: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    if !path.is_empty() && !seg.starts_with('[') {
        path.push('.');
    }
    path.push_str(seg);
    let out = f(path);
    path.truncate(len);
    out
}

fn list(items: &[Val], path: &mut String) -> Result<Json, ConvError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| with(path, &format!("[{i}]"), |p| convert(v, p)))
        .collect::<Result<Vec<_>, _>>()
        .map(Json::Array)
}

fn case(name: &str, payload: Option<&Val>, path: &mut String) -> Result<Json, ConvError> {
    Ok(match payload {
        None => Json::String(snake(name)),
        Some(v) => {
            let mut m = Map::new();
            m.insert(snake(name), with(path, name, |p| convert(v, p))?);
            Json::Object(m)
        }
    })
}

fn convert(val: &Val, path: &mut String) -> Result<Json, ConvError> {
    Ok(match val {
        Val::Bool(b) => Json::Bool(*b),
        Val::S8(n) => (*n).into(),
        Val::U8(n) => (*n).into(),
        Val::S16(n) => (*n).into(),
        Val::U16(n) => (*n).into(),
        Val::S32(n) => (*n).into(),
        Val::U32(n) => (*n).into(),
        Val::S64(n) => (*n).into(),
        Val::U64(n) => (*n).into(),
        Val::Float32(f) => float(f64::from(*f), path)?,
        Val::Float64(f) => float(*f, path)?,
        Val::Char(c) => Json::String(c.to_string()),
        Val::String(s) => Json::String(s.clone()),
        Val::List(items) | Val::FixedLengthList(items) | Val::Tuple(items) => list(items, path)?,
        Val::Map(pairs) => {
            if pairs.iter().all(|(k, _)| matches!(k, Val::String(_))) {
                let mut m = Map::new();
                for (k, v) in pairs {
                    if let Val::String(k) = k {
                        m.insert(k.clone(), with(path, k, |p| convert(v, p))?);
                    }
                }
                Json::Object(m)
            } else {
                let mut out = Vec::with_capacity(pairs.len());
                for (i, (k, v)) in pairs.iter().enumerate() {
                    out.push(with(path, &format!("[{i}]"), |p| {
                        Ok::<_, ConvError>(Json::Array(vec![convert(k, p)?, convert(v, p)?]))
                    })?);
                }
                Json::Array(out)
            }
        }
        Val::Record(fields) => {
            let mut m = Map::new();
            for (name, v) in fields {
                m.insert(snake(name), with(path, name, |p| convert(v, p))?);
            }
            Json::Object(m)
        }
        Val::Variant(name, payload) => case(name, payload.as_deref(), path)?,
        Val::Enum(name) => Json::String(snake(name)),
        Val::Option(None) => Json::Null,
        Val::Option(Some(v)) => convert(v, path)?,
        Val::Result(r) => {
            let (name, payload) = match r {
                Ok(v) => ("ok", v),
                Err(v) => ("err", v),
            };
            let mut m = Map::new();
            let inner = match payload {
                Some(v) => with(path, name, |p| convert(v, p))?,
                None => Json::Null,
            };
            m.insert(name.to_string(), inner);
            Json::Object(m)
        }
        Val::Flags(names) => Json::Array(names.iter().map(|n| Json::String(snake(n))).collect()),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            return Err(ConvError {
                path: path.clone(),
                expected: "a plain value".into(),
                found: "a resource, future or stream".into(),
            });
        }
    })
}
