//! Hand-over: a message accepted by this instance goes to this instance's workers directly.
//!
//! The accepting request already holds the message, so instead of storing it as "queued"
//! and having a worker claim it back from the database (an UPDATE, a SELECT of the body and,
//! on PostgreSQL, dead index entries for every message), the request stores it already
//! claimed by this instance and passes it to the workers in memory. The database stays the
//! truth: the claim carries a lease like any other, so if this instance dies, or a handed-
//! over message waits too long, the lease expires and the outbox path delivers it.
//!
//! A request reserves its place before storing; when the workers are far behind, new
//! messages are stored as "queued" and reach them through the outbox. The room is bounded
//! twice: by count, so that a message waits in memory for seconds, well within its lease;
//! and by the bytes of the messages, so that memory stays bounded with large ones.
//!
//! Each priority has its own channel, and workers take from `high` first: a one-time
//! password accepted behind thousands of invoices waits for at most one batch per worker.

use crate::db::messages::Claimed;
use postamt_wire::Priority;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Names hand-over claims among the workers' (`<instance>:handoff`).
pub const CLAIM_SUFFIX: &str = "handoff";

/// Messages waiting per worker. A burst that outruns the workers waits here rather than in
/// the outbox: on PostgreSQL a message claimed back from the outbox costs the server a
/// third more (an UPDATE that copies the row with its content, and the reads after it). At
/// the few thousand messages per second a worker sends, a full channel is a few seconds of
/// work, far within a claim's lease (see `still_ours`).
const PER_WORKER: usize = 4096;

/// Message bytes waiting per worker (the channel holds the parsed messages; sizes as
/// `OutgoingMessage::size` counts them).
const BYTES_PER_WORKER: usize = 16 * 1024 * 1024;

/// Larger messages are stored queued and read back by the worker that sends them, right
/// before sending.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A handed-over message, with its share of the byte budget (given back when a worker
/// takes it).
struct Waiting {
    claimed: Claimed,
    _bytes: OwnedSemaphorePermit,
}

pub struct Handoff {
    /// By priority rank: high, normal, low.
    tx: [mpsc::Sender<Waiting>; 3],
    rx: tokio::sync::Mutex<[mpsc::Receiver<Waiting>; 3]>,
    /// The byte budget, in KiB.
    kib: Arc<Semaphore>,
}

/// A reserved place in the channel; dropping it gives the place back.
pub struct Slot {
    place: mpsc::OwnedPermit<Waiting>,
    bytes: OwnedSemaphorePermit,
}

impl Slot {
    pub fn send(self, claimed: Claimed) {
        self.place.send(Waiting { claimed, _bytes: self.bytes });
    }
}

impl Handoff {
    pub fn new(workers: usize) -> Handoff {
        let workers = workers.max(1);
        let [(high, high_rx), (normal, normal_rx), (low, low_rx)] =
            [(); 3].map(|()| mpsc::channel(PER_WORKER * workers));
        let kib = Arc::new(Semaphore::new(BYTES_PER_WORKER / 1024 * workers));
        Handoff { tx: [high, normal, low], rx: tokio::sync::Mutex::new([high_rx, normal_rx, low_rx]), kib }
    }

    /// A place for one message of `message_bytes` and `priority`, if the workers are keeping
    /// up and it is small enough to wait in memory.
    pub fn reserve(&self, message_bytes: usize, priority: Priority) -> Option<Slot> {
        if message_bytes > MAX_MESSAGE_BYTES {
            return None;
        }
        let kib = u32::try_from(message_bytes.div_ceil(1024).max(1)).ok()?;
        let bytes = self.kib.clone().try_acquire_many_owned(kib).ok()?;
        let tx = &self.tx[usize::try_from(priority.rank()).unwrap_or(1)];
        let place = tx.clone().try_reserve_owned().ok()?;
        Some(Slot { place, bytes })
    }

    /// Up to `max` handed-over messages, without waiting, highest priority first.
    pub async fn take(&self, max: usize) -> Vec<Claimed> {
        let mut channels = self.rx.lock().await;
        let mut taken = Vec::new();
        for rx in channels.iter_mut() {
            while taken.len() < max {
                match rx.try_recv() {
                    Ok(waiting) => taken.push(waiting.claimed),
                    Err(_) => break,
                }
            }
        }
        taken
    }
}

/// Whether a handed-over message may still be sent under its claim: a session open, a
/// send and the wait for its answer (each up to `timeout`) plus a margin must end before
/// the lease does. Otherwise the message is left to expire and be claimed from the outbox
/// (never sent under a lapsed claim).
pub fn still_ours(lease_ends: Option<Instant>, timeout: Duration) -> bool {
    lease_ends.is_none_or(|end| Instant::now() + timeout * 3 + Duration::from_secs(5) < end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::messages::Content;

    #[test]
    fn a_claim_is_used_only_with_time_for_a_whole_attempt() {
        let timeout = Duration::from_secs(10);
        assert!(still_ours(None, timeout));
        assert!(still_ours(Some(Instant::now() + Duration::from_secs(40)), timeout));
        assert!(!still_ours(Some(Instant::now() + Duration::from_secs(34)), timeout));
        assert!(!still_ours(Some(Instant::now()), timeout));
    }

    #[tokio::test]
    async fn slots_run_out_and_come_back() {
        let handoff = Handoff::new(1);
        let slots: Vec<Slot> =
            std::iter::from_fn(|| handoff.reserve(100, Priority::Normal)).take(PER_WORKER + 1).collect();
        assert_eq!(slots.len(), PER_WORKER, "the channel holds PER_WORKER per worker");
        assert!(handoff.reserve(100, Priority::High).is_some(), "a full normal channel leaves room for high");
        drop(slots);
        assert!(handoff.reserve(100, Priority::Normal).is_some(), "dropped reservations are free again");
        assert!(
            handoff.reserve(MAX_MESSAGE_BYTES + 1, Priority::Normal).is_none(),
            "large messages go through the outbox"
        );
        assert!(handoff.take(10).await.is_empty());
    }

    fn claimed(id: &str) -> Claimed {
        Claimed {
            id: id.into(),
            category: "c".into(),
            priority: Priority::Normal,
            attempts: 0,
            created_at: crate::db::now(),
            content: Some(Content::Stored(vec![0; 10])),
            lease_ends: None,
        }
    }

    /// Large messages fill the byte budget before the count: memory stays bounded. A
    /// worker taking a message gives its bytes back.
    #[tokio::test]
    async fn the_bytes_waiting_are_bounded() {
        let handoff = Handoff::new(1);
        let per_message = MAX_MESSAGE_BYTES;
        let fit = BYTES_PER_WORKER / per_message;
        let slots: Vec<Slot> =
            std::iter::from_fn(|| handoff.reserve(per_message, Priority::Normal)).take(fit + 1).collect();
        assert_eq!(slots.len(), fit, "no more than BYTES_PER_WORKER of content waits");
        assert!(handoff.reserve(per_message, Priority::Normal).is_none());
        for (n, slot) in slots.into_iter().enumerate() {
            slot.send(claimed(&n.to_string()));
        }
        assert!(handoff.reserve(per_message, Priority::Normal).is_none(), "sent messages hold their bytes until taken");
        assert_eq!(handoff.take(1).await.len(), 1);
        assert!(handoff.reserve(per_message, Priority::Normal).is_some(), "a taken message's bytes are free again");
    }

    /// A high message handed over after low and normal ones is taken first.
    #[tokio::test]
    async fn high_priority_is_taken_first() {
        let handoff = Handoff::new(1);
        for (id, priority) in [("low", Priority::Low), ("normal", Priority::Normal), ("high", Priority::High)] {
            let slot = handoff.reserve(100, priority).expect("room");
            slot.send(Claimed { priority, ..claimed(id) });
        }
        let taken: Vec<String> = handoff.take(2).await.into_iter().map(|c| c.id).collect();
        assert_eq!(taken, ["high", "normal"]);
        assert_eq!(handoff.take(5).await.len(), 1);
    }
}
