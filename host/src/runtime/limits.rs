//! Each store's memory limit, refused with a typed error.
//!
//! wasmtime's `StoreLimits` refuses growth past its limit with an untyped message ("forcing
//! trap when growing memory …"), so callers could only tell a memory-limit hit from other traps
//! by reading text. This limiter fails the growth with [`MemoryLimitExceeded`], which the
//! activity and workflow executors downcast from the call's error to name the cause.

use wasmtime::{Engine, ResourceLimiter, Store};

/// A guest tried to grow its linear memory past its plugin's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("growing linear memory to {desired} bytes exceeds the plugin's limit of {limit} bytes")]
pub struct MemoryLimitExceeded {
    /// The plugin's limit, bytes.
    pub limit: usize,
    /// The size the guest asked for, bytes.
    pub desired: usize,
}

impl MemoryLimitExceeded {
    /// Whether `error`, a failed guest call or instantiation, was this refusal.
    pub fn caused(error: &wasmtime::Error) -> Option<Self> {
        error.downcast_ref::<Self>().copied()
    }
}

/// Limits every linear memory of one store to `limit` bytes; tables and instance counts keep
/// wasmtime's defaults (the pooling allocator bounds them per component).
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimiter {
    limit: usize,
    /// Bytes of linear memory the store's instances hold now (wasmtime reports each memory's
    /// creation as growth from zero, so this starts right).
    size: usize,
}

impl MemoryLimiter {
    /// A limiter for `limit_bytes` per memory.
    pub fn new(limit_bytes: u64) -> Self {
        MemoryLimiter {
            limit: usize::try_from(limit_bytes).unwrap_or(usize::MAX),
            size: 0,
        }
    }

    /// Bytes of linear memory the store holds.
    pub fn size(&self) -> usize {
        self.size
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            // An error, not `Ok(false)`: a guest's `memory.grow` returning -1 is swallowed by
            // most allocators as an abort with a vague message; a trap names the cause.
            return Err(MemoryLimitExceeded {
                limit: self.limit,
                desired,
            }
            .into());
        }
        self.size = self.size.saturating_add(desired.saturating_sub(current));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// A store state that carries its [`MemoryLimiter`].
pub trait Limited: Send + 'static {
    /// The store's limiter.
    fn limiter(&mut self) -> &mut MemoryLimiter;
}

/// A store for one activity attempt, one workflow run or one `list-workflows` call: its memory
/// limit applied, and yielding to tokio at every epoch tick, so a deadline, a cancellation or
/// the activation budget takes effect within one tick even in a guest that loops.
pub fn store<T: Limited>(engine: &Engine, state: T) -> Store<T> {
    let mut store = Store::new(engine, state);
    store.limiter(|s| s.limiter());
    store.epoch_deadline_async_yield_and_update(1);
    store
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Engine, Instance, Module, Store};

    /// A module whose `grow(pages)` grows its memory and returns the old size.
    const GROWER: &str = r#"(module
        (memory 1)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

    fn grow(limit_bytes: u64, pages: i32) -> wasmtime::Result<i32> {
        let engine = Engine::new(&Config::new())?;
        let module = Module::new(&engine, GROWER)?;
        let mut store = Store::new(&engine, MemoryLimiter::new(limit_bytes));
        store.limiter(|l| l);
        let instance = Instance::new(&mut store, &module, &[])?;
        let f = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;
        f.call(&mut store, pages)
    }

    #[test]
    fn growth_within_the_limit_succeeds() {
        assert_eq!(grow(4 << 16, 2).expect("grows"), 1);
    }

    #[test]
    fn growth_past_the_limit_is_a_typed_error() {
        let e = grow(4 << 16, 8).expect_err("refused");
        assert_eq!(
            MemoryLimitExceeded::caused(&e),
            Some(MemoryLimitExceeded {
                limit: 4 << 16,
                desired: 9 << 16
            })
        );
    }

    #[test]
    fn other_failures_are_not_mistaken_for_it() {
        let e = wasmtime::format_err!("forcing trap when growing memory");
        assert_eq!(MemoryLimitExceeded::caused(&e), None);
    }
}
