//! The host-wide bound on activity instances kept idle between calls (`isolation = "reuse"`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The host-wide bound on idle instances: each holds pooling-allocator slots a fresh
/// instance of another plugin may need, so together they may use only part of the headroom
/// the pool was sized with (the runtime gives them half of it).
#[derive(Debug, Clone)]
pub struct IdleSlots {
    used: Arc<AtomicUsize>,
    max: usize,
}

impl IdleSlots {
    /// At most `max` idle instances across all plugins.
    pub fn new(max: usize) -> Self {
        IdleSlots {
            used: Arc::default(),
            max,
        }
    }

    /// A slot, unless all are taken.
    pub fn acquire(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.used.clone()))
    }

    /// Idle instances held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// One idle instance's share of [`IdleSlots`], given back when it is dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::IdleSlots;

    #[test]
    fn idle_slots_are_bounded_and_given_back() {
        let slots = IdleSlots::new(2);
        let a = slots.acquire().expect("first");
        let b = slots.acquire().expect("second");
        assert!(slots.acquire().is_none(), "the bound holds");
        assert_eq!(slots.used(), 2);
        drop(a);
        assert_eq!(slots.used(), 1);
        let _c = slots.acquire().expect("a freed slot is reusable");
        drop(b);
        assert_eq!(slots.used(), 1);
    }
}
