//! JSON → WIT value, checked against the type at every step.

use super::describe::{describe, found};
use super::{ConvError, same_name};
use serde_json::Value as Json;
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Converts `json` to a value of `ty`; errors say where and what was expected.
pub fn json_to_val(json: &Json, ty: &Type) -> Result<Val, ConvError> {
    convert(json, ty, &mut String::new())
}

fn mismatch(path: &str, ty: &Type, json: &Json) -> ConvError {
    ConvError {
        path: path.to_string(),
        expected: describe(ty),
        found: found(json),
    }
}

/// Runs `f` with `segment` appended to `path`, restoring it afterwards.
fn nested<T>(path: &mut String, segment: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    if !path.is_empty() && !segment.starts_with('[') {
        path.push('.');
    }
    path.push_str(segment);
    let out = f(path);
    path.truncate(len);
    out
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(json: &Json, ty: &Type, path: &str) -> Result<T, ConvError> {
    let n = json.as_number().ok_or_else(|| mismatch(path, ty, json))?;
    let fits = if let Some(i) = n.as_i64() {
        T::try_from(i).ok()
    } else {
        n.as_u64().and_then(|u| T::try_from(u).ok())
    };
    fits.ok_or_else(|| ConvError {
        path: path.to_string(),
        expected: describe(ty),
        found: if n.is_f64() {
            format!("the number {n}, which is not an integer")
        } else {
            format!("the number {n}, which is out of range")
        },
    })
}

fn convert(json: &Json, ty: &Type, path: &mut String) -> Result<Val, ConvError> {
    let bad = |path: &String| mismatch(path, ty, json);
    Ok(match ty {
        Type::Bool => Val::Bool(json.as_bool().ok_or_else(|| bad(path))?),
        Type::S8 => Val::S8(int(json, ty, path)?),
        Type::U8 => Val::U8(int(json, ty, path)?),
        Type::S16 => Val::S16(int(json, ty, path)?),
        Type::U16 => Val::U16(int(json, ty, path)?),
        Type::S32 => Val::S32(int(json, ty, path)?),
        Type::U32 => Val::U32(int(json, ty, path)?),
        Type::S64 => Val::S64(int(json, ty, path)?),
        Type::U64 => Val::U64(int(json, ty, path)?),
        // f64 → f32 rounds, as every JSON decoder does for single precision.
        #[allow(clippy::cast_possible_truncation)]
        Type::Float32 => {
            let wide = json.as_f64().ok_or_else(|| bad(path))?;
            let narrow = wide as f32;
            // 1e300 would become infinity: refuse it rather than pass a value nobody sent.
            if narrow.is_infinite() {
                return Err(ConvError {
                    path: path.to_string(),
                    expected: "f32".into(),
                    found: format!("the number {wide}, which is out of the range of f32"),
                });
            }
            Val::Float32(narrow)
        }
        Type::Float64 => Val::Float64(json.as_f64().ok_or_else(|| bad(path))?),
        Type::Char => {
            let s = json.as_str().ok_or_else(|| bad(path))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(bad(path)),
            }
        }
        Type::String => Val::String(json.as_str().ok_or_else(|| bad(path))?.to_string()),
        Type::List(l) => {
            let items = json.as_array().ok_or_else(|| bad(path))?;
            let elem = l.ty();
            Val::List(elements(items, &elem, path)?)
        }
        Type::FixedLengthList(l) => {
            let items = json.as_array().ok_or_else(|| bad(path))?;
            if items.len() != l.len() as usize {
                return Err(bad(path));
            }
            Val::FixedLengthList(elements(items, &l.ty(), path)?)
        }
        Type::Map(m) => {
            let (k, v) = (m.key(), m.value());
            let mut out = Vec::new();
            match (json, &k) {
                (Json::Object(obj), Type::String) => {
                    for (key, value) in obj {
                        let val = nested(path, key, |p| convert(value, &v, p))?;
                        out.push((Val::String(key.clone()), val));
                    }
                }
                (Json::Array(pairs), _) => {
                    for (i, pair) in pairs.iter().enumerate() {
                        nested(path, &format!("[{i}]"), |p| {
                            let kv = pair.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                                ConvError {
                                    path: p.clone(),
                                    expected: "a [key, value] pair".into(),
                                    found: found(pair),
                                }
                            })?;
                            out.push((convert(&kv[0], &k, p)?, convert(&kv[1], &v, p)?));
                            Ok(())
                        })?;
                    }
                }
                _ => return Err(bad(path)),
            }
            Val::Map(out)
        }
        Type::Record(r) => {
            let obj = json.as_object().ok_or_else(|| bad(path))?;
            let mut fields = Vec::with_capacity(r.fields().len());
            for field in r.fields() {
                let value = obj
                    .iter()
                    .find(|(k, _)| same_name(k, field.name))
                    .map(|(_, v)| v);
                let val = nested(path, field.name, |p| match value {
                    Some(v) => convert(v, &field.ty, p),
                    None if matches!(field.ty, Type::Option(_)) => Ok(Val::Option(None)),
                    None => Err(ConvError {
                        path: p.clone(),
                        expected: describe(&field.ty),
                        found: "nothing (the field is missing)".into(),
                    }),
                })?;
                fields.push((field.name.to_string(), val));
            }
            Val::Record(fields)
        }
        Type::Tuple(t) => {
            let items = json.as_array().ok_or_else(|| bad(path))?;
            if items.len() != t.types().len() {
                return Err(bad(path));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, ty)) in items.iter().zip(t.types()).enumerate() {
                out.push(nested(path, &format!("[{i}]"), |p| convert(item, &ty, p))?);
            }
            Val::Tuple(out)
        }
        Type::Variant(v) => {
            let (name, payload) = case_of(json).ok_or_else(|| bad(path))?;
            let case = v
                .cases()
                .find(|c| same_name(name, c.name))
                .ok_or_else(|| bad(path))?;
            let inner = match (case.ty, payload) {
                (None, None | Some(Json::Null)) => None,
                (Some(t), Some(p)) => Some(Box::new(nested(path, case.name, |path| {
                    convert(p, &t, path)
                })?)),
                _ => return Err(bad(path)),
            };
            Val::Variant(case.name.to_string(), inner)
        }
        Type::Enum(e) => {
            let s = json.as_str().ok_or_else(|| bad(path))?;
            let name = e
                .names()
                .find(|n| same_name(s, n))
                .ok_or_else(|| bad(path))?;
            Val::Enum(name.to_string())
        }
        Type::Option(o) => match json {
            Json::Null => Val::Option(None),
            other => Val::Option(Some(Box::new(convert(other, &o.ty(), path)?))),
        },
        Type::Result(r) => {
            let (name, payload) = case_of(json).ok_or_else(|| bad(path))?;
            let side =
                |t: Option<Type>, path: &mut String| -> Result<Option<Box<Val>>, ConvError> {
                    match (t, payload) {
                        (None, None | Some(Json::Null)) => Ok(None),
                        (Some(t), Some(p)) => Ok(Some(Box::new(nested(path, name, |path| {
                            convert(p, &t, path)
                        })?))),
                        _ => Err(bad(path)),
                    }
                };
            match name {
                "ok" => Val::Result(Ok(side(r.ok(), path)?)),
                "err" => Val::Result(Err(side(r.err(), path)?)),
                _ => return Err(bad(path)),
            }
        }
        Type::Flags(f) => {
            let items = json.as_array().ok_or_else(|| bad(path))?;
            let mut set = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or_else(|| bad(path))?;
                let name = f
                    .names()
                    .find(|n| same_name(s, n))
                    .ok_or_else(|| bad(path))?;
                set.push(name.to_string());
            }
            Val::Flags(set)
        }
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            return Err(bad(path));
        }
    })
}

fn elements(items: &[Json], elem: &Type, path: &mut String) -> Result<Vec<Val>, ConvError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| nested(path, &format!("[{i}]"), |p| convert(item, elem, p)))
        .collect()
}

/// `"name"` → (name, None); `{"name": payload}` → (name, Some(payload)).
fn case_of(json: &Json) -> Option<(&str, Option<&Json>)> {
    match json {
        Json::String(s) => Some((s.as_str(), None)),
        Json::Object(obj) if obj.len() == 1 => {
            obj.iter().next().map(|(k, v)| (k.as_str(), Some(v)))
        }
        _ => None,
    }
}
