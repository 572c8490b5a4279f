//! The pause after a throttling or quota reply: the server limits the sender, so every
//! worker of this instance stops sending for a while instead of going on with the rest of
//! its batch and with the other messages. The pause grows with each such reply in a row
//! (the retry backoff: `--retry-base-seconds` doubling up to `--retry-max-seconds`) and
//! starts small again once a message goes out. Messages claimed but not sent when a pause
//! begins go back to the queue (no attempt counted); another instance may send them.
//!
//! Per instance: instances on one PostgreSQL database each find the limit by themselves.

use super::RetryPolicy;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct ConnectionPause(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    until: Option<Instant>,
    /// Throttling or quota replies since the last message that went out.
    level: u32,
}

impl ConnectionPause {
    /// A throttling or quota reply came: pause (longer than the last time). Returns how long.
    pub fn hit(&self, policy: &RetryPolicy) -> Duration {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.level = inner.level.saturating_add(1);
        let pause = policy.delay_after_rate_limit(inner.level);
        let until = Instant::now() + pause;
        inner.until = Some(inner.until.map_or(until, |u| u.max(until)));
        pause
    }

    /// A message went out: the next pause starts small again.
    pub fn delivered(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).level = 0;
    }

    /// How much of the pause is left, if one is on.
    pub fn remaining(&self) -> Option<Duration> {
        let inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.until.and_then(|u| u.checked_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_each_reply_and_starts_small_after_a_delivery() {
        let policy = RetryPolicy { max_attempts: 3, base: Duration::from_secs(10), cap: Duration::from_secs(100) };
        let pause = ConnectionPause::default();
        assert!(pause.remaining().is_none());
        let first = pause.hit(&policy);
        let second = pause.hit(&policy);
        let third = pause.hit(&policy);
        assert!(first < second && second < third, "{first:?} {second:?} {third:?}");
        assert!(pause.remaining().is_some_and(|left| left > second));
        pause.delivered();
        assert!(pause.hit(&policy) <= Duration::from_secs(12));
    }
}
