//! How much host memory converting values may take, and a bound on it.
//!
//! Converting is not free: wasmtime's dynamic values take 32 bytes per element, so a 2 MB
//! `list<u8>` argument became ~190 MB in flight, and 30 such calls at once 1.3 GB. Two bounds:
//!
//! - **arguments**: every attempt reserves an estimate of its conversion memory from the
//!   host's [`ConversionBudget`] (`--conversion-budget`, default 512 MiB) before converting,
//!   and holds it until its result is encoded; calls beyond it wait (their own timeouts still
//!   apply).
//! - **results**: before building JSON for a result, [`json_size_at_least`] gives a lower bound
//!   of its encoded size; one that cannot fit the payload limit is refused without building
//!   it. The value tree of a result itself is bounded by the plugin's memory limit (the guest
//!   had to hold it), at 32 host bytes per guest element — `memory_limit_mib` is the lever.

use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::component::Val;

/// Host bytes an argument may take per payload byte while converted and lowered (measured
/// peak for a `binary/plain` `list<u8>`: ~94; JSON is no worse, each element taking at least
/// two characters of its text).
const AMPLIFICATION: usize = 96;
/// The semaphore counts KiB.
const UNIT: usize = 1 << 10;

/// Reserved conversion memory, counted in KiB.
#[derive(Debug)]
pub struct ConversionBudget {
    units: usize,
    free: Semaphore,
}

impl ConversionBudget {
    /// A budget of `bytes` (at least 1 MiB).
    pub fn new(bytes: u64) -> Self {
        let units = (usize::try_from(bytes).unwrap_or(usize::MAX) / UNIT).max(1024);
        ConversionBudget {
            units,
            free: Semaphore::new(units),
        }
    }

    /// Reserves conversion memory for arguments of `payload_bytes` in total; a call larger
    /// than the whole budget waits until it has the budget to itself.
    pub async fn reserve(&self, payload_bytes: usize) -> SemaphorePermit<'_> {
        let units = (payload_bytes.saturating_mul(AMPLIFICATION) / UNIT).clamp(1, self.units);
        self.free
            .acquire_many(u32::try_from(units).unwrap_or(u32::MAX))
            .await
            .expect("the conversion budget is never closed")
    }
}

/// A lower bound of the length of `val` as JSON text: what is certain to be written (one
/// digit per number, the separators, the strings' bytes), so a value over the payload limit
/// by this bound is over it for sure.
pub fn json_size_at_least(val: &Val) -> usize {
    match val {
        Val::Bool(true) => 4,
        Val::Bool(false) => 5,
        Val::String(s) => s.len() + 2,
        Val::Char(_) => 3,
        Val::List(items) | Val::Tuple(items) => {
            2 + items.len().saturating_sub(1) + items.iter().map(json_size_at_least).sum::<usize>()
        }
        Val::Record(fields) => {
            2 + fields.len().saturating_sub(1)
                + fields
                    .iter()
                    .map(|(name, v)| name.len() + 3 + json_size_at_least(v))
                    .sum::<usize>()
        }
        Val::Option(Some(v)) => json_size_at_least(v),
        Val::Option(None) => 4,
        Val::Result(Ok(Some(v)) | Err(Some(v))) => 6 + json_size_at_least(v),
        Val::Variant(case, Some(v)) => case.len() + 5 + json_size_at_least(v),
        Val::Variant(case, None) | Val::Enum(case) => case.len() + 2,
        Val::Flags(names) => 2 + names.iter().map(|n| n.len() + 3).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_bound_never_exceeds_the_real_json() {
        let cases = [
            Val::List((0..100).map(|i| Val::Bool(i % 3 == 0)).collect()),
            Val::List((0..100).map(|i| Val::U32(i * 1000)).collect()),
            Val::Record(vec![
                ("name".into(), Val::String("a \"quoted\" name".into())),
                ("tags".into(), Val::Flags(vec!["red".into(), "big".into()])),
                (
                    "shape".into(),
                    Val::Variant("circle".into(), Some(Box::new(Val::Float64(1.5)))),
                ),
                ("kind".into(), Val::Enum("plain".into())),
                ("maybe".into(), Val::Option(None)),
            ]),
            Val::Tuple(vec![
                Val::Char('x'),
                Val::S64(-5),
                Val::Option(Some(Box::new(Val::U8(7)))),
            ]),
        ];
        for v in cases {
            let real = crate::convert::val_to_json(&v)
                .expect("json")
                .to_string()
                .len();
            let bound = json_size_at_least(&v);
            assert!(bound <= real, "{bound} > {real} for {v:?}");
        }
    }

    #[test]
    fn a_huge_list_of_bools_is_known_too_large_without_writing_it() {
        let v = Val::List(vec![Val::Bool(false); 1_000_000]);
        assert!(json_size_at_least(&v) >= 5_999_999);
    }

    #[tokio::test]
    async fn reservations_are_bounded_by_the_budget() {
        let budget = ConversionBudget::new(512 << 20);
        let whole = budget.reserve(usize::MAX).await;
        assert_eq!(budget.free.available_permits(), 0);
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), budget.reserve(1)).await;
        assert!(
            waiting.is_err(),
            "nothing is left while the whole budget is reserved"
        );
        drop(whole);
        let small = budget.reserve(1 << 20).await;
        assert_eq!(
            budget.free.available_permits(),
            ((512 << 20) - AMPLIFICATION * (1 << 20)) / UNIT
        );
        drop(small);
    }
}
