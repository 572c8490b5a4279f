//! When to try again after a temporary failure: exponential, capped, with jitter so that
//! many messages failing together do not return together.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// Delay after `attempts` failed attempts, or `None` when none are left.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = attempts.saturating_sub(1).min(20);
        let raw = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        // ±20 % jitter.
        let factor = 0.8 + rand::random::<f64>() * 0.4;
        Some(raw.mul_f64(factor))
    }
}

impl RetryPolicy {
    /// Delay after `attempts` failed attempts that a throttling or quota reply caused: the
    /// same backoff, but never out of attempts (the message is not at fault).
    pub fn delay_after_rate_limit(&self, attempts: u32) -> Duration {
        let unlimited = RetryPolicy { max_attempts: u32::MAX, ..*self };
        unlimited.delay_after(attempts).unwrap_or(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_stops() {
        let p = RetryPolicy { max_attempts: 5, base: Duration::from_secs(10), cap: Duration::from_secs(60) };
        let d1 = p.delay_after(1).unwrap().as_secs_f64();
        let d2 = p.delay_after(2).unwrap().as_secs_f64();
        let d4 = p.delay_after(4).unwrap().as_secs_f64();
        assert!((8.0..=12.0).contains(&d1) && (16.0..=24.0).contains(&d2), "{d1} {d2}");
        assert!(d4 <= 72.0, "capped: {d4}");
        assert!(p.delay_after(5).is_none());
    }
}
