//! WIT-like spellings of types and short descriptions of JSON values, for error messages.

use wasmtime::component::types::Type;

/// How deep nested types are spelled out before `…`.
const DEPTH: usize = 3;

/// The type as WIT would write it, e.g. `list<option<u32>>` or `record { sku: string, … }`.
pub fn describe(ty: &Type) -> String {
    spell(ty, DEPTH)
}

/// The type as WIT would write it, however deeply nested (component types are finite, so
/// this ends): for `wasm-worker check`, where an author wants the whole signature.
pub fn describe_full(ty: &Type) -> String {
    spell(ty, usize::MAX)
}

fn spell(ty: &Type, depth: usize) -> String {
    if depth == 0 {
        return "…".into();
    }
    let d = depth - 1;
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", spell(&l.ty(), d)),
        Type::FixedLengthList(l) => format!("list<{}, {}>", spell(&l.ty(), d), l.len()),
        Type::Map(m) => format!("map<{}, {}>", spell(&m.key(), d), spell(&m.value(), d)),
        Type::Record(r) => {
            let fields: Vec<String> = r
                .fields()
                .map(|f| format!("{}: {}", f.name, spell(&f.ty, d)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
        Type::Tuple(t) => {
            let types: Vec<String> = t.types().map(|t| spell(&t, d)).collect();
            format!("tuple<{}>", types.join(", "))
        }
        Type::Variant(v) => {
            let cases: Vec<String> = v
                .cases()
                .map(|c| match c.ty {
                    Some(t) => format!("{}({})", c.name, spell(&t, d)),
                    None => c.name.to_string(),
                })
                .collect();
            format!("variant {{ {} }}", cases.join(", "))
        }
        Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        Type::Option(o) => format!("option<{}>", spell(&o.ty(), d)),
        Type::Result(r) => {
            let side = |t: Option<Type>| t.map_or("_".to_string(), |t| spell(&t, d));
            format!("result<{}, {}>", side(r.ok()), side(r.err()))
        }
        Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
        Type::Own(_) | Type::Borrow(_) => "resource".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// A short description of a JSON value: `the string "abc"`, `the number -1`, `an object`.
pub(super) fn found(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            format!("a string of {} characters", s.chars().count())
        }
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// True when values of `ty` can cross the activity boundary (no resources, futures, streams).
pub fn convertible(ty: &Type) -> bool {
    match ty {
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            false
        }
        Type::List(l) => convertible(&l.ty()),
        Type::FixedLengthList(l) => convertible(&l.ty()),
        Type::Map(m) => convertible(&m.key()) && convertible(&m.value()),
        Type::Record(r) => r.fields().all(|f| convertible(&f.ty)),
        Type::Tuple(t) => t.types().all(|t| convertible(&t)),
        Type::Variant(v) => v.cases().all(|c| c.ty.as_ref().is_none_or(convertible)),
        Type::Option(o) => convertible(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().is_none_or(convertible) && r.err().as_ref().is_none_or(convertible)
        }
        _ => true,
    }
}
