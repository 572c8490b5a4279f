//! A worker's record of each attempt: the message's new state, its log entry and the
//! metrics, queued for the writer's next commit (see `db::record_round`).

use super::{lease, Worker, RECORD_WITHIN};
use crate::db::mail_log::{Details, NewEntry};
use crate::db::messages::{Claimed, Completion};
use crate::db::now;
use crate::db::record_round::Record;
use crate::db::utc;
use crate::delivery::failover::fails_over;
use crate::delivery::route::Route;
use postamt_smtp::delivery::DeliveryFailure;
use postamt_wire::{LogKind, MailConnection, MessageStatus, PolicyHeaders};
use std::time::{Duration, Instant};

impl Worker {
    /// Records the attempt: message status, log entry and metrics. The record is queued for
    /// the writer's next commit; [`Self::recorded`] waits for it.
    pub(super) fn record(
        &mut self,
        msg: &Claimed,
        recipients: &[String],
        route: Option<&Route>,
        via: Option<MailConnection>,
        result: Result<(String, u64), DeliveryFailure>,
        headers: Option<&PolicyHeaders>,
    ) {
        let attempt = u32::try_from(msg.attempts).unwrap_or(0) + 1;
        let delivery = &self.state.delivery;
        let metrics = &self.state.metrics;
        let (completion, status, log_reply, failure, duration_ms) = match &result {
            Ok((reply, ms)) => {
                self.state.pause.delivered();
                let via = via.unwrap_or_default();
                self.state.failover.delivered(&self.state.db, &delivery.instance_id, via);
                let latency = (chrono::Utc::now() - utc(msg.created_at)).num_milliseconds().max(0) as f64 / 1000.0;
                metrics.sent(latency, via);
                (Completion::Sent, MessageStatus::Sent, Some(reply.clone()), None, *ms)
            }
            Err(f) => {
                let fallback_takes_over = via == Some(MailConnection::Primary)
                    && route.is_some_and(|r| r.fallback.is_some())
                    && fails_over(f.class, false);
                let next = if fallback_takes_over {
                    // Throttled or over quota at the primary (an answer read late): the
                    // fallback sends it next, no pause (see `failover`).
                    if let Some(route) = route {
                        self.state.failover.primary_failed(
                            &self.state.db,
                            &delivery.instance_id,
                            route.version,
                            f.class,
                            delivery.primary_retry,
                        );
                    }
                    Some(Duration::ZERO)
                } else if f.class.is_rate_limit() {
                    let pause = self.state.pause.hit(&delivery.retry, f.reply.as_deref());
                    crate::delivery::pause::ConnectionPause::share(&self.state.db, pause);
                    tracing::warn!(
                        class = f.class.as_str(),
                        pause_ms = pause.as_millis() as u64,
                        "the server limits sending: pausing"
                    );
                    Some(delivery.retry.delay_after_rate_limit(attempt))
                } else {
                    (!f.permanent).then(|| delivery.retry.delay_after(attempt)).flatten()
                };
                let (completion, status) = match next {
                    Some(delay) => {
                        metrics.retry(f.class.as_str());
                        let at =
                            now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1));
                        if let Some((_, due)) = self.due_known.as_mut() {
                            *due = Some(due.map_or(at, |d| d.min(at)));
                        }
                        (Completion::Retry { at }, MessageStatus::Retrying)
                    }
                    None => {
                        metrics.failed(f.class.as_str());
                        (
                            Completion::Failed { keep_body_until: now() + delivery.failed_retention },
                            MessageStatus::Failed,
                        )
                    }
                };
                (completion, status, f.reply.clone(), Some(f), 0)
            }
        };
        let entry = NewEntry {
            at: now(),
            kind: LogKind::Delivery,
            message_id: Some(msg.id.clone()),
            category: msg.category.clone(),
            status,
            recipients: recipients.to_vec(),
            sender: headers.map(|h| h.envelope_from.clone()).unwrap_or_default(),
            attempt: Some(attempt),
            stage: failure.map(|f| f.stage),
            class: failure.map(|f| f.class),
            smtp_reply: log_reply,
            duration_ms,
            details: Details {
                field: failure.and_then(|f| f.field),
                hint_de: failure.map(|f| f.hint_de.clone()),
                hint_en: failure.map(|f| f.hint_en.clone()),
                server: route.map(|r| r.server_of(via.unwrap_or_default()).to_owned()),
                connection: via.filter(|_| route.is_some()),
            },
        };
        if let Some(f) = failure {
            tracing::warn!(message = %msg.id, attempt, class = f.class.as_str(), stage = f.stage.as_str(), permanent = f.permanent, "delivery attempt failed");
        }
        match Record::new(msg.id.clone(), completion, headers, entry) {
            Ok(record) => self.round.push(record),
            // Its claim expires and the message is tried again (at-least-once).
            Err(e) => tracing::error!(error = format!("{e:#}"), message = %msg.id, "an attempt record cannot be made"),
        }
        // A sent message whose record is lost in a crash is sent again: records wait for the
        // round's end only while that is soon (a slow server makes long rounds).
        let since = *self.round_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= RECORD_WITHIN {
            self.submit(None);
        }
        // Renew the worker's claims once half the lease is gone, even mid-round (a round of
        // slow sends must not outlive its claims); not per message: on PostgreSQL each
        // renewal walks the claimed rows.
        let timeout = route.map_or(Duration::from_secs(60), |r| r.config.timeout);
        let half_lease = lease(timeout).to_std().unwrap_or(Duration::from_secs(60)) / 2;
        if self.lease_renewed.elapsed() > half_lease {
            self.lease_renewed = Instant::now();
            self.submit(Some((self.id.clone(), now() + lease(timeout))));
        }
    }
}
