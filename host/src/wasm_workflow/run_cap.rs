//! A plugin's own bound on its cached runs (manifest `max_cached_runs`): beyond it, its least
//! recently activated runs are evicted and replay on their next task.
//!
//! Why a bound per plugin when the host already bounds runs by count (`--max-cached-workflows`)
//! and memory (`--workflow-memory-budget`): a cached Python or JavaScript run holds a whole
//! interpreter instance, tens of MiB, where a Rust run holds hundreds of KiB. One host-wide
//! count cannot suit both; the plugin's author knows what a run of theirs costs and how often
//! its runs wake up (a run waiting days for a signal gains nothing from staying cached).

use std::collections::{HashMap, VecDeque};

/// Cached runs per plugin, least recently activated first.
#[derive(Debug, Default)]
pub(super) struct RunCaps {
    by_plugin: HashMap<String, VecDeque<String>>,
    plugin_of: HashMap<String, String>,
}

impl RunCaps {
    /// `run_id` of `plugin` was activated and stays cached; returns the runs of `plugin` to
    /// evict (oldest first) to keep it within `cap`. They are forgotten here at once, so
    /// each is asked for once.
    pub(super) fn cached(&mut self, plugin: &str, run_id: &str, cap: Option<usize>) -> Vec<String> {
        let Some(cap) = cap else {
            return Vec::new();
        };
        self.dropped(run_id);
        let runs = self.by_plugin.entry(plugin.to_string()).or_default();
        runs.push_back(run_id.to_string());
        self.plugin_of
            .insert(run_id.to_string(), plugin.to_string());
        let mut victims = Vec::new();
        while runs.len() > cap {
            let Some(oldest) = runs.pop_front() else {
                break;
            };
            self.plugin_of.remove(&oldest);
            victims.push(oldest);
        }
        victims
    }

    /// `run_id` no longer holds an instance.
    pub(super) fn dropped(&mut self, run_id: &str) {
        if let Some(plugin) = self.plugin_of.remove(run_id)
            && let Some(runs) = self.by_plugin.get_mut(&plugin)
        {
            runs.retain(|r| r != run_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_activated_runs_of_the_plugin_go_beyond_its_cap() {
        let mut caps = RunCaps::default();
        assert!(caps.cached("py.wasm", "a", Some(2)).is_empty());
        assert!(caps.cached("py.wasm", "b", Some(2)).is_empty());
        assert!(caps.cached("rs.wasm", "x", Some(1)).is_empty());
        // a is activated again: b is now the oldest.
        assert!(caps.cached("py.wasm", "a", Some(2)).is_empty());
        assert_eq!(caps.cached("py.wasm", "c", Some(2)), ["b"]);
        // Another plugin's runs are not counted, and an uncapped plugin is not tracked.
        assert!(caps.cached("free.wasm", "f", None).is_empty());
        assert_eq!(caps.cached("rs.wasm", "y", Some(1)), ["x"]);
        // An evicted run leaves room.
        caps.dropped("a");
        assert!(caps.cached("py.wasm", "d", Some(2)).is_empty());
        assert_eq!(caps.cached("py.wasm", "e", Some(2)), ["c"]);
    }
}
