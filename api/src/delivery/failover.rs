//! Failover to the fallback server.
//!
//! Map:
//! - `route::Route` holds both connections (`Route::fallback` when one is saved); the worker
//!   asks [`Failover::choose`] which one the next session goes to.
//! - The worker tells this module what happened: [`Failover::primary_failed`] when the
//!   primary fails for a reason of the connection ([`fails_over`]: it cannot be opened, or
//!   it answers with a throttling or quota reply), [`Failover::delivered`] when a message
//!   went out (over either connection).
//! - A message's own rejection (a recipient refused, content rejected) never fails over.
//!
//! While the primary is down the next messages go straight to the fallback; every
//! `interval` (`--primary-retry-seconds`, 15 s, doubling up to 5 min) one session tries the primary again, and the
//! first message it delivers there ends the incident. Without a fallback nothing here
//! changes delivery: the primary is always chosen (and a throttling reply pauses sending,
//! `delivery::pause`).
//!
//! The state is this instance's, in memory (no query per message). Its transitions
//! (primary down, fallback first used, primary back) are written to the shared row
//! `failover_state` (`db::failover_state`) in the background, so other code and other
//! instances can read "primary down, fallback in use" with [`shared_state`].

use crate::db::failover_state::{FailoverState, Transition};
use crate::db::{self, Db};
use postamt_wire::{FailureClass, MailConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest wait between two tries of the primary.
pub const RETRY_PRIMARY_MAX: Duration = Duration::from_secs(300);

/// This instance's view of the primary connection.
#[derive(Default)]
pub struct Failover {
    inner: Mutex<Inner>,
    /// Mirrors `inner.down.is_some()`: a delivered message takes no lock unless the primary
    /// is down.
    any_down: AtomicBool,
    /// The transitions to write, in the order they happened: one task writes them one after
    /// the other (a task per transition let "fallback used" land before "primary down",
    /// which then read as a fallback never used).
    writes: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<(Transition, String)>>,
}

#[derive(Default)]
struct Inner {
    down: Option<Down>,
}

struct Down {
    /// When the primary is tried again (by one session; the others keep to the fallback).
    retry_at: Instant,
    /// The wait after the next failed try.
    interval: Duration,
    /// The settings version it went down under: a change of the settings tries it at once.
    version: i64,
    /// The fallback delivered in this incident (its first delivery is a transition).
    fallback_used: bool,
}

/// Whether a failure of the primary moves delivery to the fallback: anything about the
/// connection (connect, TLS, greeting, sign-in, OAuth token) and throttling or quota replies.
/// Never a message's own rejection.
pub fn fails_over(class: FailureClass, at_open: bool) -> bool {
    if class.is_rate_limit() {
        return true;
    }
    // At open nothing of a message was sent yet: the connection itself failed. Later, only
    // the sender's limits are the connection's; anything else is about the message.
    at_open
}

impl Failover {
    /// Which connection the next session opens. `has_fallback`: one is saved.
    pub fn choose(&self, version: i64, has_fallback: bool) -> MailConnection {
        if !has_fallback {
            return MailConnection::Primary;
        }
        let mut inner = self.lock();
        let Some(down) = inner.down.as_mut() else { return MailConnection::Primary };
        let now = Instant::now();
        if down.version != version {
            down.version = version;
            down.retry_at = now;
        }
        if now >= down.retry_at {
            // This session tries the primary; the others keep to the fallback meanwhile.
            down.retry_at = now + down.interval;
            return MailConnection::Primary;
        }
        MailConnection::Fallback
    }

    /// Whether the primary counts as down here.
    pub fn primary_down(&self) -> bool {
        self.any_down.load(Ordering::Acquire)
    }

    /// The primary failed for a reason of the connection (see [`fails_over`]), with a
    /// fallback there to take over. `first`: the first wait before it is tried again
    /// (`--primary-retry-seconds`).
    pub fn primary_failed(&self, db: &Db, instance: &str, version: i64, class: FailureClass, first: Duration) {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.down.as_mut() {
            Some(down) => {
                down.retry_at = now + down.interval;
                down.interval = (down.interval * 2).min(RETRY_PRIMARY_MAX);
            }
            None => {
                inner.down = Some(Down {
                    retry_at: now + first,
                    interval: (first * 2).min(RETRY_PRIMARY_MAX),
                    version,
                    fallback_used: false,
                });
                self.any_down.store(true, Ordering::Release);
                drop(inner);
                tracing::warn!(
                    class = class.as_str(),
                    "the primary SMTP connection fails: delivering over the fallback server"
                );
                self.write(db, instance, Transition::PrimaryDown(class.as_str().to_owned()));
            }
        }
    }

    /// A message went out over `via`.
    pub fn delivered(&self, db: &Db, instance: &str, via: MailConnection) {
        if !self.any_down.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self.lock();
        let Some(down) = inner.down.as_mut() else { return };
        match via {
            MailConnection::Primary => {
                inner.down = None;
                self.any_down.store(false, Ordering::Release);
                drop(inner);
                tracing::info!("the primary SMTP connection delivers again: back from the fallback server");
                self.write(db, instance, Transition::PrimaryBack);
            }
            MailConnection::Fallback if !down.fallback_used => {
                down.fallback_used = true;
                drop(inner);
                self.write(db, instance, Transition::FallbackUsed);
            }
            MailConnection::Fallback => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Failover {
    /// Writes a transition to the shared row, in the background (delivery does not wait),
    /// after those before it.
    fn write(&self, db: &Db, instance: &str, transition: Transition) {
        let writes = self.writes.get_or_init(|| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Transition, String)>();
            let db = db.clone();
            tokio::spawn(async move {
                while let Some((transition, instance)) = rx.recv().await {
                    let written = db.run(move |conn| db::failover_state::record(conn, &transition, &instance)).await;
                    if let Err(e) = written {
                        tracing::error!(error = format!("{e:#}"), "recording a failover transition failed");
                    }
                }
            });
            tx
        });
        if writes.send((transition, instance.to_owned())).is_err() {
            tracing::error!("the failover transition writer stopped");
        }
    }
}

/// The shared state, as the last transition of any instance left it: whether the primary
/// is down (since when, why) and whether the fallback is in use. For alerts and status.
pub async fn shared_state(db: &Db) -> anyhow::Result<FailoverState> {
    db.run(db::failover_state::load).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_failures_fail_over() {
        assert!(fails_over(FailureClass::ConnectionRefused, true));
        assert!(fails_over(FailureClass::CredentialsRejected, true));
        assert!(fails_over(FailureClass::Throttled, false));
        assert!(fails_over(FailureClass::QuotaExceeded, false));
        assert!(!fails_over(FailureClass::RecipientRejected, false));
        assert!(!fails_over(FailureClass::MessageRejected, false));
        assert!(!fails_over(FailureClass::TemporaryFailure, false));
    }

    #[test]
    fn without_a_fallback_the_primary_is_always_chosen() {
        let failover = Failover::default();
        failover.any_down.store(true, Ordering::Release);
        failover.lock().down = Some(Down {
            retry_at: Instant::now() + Duration::from_secs(60),
            interval: Duration::from_secs(15),
            version: 1,
            fallback_used: false,
        });
        assert_eq!(failover.choose(1, false), MailConnection::Primary);
        assert_eq!(failover.choose(1, true), MailConnection::Fallback);
        // A settings change tries the primary at once, then waits again.
        assert_eq!(failover.choose(2, true), MailConnection::Primary);
        assert_eq!(failover.choose(2, true), MailConnection::Fallback);
    }
}
