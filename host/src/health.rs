//! Readiness as the rest of the host reports it and `/readyz` answers it.
//!
//! Ready means: connected to the server and polling. The connector, the worker loops and the
//! reachability check each report changes here; the gauge `wasm_worker_ready` follows.

use crate::metrics::HostMetrics;
use std::sync::Mutex;

/// The host's current readiness and, when not ready, why.
pub(crate) struct Health {
    state: Mutex<State>,
    metrics: HostMetrics,
}

#[derive(Clone)]
struct State {
    polling: bool,
    reachable: bool,
    reason: String,
}

impl Health {
    /// Starts not ready: nothing is connected yet.
    pub(crate) fn new(metrics: HostMetrics) -> Self {
        metrics.ready.set(0);
        Health {
            state: Mutex::new(State {
                polling: false,
                reachable: false,
                reason: "starting".into(),
            }),
            metrics,
        }
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        self.metrics.ready.set(i64::from(s.polling && s.reachable));
    }

    /// The worker started (`true`) or stopped (`false`) polling; `reason` explains a stop.
    pub(crate) fn set_polling(&self, polling: bool, reason: &str) {
        self.update(|s| {
            s.polling = polling;
            if !polling {
                s.reason = reason.to_string();
            }
        });
    }

    /// The last call to the server succeeded (`Ok`) or failed with this error.
    pub(crate) fn set_reachable(&self, result: Result<(), String>) {
        self.update(|s| match result {
            Ok(()) => s.reachable = true,
            Err(e) => {
                s.reachable = false;
                s.reason = e;
            }
        });
    }

    /// `Ok` when ready, else the reason.
    pub(crate) fn check(&self) -> Result<(), String> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if s.polling && s.reachable {
            Ok(())
        } else {
            Err(s.reason)
        }
    }
}
