//! Delivery: the workers that take accepted messages from the outbox to the SMTP server.
//!
//! Each worker holds at most one open SMTP session (so the pool has one connection per
//! worker), reuses it across messages, and reopens it when the saved settings change:
//! a settings change applies without a restart, to the next round of deliveries on the
//! instance where it was saved and within 0.1 s on the others.

mod backoff;
pub mod compose;
pub mod failover;
pub mod handoff;
pub mod limits;
pub mod metrics;
pub mod pause;
pub mod priority;
mod retention;
mod route;
mod worker;

pub use backoff::RetryPolicy;
pub use retention::spawn_retention;
pub use worker::{lease, release_own_claims, release_stale_claims, spawn_workers};

use std::time::Duration;

/// Delivery settings from the command line.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    pub workers: usize,
    pub retry: RetryPolicy,
    /// How long a failed message's content is kept for a resend.
    pub failed_retention: chrono::Duration,
    pub log_retention: chrono::Duration,
    /// Names this instance's claims (`<instance>:<worker>`).
    pub instance_id: String,
    /// Whether `instance_id` was configured (stable across restarts).
    pub instance_id_configured: bool,
    /// How often idle workers look for due messages that another instance accepted.
    pub poll_interval: Duration,
    /// The priority of a message whose request names none.
    pub category_priorities: priority::CategoryPriorities,
    /// With a fallback server: the first wait before a failed primary is tried again
    /// (doubling up to 5 minutes, see `failover`).
    pub primary_retry: Duration,
}
