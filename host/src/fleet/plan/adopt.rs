//! Adopting the server's routing: when it is not what the coordinator set (someone changed it
//! outside, or the coordinator's first change met a deployment routed before it), the plan
//! takes the server's routing as the truth instead of overwriting it, and pauses.

use super::decide::describe;
use super::{Build, BuildState, Op, Plan, RETRY_AFTER_MS, Ramp, ServerRouting};

impl Plan {
    /// The server routes otherwise than the plan says: take the server's routing as the truth,
    /// drop the operator's command in flight, and pause until an operator resumes.
    pub(super) fn adopt(&mut self, now_ms: u64, op: &Op, server: ServerRouting, why: &str) {
        let previous = self.current.clone();
        for b in server
            .current
            .iter()
            .chain(server.ramping.iter().map(|(b, _)| b))
        {
            if self.build(b).is_none() {
                self.add_oldest_build(now_ms, b);
            }
        }
        if let Some(c) = &server.current {
            self.set_state(c, BuildState::Current);
        }
        if let Some(p) = previous.filter(|p| server.current.as_ref() != Some(p)) {
            self.set_state(&p, BuildState::Superseded);
        }
        self.current = server.current.clone();
        if let Some(old) = self.ramp.take()
            && server.ramping.as_ref().map(|(b, _)| b) != Some(&old.build_id)
            && server.current.as_ref() != Some(&old.build_id)
        {
            self.set_state(&old.build_id, BuildState::Superseded);
        }
        if let Some((b, percent)) = &server.ramping
            && let Some(total) = self.build(b).map(Build::total)
        {
            self.set_state(b, BuildState::Ramping);
            self.ramp = Some(Ramp {
                build_id: b.clone(),
                step: 0,
                percent: *percent,
                since_ms: now_ms,
                baseline: total,
                step_baseline: total,
            });
        }
        self.requested = None;
        self.request_failures = 0;
        self.paused = true;
        self.retry_at_ms = now_ms.saturating_add(RETRY_AFTER_MS);
        self.decide(
            now_ms,
            format!(
                "{} not done: {why}; the coordinator adopted the server's routing \
                 (current={}, ramping={}) and pauses until an operator resumes",
                describe(op),
                server.current.as_deref().unwrap_or("-"),
                server
                    .ramping
                    .as_ref()
                    .map_or("-".to_string(), |(b, p)| format!("{b} at {p}%")),
            ),
        );
    }
}
