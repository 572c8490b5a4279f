//! Counters for `GET /metrics` (Prometheus text format), per instance.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the delivery latency histogram: acceptance to sent.
const LATENCY_BUCKETS: [f64; 12] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    sent: AtomicU64,
    /// Of `sent`, those the fallback server took.
    sent_fallback: AtomicU64,
    failed: Mutex<BTreeMap<&'static str, u64>>,
    retries: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    oauth_tokens: AtomicU64,
    oauth_failures: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sent(&self, latency_seconds: f64, via: postamt_wire::MailConnection) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if via == postamt_wire::MailConnection::Fallback {
            self.sent_fallback.fetch_add(1, Ordering::Relaxed);
        }
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if latency_seconds <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add((latency_seconds.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn failed(&self, class: &'static str) {
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()).entry(class).or_default() += 1;
    }

    pub fn retry(&self, class: &'static str) {
        *self.retries.lock().unwrap_or_else(|p| p.into_inner()).entry(class).or_default() += 1;
    }

    /// An OAuth 2.0 access token was issued (or refreshed) by the provider.
    pub fn oauth_token(&self) {
        self.oauth_tokens.fetch_add(1, Ordering::Relaxed);
    }

    /// A token request failed, by `oauth_*` class.
    pub fn oauth_failure(&self, class: &'static str) {
        *self.oauth_failures.lock().unwrap_or_else(|p| p.into_inner()).entry(class).or_default() += 1;
    }

    /// The exposition, with the outbox depth read by the caller.
    pub fn render(&self, outbox_depth: i64) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter(
            &mut out,
            "postamt_messages_accepted_total",
            "Messages accepted by the send API.",
            self.accepted.load(Ordering::Relaxed),
        );
        let (sent, fallback) = (self.sent.load(Ordering::Relaxed), self.sent_fallback.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP postamt_messages_sent_total Messages delivered, by connection (primary or fallback server).\n\
             # TYPE postamt_messages_sent_total counter\n\
             postamt_messages_sent_total{{connection=\"primary\"}} {}\n\
             postamt_messages_sent_total{{connection=\"fallback\"}} {fallback}",
            sent.saturating_sub(fallback)
        );
        let labelled = |out: &mut String, name: &str, help: &str, map: &Mutex<BTreeMap<&'static str, u64>>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (class, n) in map.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                let _ = writeln!(out, "{name}{{class=\"{class}\"}} {n}");
            }
        };
        labelled(
            &mut out,
            "postamt_messages_failed_total",
            "Messages failed for good, by failure class.",
            &self.failed,
        );
        labelled(
            &mut out,
            "postamt_delivery_retries_total",
            "Temporary failures that scheduled a retry, by class.",
            &self.retries,
        );
        counter(
            &mut out,
            "postamt_oauth_tokens_issued_total",
            "OAuth 2.0 access tokens issued or refreshed by the provider.",
            self.oauth_tokens.load(Ordering::Relaxed),
        );
        labelled(
            &mut out,
            "postamt_oauth_token_failures_total",
            "Failed OAuth 2.0 token requests (refresh, client credentials, service account), by class.",
            &self.oauth_failures,
        );
        let _ = writeln!(
            out,
            "# HELP postamt_outbox_depth Messages queued, retrying or being sent (all instances).\n\
             # TYPE postamt_outbox_depth gauge\npostamt_outbox_depth {outbox_depth}"
        );
        let name = "postamt_delivery_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Time from acceptance to delivery.\n# TYPE {name} histogram");
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ =
                writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", self.latency_buckets[i].load(Ordering::Relaxed));
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}
