//! Hand-over: a message accepted by this instance goes to this instance's workers directly.
//!
//! The accepting request already holds the message, so instead of storing it as "queued"
//! and having a worker claim it back from the database (an UPDATE, a SELECT of the body and,
//! on PostgreSQL, dead index entries for every message), the request stores it already
//! claimed by this instance and passes it to the workers in memory. The database stays the
//! truth: the claim carries a lease like any other, so if this instance dies, or a handed-
//! over message waits too long, the lease expires and the outbox path delivers it.
//!
//! The channel is small and a request reserves its slot before storing: when the workers
//! are behind, new messages are stored as "queued" and reach them through the outbox.

use crate::db::messages::Claimed;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Names hand-over claims among the workers' (`<instance>:handoff`).
pub const CLAIM_SUFFIX: &str = "handoff";

/// Room for a few batches per worker: enough to keep them busy, little enough that a
/// message never waits long in memory.
const PER_WORKER: usize = 64;

/// Messages whose stored (compressed, see `domain::outgoing::stored`) content is larger are
/// stored queued and read back by the worker that sends them: the channel holds that content, and 64 per worker of up to the size limit (25 MiB
/// by default) would be gigabytes. At this size a full channel holds 16 MiB per worker.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;

pub struct Handoff {
    tx: mpsc::Sender<Claimed>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Claimed>>,
}

/// A reserved place in the channel; dropping it gives the place back.
pub type Slot = mpsc::OwnedPermit<Claimed>;

impl Handoff {
    pub fn new(workers: usize) -> Handoff {
        let (tx, rx) = mpsc::channel(PER_WORKER * workers.max(1));
        Handoff { tx, rx: tokio::sync::Mutex::new(rx) }
    }

    /// A place for one message of `content_bytes`, if the workers are keeping up and it is
    /// small enough to wait in memory.
    pub fn reserve(&self, content_bytes: usize) -> Option<Slot> {
        if content_bytes > MAX_CONTENT_BYTES {
            return None;
        }
        self.tx.clone().try_reserve_owned().ok()
    }

    /// Up to `max` handed-over messages, without waiting.
    pub async fn take(&self, max: usize) -> Vec<Claimed> {
        let mut rx = self.rx.lock().await;
        let mut taken = Vec::new();
        while taken.len() < max {
            match rx.try_recv() {
                Ok(msg) => taken.push(msg),
                Err(_) => break,
            }
        }
        taken
    }
}

/// Whether a handed-over message may still be sent under its claim: a session open and a
/// send (each up to `timeout`) plus a margin must end before the lease does. Otherwise the
/// message is left to expire and be claimed from the outbox (never sent under a lapsed claim).
pub fn still_ours(lease_ends: Option<Instant>, timeout: Duration) -> bool {
    lease_ends.is_none_or(|end| Instant::now() + timeout * 2 + Duration::from_secs(5) < end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_used_only_with_time_for_a_whole_attempt() {
        let timeout = Duration::from_secs(10);
        assert!(still_ours(None, timeout));
        assert!(still_ours(Some(Instant::now() + Duration::from_secs(40)), timeout));
        assert!(!still_ours(Some(Instant::now() + Duration::from_secs(24)), timeout));
        assert!(!still_ours(Some(Instant::now()), timeout));
    }

    #[tokio::test]
    async fn slots_run_out_and_come_back() {
        let handoff = Handoff::new(1);
        let slots: Vec<Slot> = std::iter::from_fn(|| handoff.reserve(100)).take(PER_WORKER + 1).collect();
        assert_eq!(slots.len(), PER_WORKER, "the channel holds PER_WORKER per worker");
        drop(slots);
        assert!(handoff.reserve(100).is_some(), "dropped reservations are free again");
        assert!(handoff.reserve(MAX_CONTENT_BYTES + 1).is_none(), "large messages go through the outbox");
        assert!(handoff.take(10).await.is_empty());
    }
}
