//! Instances kept between calls, for plugins whose manifest declares them stateless
//! (`isolation = "reuse"`).
//!
//! By default every attempt gets a fresh instance: nothing a call leaves in memory can reach
//! the next one, and a fresh instance costs ~20 µs for a Rust plugin. An interpreter-based
//! plugin (componentize-py, componentize-js) pays its interpreter's start-up instead — far
//! more — on every call. Reuse trades that isolation away for speed: globals, caches and leaks
//! survive from call to call within one instance. An instance is kept only after a call that
//! returned normally (a trap, a deadline, a cancellation or a memory refusal drops it, so no
//! half-finished state is reused), per function (the network hooks name the activity type),
//! and at most [`MAX_CALLS`] times, which bounds what a slow leak can accumulate.

use crate::runtime::activity_host::{ActivityState, Output};
use crate::runtime::idle_slots::{IdleSlots, Slot};
use std::collections::HashMap;
use std::sync::Mutex;
use wasmtime::Store;
use wasmtime::component::Instance;

/// Calls one instance serves before it is dropped and the next call instantiates afresh.
pub(super) const MAX_CALLS: u32 = 10_000;

/// An idle instance, its store and captured output.
pub(super) struct Warm {
    pub(super) store: Store<ActivityState>,
    pub(super) instance: Instance,
    pub(super) output: Output,
    /// Calls it has served.
    pub(super) calls: u32,
    _slot: Slot,
}

/// One plugin's idle instances, by activity type.
pub(super) struct WarmInstances {
    idle: Mutex<HashMap<String, Vec<Warm>>>,
    slots: IdleSlots,
}

impl WarmInstances {
    pub(super) fn new(slots: IdleSlots) -> Self {
        WarmInstances {
            idle: Mutex::default(),
            slots,
        }
    }

    /// An idle instance for `activity_type`, if one is kept.
    pub(super) fn take(&self, activity_type: &str) -> Option<Warm> {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(activity_type)?
            .pop()
    }

    /// Keeps an instance that just served a call normally, unless it has served
    /// [`MAX_CALLS`] or the host's idle bound is reached (then it is dropped).
    pub(super) fn put(
        &self,
        activity_type: &str,
        store: Store<ActivityState>,
        instance: Instance,
        output: Output,
        calls: u32,
    ) {
        if calls >= MAX_CALLS {
            return;
        }
        let Some(slot) = self.slots.acquire() else {
            return;
        };
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(activity_type.to_string())
            .or_default()
            .push(Warm {
                store,
                instance,
                output,
                calls,
                _slot: slot,
            });
    }
}
