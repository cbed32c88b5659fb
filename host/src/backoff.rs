//! Trying a reload again after a transient failure, waiting longer each time.
//!
//! A reload refused because the host was out of file descriptors was once simply lost: no
//! file event came again, so the plugin published meanwhile never loaded. Now such a reload
//! is repeated after 1 s, 2 s, 4 s … at most 30 s apart, until one loads or fails for a reason
//! that is about the files.

use std::time::Duration;
use tokio::time::Instant;

const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(30);

/// When to try again, if at all.
#[derive(Debug, Default)]
pub(crate) struct RetryLater {
    at: Option<Instant>,
    delay: Option<Duration>,
}

impl RetryLater {
    /// Records how the last attempt went: `transient` schedules another, anything else
    /// clears the schedule and the backoff.
    pub(crate) fn after(&mut self, transient: bool) {
        if !transient {
            *self = RetryLater::default();
            return;
        }
        let delay = self.delay.map_or(FIRST, |d| (d * 2).min(LONGEST));
        tracing::warn!(
            retry_in = ?delay,
            "the plugins folder could not be read for a transient reason; trying again"
        );
        self.delay = Some(delay);
        self.at = Some(Instant::now() + delay);
    }

    /// Resolves when the next attempt is due; never, when none is scheduled.
    pub(crate) async fn due(&self) {
        match self.at {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_delay_doubles_up_to_a_ceiling_and_a_success_clears_it() {
        let mut retry = RetryLater::default();
        let start = Instant::now();
        let mut waited = Vec::new();
        for _ in 0..7 {
            retry.after(true);
            let before = Instant::now();
            retry.due().await;
            waited.push((Instant::now() - before).as_secs());
        }
        assert_eq!(waited, [1, 2, 4, 8, 16, 30, 30]);
        assert!(Instant::now() - start >= Duration::from_secs(91));
        retry.after(false);
        let never = tokio::time::timeout(Duration::from_secs(3600), retry.due()).await;
        assert!(never.is_err(), "nothing is scheduled after a success");
        retry.after(true);
        let before = Instant::now();
        retry.due().await;
        assert_eq!(
            (Instant::now() - before).as_secs(),
            1,
            "the backoff starts over"
        );
    }
}
