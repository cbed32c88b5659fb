//! Temporal payloads ↔ WIT values, guided by the types read from the component.
//!
//! JSON mapping (the same in both directions unless noted):
//!
//! | WIT | JSON |
//! |---|---|
//! | `bool` | `true` / `false` |
//! | `s8`…`u64` | an integer, range-checked |
//! | `f32`, `f64` | a number (NaN and infinities are refused on output) |
//! | `char` | a one-character string |
//! | `string` | a string |
//! | `list<T>` | an array (`list<u8>` at the top level also takes `binary/plain`) |
//! | `record` | an object; input accepts `kebab-case`, `snake_case` or `camelCase` keys and ignores unknown keys; output uses `snake_case` |
//! | `tuple<…>` | an array of exactly that length |
//! | `option<T>` | `null` or the value |
//! | `result<T, E>` | `{"ok": T}` or `{"err": E}` (a function's own result: its `ok` value, or an activity failure carrying `E`) |
//! | `variant` | `{"case": payload}`, or `"case"` for a case without payload |
//! | `enum` | `"case"` |
//! | `flags` | an array of the set flags' names |
//!
//! Case and flag names follow the same key rules as record fields.

mod budget;
pub mod describe;
mod from_val;
pub mod payload;
mod to_val;

pub use budget::{ConversionBudget, json_size_at_least};
pub use describe::{describe, describe_full};
pub use from_val::val_to_json;
pub use to_val::json_to_val;

/// A value that does not fit its WIT type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}expected {expected}, found {found}", at(path))]
pub struct ConvError {
    /// Where inside the value (`lines[0].quantity`); empty at the top.
    pub path: String,
    /// The WIT type expected there.
    pub expected: String,
    /// What was there instead.
    pub found: String,
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at `{path}`: ")
    }
}

/// `snake_case` form of a WIT (kebab-case) name.
pub fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// `camelCase` form of a WIT (kebab-case) name.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// True when `key` names the WIT `name` in any accepted spelling.
fn same_name(key: &str, name: &str) -> bool {
    key == name || key == snake(name) || key == camel(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_in_every_spelling() {
        assert_eq!(snake("unit-price"), "unit_price");
        assert_eq!(camel("unit-price"), "unitPrice");
        assert!(same_name("unit-price", "unit-price"));
        assert!(same_name("unit_price", "unit-price"));
        assert!(same_name("unitPrice", "unit-price"));
        assert!(!same_name("unitprice", "unit-price"));
    }
}
