//! One memory budget for every cached workflow run of the host, whatever generation holds it.
//!
//! Each run keeps its instance between tasks, so its linear memory stays allocated; core's
//! cache bounds the number of runs, not their size: 20 runs of a workflow that allocates
//! 50 MiB held 1 GB. When the sum crosses `--workflow-memory-budget`, the least recently
//! activated runs are evicted through their generation's core worker (core sends the eviction,
//! the instance is dropped, and a later task replays the run into a fresh one). Terminated
//! runs, which core never hears about, are the first to go: nothing activates them again.

use crate::metrics::HostMetrics;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// Asks one generation's core worker to evict a run.
pub(crate) type Evictor = Arc<EvictFn>;

/// The function behind an [`Evictor`].
pub(crate) type EvictFn = dyn Fn(&str) + Send + Sync;

/// Which [`super::Workflows`] holds a run (one per generation).
pub(crate) type Owner = u64;

/// The host-wide budget; shared by every generation's [`super::Workflows`].
pub struct RunBudget {
    limit: u64,
    inner: Mutex<Inner>,
    metrics: HostMetrics,
}

#[derive(Default)]
struct Inner {
    clock: u64,
    next_owner: Owner,
    total: u64,
    runs: HashMap<(Owner, String), Entry>,
    evictors: HashMap<Owner, Weak<EvictFn>>,
}

struct Entry {
    bytes: u64,
    used: u64,
    /// Eviction requested; its memory is still held until core's eviction arrives.
    asked: bool,
}

impl RunBudget {
    /// A budget of `limit` bytes, its sum shown in `wasm_worker_workflow_memory_bytes`.
    pub fn new(limit: u64, metrics: &HostMetrics) -> Arc<Self> {
        Arc::new(RunBudget {
            limit,
            inner: Mutex::default(),
            metrics: metrics.clone(),
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new holder of runs.
    pub(crate) fn owner(&self) -> Owner {
        let mut inner = self.inner();
        inner.next_owner += 1;
        inner.next_owner
    }

    /// How `owner`'s runs are evicted (once its core worker exists). Held weakly: a stopped
    /// generation's worker is not kept alive by the budget.
    pub(crate) fn set_evictor(&self, owner: Owner, evictor: &Evictor) {
        self.inner().evictors.insert(owner, Arc::downgrade(evictor));
    }

    /// `run_id` of `owner` is cached again after an activation, holding `bytes`; evicts the
    /// least recently used runs while the sum is over the budget.
    pub(crate) fn cached(&self, owner: Owner, run_id: &str, bytes: u64) {
        let mut victims: Vec<(Owner, String)> = Vec::new();
        let evictors = {
            let mut inner = self.inner();
            inner.clock += 1;
            let used = inner.clock;
            let key = (owner, run_id.to_string());
            let old = inner.runs.get(&key).map_or(0, |e| e.bytes);
            inner.total = inner.total - old + bytes;
            inner.runs.insert(
                key,
                Entry {
                    bytes,
                    used,
                    asked: false,
                },
            );
            let mut pending: u64 = inner
                .runs
                .values()
                .filter(|e| !e.asked)
                .map(|e| e.bytes)
                .sum();
            if pending > self.limit {
                let mut candidates: Vec<(&(Owner, String), &Entry)> =
                    inner.runs.iter().filter(|(_, e)| !e.asked).collect();
                candidates.sort_by_key(|(_, e)| e.used);
                for (key, entry) in candidates {
                    if pending <= self.limit {
                        break;
                    }
                    pending -= entry.bytes;
                    victims.push(key.clone());
                }
                for key in &victims {
                    if let Some(e) = inner.runs.get_mut(key) {
                        e.asked = true;
                    }
                }
            }
            self.metrics
                .workflow_memory_bytes
                .set(i64::try_from(inner.total).unwrap_or(i64::MAX));
            victims
                .iter()
                .map(|(o, _)| inner.evictors.get(o).and_then(Weak::upgrade))
                .collect::<Vec<_>>()
        };
        for ((_, run_id), evictor) in victims.iter().zip(evictors) {
            self.metrics.workflow_memory_evictions.inc();
            match evictor {
                Some(evict) => evict(run_id),
                None => tracing::debug!(%run_id, "no worker to evict through yet"),
            }
        }
    }

    /// The instance pool is full: asks for the eviction of the least recently used run not
    /// already asked for, whatever generation holds it, so a retried task finds a slot.
    pub(crate) fn make_room(&self) {
        let (victim, evictor) = {
            let mut inner = self.inner();
            let Some(key) = inner
                .runs
                .iter()
                .filter(|(_, e)| !e.asked)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            if let Some(e) = inner.runs.get_mut(&key) {
                e.asked = true;
            }
            let evictor = inner.evictors.get(&key.0).and_then(Weak::upgrade);
            (key.1, evictor)
        };
        self.metrics.workflow_memory_evictions.inc();
        match evictor {
            Some(evict) => evict(&victim),
            None => tracing::debug!(run_id = %victim, "no worker to evict through yet"),
        }
    }

    /// `run_id` of `owner` no longer holds an instance (evicted, failed, or its generation
    /// stopped).
    pub(crate) fn dropped(&self, owner: Owner, run_id: &str) {
        let mut inner = self.inner();
        if let Some(e) = inner.runs.remove(&(owner, run_id.to_string())) {
            inner.total -= e.bytes;
        }
        self.metrics
            .workflow_memory_bytes
            .set(i64::try_from(inner.total).unwrap_or(i64::MAX));
    }

    /// Every run of `owner` is gone (its generation stopped).
    pub(crate) fn forget(&self, owner: Owner) {
        let mut inner = self.inner();
        let freed: u64 = inner
            .runs
            .iter()
            .filter(|((o, _), _)| *o == owner)
            .map(|(_, e)| e.bytes)
            .sum();
        inner.runs.retain(|(o, _), _| *o != owner);
        inner.evictors.remove(&owner);
        inner.total -= freed;
        self.metrics
            .workflow_memory_bytes
            .set(i64::try_from(inner.total).unwrap_or(i64::MAX));
    }

    /// Bytes held by cached runs now.
    pub fn total(&self) -> u64 {
        self.inner().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn recording() -> (Evictor, Arc<Mutex<Vec<String>>>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let sink = asked.clone();
        let evictor: Evictor =
            Arc::new(move |run: &str| sink.lock().expect("lock").push(run.into()));
        (evictor, asked)
    }

    #[test]
    fn the_least_recently_used_runs_go_when_the_sum_crosses_the_budget() {
        let budget = RunBudget::new(100 * MIB, &HostMetrics::new());
        let (a, b) = (budget.owner(), budget.owner());
        let (evict_a, asked_a) = recording();
        let (evict_b, asked_b) = recording();
        budget.set_evictor(a, &evict_a);
        budget.set_evictor(b, &evict_b);
        budget.cached(a, "r1", 40 * MIB);
        budget.cached(b, "r2", 40 * MIB);
        budget.cached(a, "r1", 40 * MIB); // r1 used again: r2 is now the oldest
        assert!(asked_a.lock().expect("lock").is_empty());
        budget.cached(a, "r3", 40 * MIB);
        assert_eq!(*asked_b.lock().expect("lock"), ["r2"]);
        assert!(asked_a.lock().expect("lock").is_empty());
        // Asked once, not again while core's eviction is on its way.
        budget.cached(a, "r3", 41 * MIB);
        assert_eq!(asked_b.lock().expect("lock").len(), 1);
        assert_eq!(budget.total(), 121 * MIB);
        budget.dropped(b, "r2");
        assert_eq!(budget.total(), 81 * MIB);
        assert_eq!(
            budget.metrics.workflow_memory_bytes.get(),
            i64::try_from(81 * MIB).expect("fits")
        );
    }

    #[test]
    fn a_full_pool_evicts_the_least_recently_used_run_once() {
        let budget = RunBudget::new(u64::MAX, &HostMetrics::new());
        let (a, b) = (budget.owner(), budget.owner());
        let (evict_a, asked_a) = recording();
        let (evict_b, asked_b) = recording();
        budget.set_evictor(a, &evict_a);
        budget.set_evictor(b, &evict_b);
        budget.cached(b, "old", MIB);
        budget.cached(a, "new", MIB);
        budget.make_room();
        assert_eq!(*asked_b.lock().expect("lock"), ["old"]);
        budget.make_room();
        assert_eq!(
            *asked_a.lock().expect("lock"),
            ["new"],
            "the next oldest, not old again"
        );
        budget.make_room();
        assert_eq!(
            asked_a.lock().expect("lock").len() + asked_b.lock().expect("lock").len(),
            2
        );
    }

    #[test]
    fn a_run_bigger_than_the_whole_budget_is_evicted_after_its_task() {
        let budget = RunBudget::new(10 * MIB, &HostMetrics::new());
        let owner = budget.owner();
        let (evict, asked) = recording();
        budget.set_evictor(owner, &evict);
        budget.cached(owner, "huge", 50 * MIB);
        assert_eq!(*asked.lock().expect("lock"), ["huge"]);
    }

    #[test]
    fn a_stopped_generation_releases_its_runs_and_is_not_kept_alive() {
        let budget = RunBudget::new(10 * MIB, &HostMetrics::new());
        let owner = budget.owner();
        let (evict, _) = recording();
        budget.set_evictor(owner, &evict);
        budget.cached(owner, "r", 4 * MIB);
        budget.cached(owner, "s", 4 * MIB);
        let weak = Arc::downgrade(&evict);
        drop(evict);
        assert!(weak.upgrade().is_none(), "the budget holds evictors weakly");
        budget.forget(owner);
        assert_eq!(budget.total(), 0);
    }
}
