//! The pause after a throttling or quota reply: the server limits the sender, so every
//! worker of this instance stops sending for a while instead of going on with the rest of
//! its batch and with the other messages. The pause grows with each such reply in a row
//! (the retry backoff: `--retry-base-seconds` doubling up to `--retry-max-seconds`) and
//! starts small again once a message goes out; a reply that names a wait ("try again in 60
//! seconds") is obeyed when it is longer. Messages claimed but not sent when a pause
//! begins go back to the queue (no attempt counted); another instance may send them.
//!
//! Shared: on PostgreSQL, where several instances send, the pause is also written to the
//! database (`db::delivery_pause`), and every instance reads it there at most once a second
//! ([`ConnectionPause::refresh`]), so a limit one instance heard holds the others back too.
//! SQLite has one instance: the pause in memory is all there is, and no query is spent.

use super::RetryPolicy;
use crate::db::{self, Db, Dialect};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How stale the shared pause may be.
const SHARED_FRESH_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct ConnectionPause(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    until: Option<Instant>,
    /// The pause another instance (or this one) wrote to the database, and when it was read.
    shared_until: Option<Instant>,
    shared_read: Option<Instant>,
    /// Throttling or quota replies since the last message that went out.
    level: u32,
}

impl ConnectionPause {
    /// A throttling or quota reply came: pause (longer than the last time, and at least as
    /// long as the reply asks, see [`stated_delay`]). Returns how long.
    pub fn hit(&self, policy: &RetryPolicy, reply: Option<&str>) -> Duration {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.level = inner.level.saturating_add(1);
        let stated = reply.and_then(stated_delay).unwrap_or(Duration::ZERO);
        let pause = policy.delay_after_rate_limit(inner.level).max(stated);
        let until = Instant::now() + pause;
        inner.until = Some(inner.until.map_or(until, |u| u.max(until)));
        pause
    }

    /// A message went out: the next pause starts small again.
    pub fn delivered(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).level = 0;
    }

    /// How much of the pause (this instance's or the shared one) is left, if one is on.
    pub fn remaining(&self) -> Option<Duration> {
        let inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let until = inner.until.max(inner.shared_until)?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }

    /// Reads the shared pause when the last read is older than a second.
    pub async fn refresh(&self, db: &Db) {
        if db.dialect != Dialect::Postgres {
            return;
        }
        {
            let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if inner.shared_read.is_some_and(|at| at.elapsed() < SHARED_FRESH_FOR) {
                return;
            }
            // One reader at a time: the others go on with the value they have.
            inner.shared_read = Some(Instant::now());
        }
        match db.run(db::delivery_pause::load).await {
            Ok(until) => {
                let left = until.and_then(|u| (u - db::now()).to_std().ok());
                let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
                inner.shared_until = left.map(|d| Instant::now() + d);
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "reading the shared sending pause failed"),
        }
    }

    /// Writes a pause of `pause` from now for every instance (in the background).
    pub fn share(db: &Db, pause: Duration) {
        if db.dialect != Dialect::Postgres {
            return;
        }
        let until = db::now() + chrono::Duration::from_std(pause).unwrap_or_else(|_| chrono::Duration::hours(1));
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.run(move |conn| db::delivery_pause::extend(conn, until)).await {
                tracing::error!(error = format!("{e:#}"), "sharing the sending pause failed");
            }
        });
    }
}

/// The longest a reply may make every worker wait.
const STATED_MAX: Duration = Duration::from_secs(24 * 3600);

/// How long a throttling reply asks the client to wait, when it says so in words: "try
/// again in 60 seconds", "retry after 5 minutes", "in 2 hours" (English, as servers write it).
pub fn stated_delay(reply: &str) -> Option<Duration> {
    let words: Vec<String> = reply
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | ';' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.windows(3).find_map(|w| {
        if !matches!(w[0].as_str(), "in" | "after") {
            return None;
        }
        let n: u64 = w[1].parse().ok()?;
        let unit = match w[2].as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3600,
            _ => return None,
        };
        Some(Duration::from_secs(n.saturating_mul(unit)).min(STATED_MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_that_names_a_wait_is_obeyed() {
        assert_eq!(
            stated_delay("451 4.7.1 Rate limit exceeded, try again in 60 seconds"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(stated_delay("421 4.3.2 Please retry after 5 minutes."), Some(Duration::from_secs(300)));
        assert_eq!(stated_delay("451 4.7.500 Server busy. Please try again later from [192.0.2.1]."), None);
        assert_eq!(stated_delay("550 5.4.5 Daily sending quota exceeded"), None);
        let policy = RetryPolicy { max_attempts: 3, base: Duration::from_millis(200), cap: Duration::from_secs(1) };
        let pause = ConnectionPause::default();
        assert!(pause.hit(&policy, Some("452 4.3.1 try again in 30 s")) >= Duration::from_secs(30));
    }

    #[test]
    fn grows_with_each_reply_and_starts_small_after_a_delivery() {
        let policy = RetryPolicy { max_attempts: 3, base: Duration::from_secs(10), cap: Duration::from_secs(100) };
        let pause = ConnectionPause::default();
        assert!(pause.remaining().is_none());
        let first = pause.hit(&policy, None);
        let second = pause.hit(&policy, None);
        let third = pause.hit(&policy, None);
        assert!(first < second && second < third, "{first:?} {second:?} {third:?}");
        assert!(pause.remaining().is_some_and(|left| left > second));
        pause.delivered();
        assert!(pause.hit(&policy, None) <= Duration::from_secs(12));
    }
}
