//! The delivery loop of one worker (this file), its turns under sending limits
//! (`limited`) and its record of each attempt (`record`).

mod limited;
mod record;

use super::compose::compose;
use super::failover::fails_over;
use super::handoff;
use super::limits;
use super::route::{internal_failure, Route};
use crate::db::messages::{Claimed, Content};
use crate::db::record_round::{self, Record, RoundOutcome};
use crate::db::{self, now, Durability, Pending};
use crate::domain::outgoing::{stored, OutgoingMessage};
use crate::fresh_cache::Generation;
use crate::state::AppState;
use actix_web::web;
use postamt_smtp::delivery::{DeliveryFailure, SmtpSession, Submission, Submitted};
use postamt_smtp::DeliveryReceipt;
use postamt_wire::{EffectiveSender, FailureClass, MailConnection, PolicyHeaders};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages claimed at once by a worker.
const BATCH: i64 = 32;
/// How often a worker claims from the outbox when nothing told it to.
const OUTBOX_EVERY: Duration = Duration::from_secs(1);
/// Claimed messages up to this size come with their content; larger ones are read one at
/// a time, right before they are sent (the same bound as for hand-over).
const INLINE_UP_TO: i64 = handoff::MAX_MESSAGE_BYTES as i64;
/// At most this long between an attempt and the submission of its record.
const RECORD_WITHIN: Duration = Duration::from_millis(50);
/// How often a worker looks for claims that expired (see `db::messages::claim`).
const RECLAIM_EVERY: Duration = Duration::from_secs(10);
/// An idle connection is closed after this long (servers drop idle clients anyway).
const IDLE_CLOSE: Duration = Duration::from_secs(30);
/// A worker held back by a sending limit asks again after at most this long, so that a
/// raised limit or a freed session is seen soon.
const HELD_RECHECK: Duration = Duration::from_secs(2);
/// A round reuses the settings the previous round read if they are at most this old and
/// were not changed on this instance since. Reading them cost a worker about a millisecond
/// per round (a blocking-pool hop and two round trips on PostgreSQL) while its SMTP
/// connection waited: with it, 20-25 % fewer messages were delivered while a burst was being
/// accepted. A change on another instance is seen within this time.
const ROUTE_FRESH_FOR: Duration = Duration::from_millis(100);

pub fn spawn_workers(state: web::Data<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..state.delivery.workers)
        .map(|n| {
            let state = state.clone();
            tokio::spawn(async move { Worker::new(state, n).run().await })
        })
        .collect()
}

/// Gives this instance's claims back to the queue when it stops: the messages its workers
/// had claimed but not sent (the rest of a batch, hand-overs not yet taken, a message cut
/// off by the shutdown's grace time) are sent by another instance or after the restart,
/// and are neither lost nor counted as a failed attempt.
pub async fn release_own_claims(state: &AppState) -> anyhow::Result<usize> {
    let prefix = format!("{}:", state.delivery.instance_id);
    state.db.run(move |conn| db::messages::release_claims(conn, &prefix)).await
}

/// Gives messages claimed by a dead process back to the queue at start-up: on SQLite (one
/// instance) all of them; on PostgreSQL those of this `--instance-id`, when configured.
/// Otherwise the claims of a dead instance expire after their lease.
pub async fn release_stale_claims(state: &AppState) -> anyhow::Result<usize> {
    let prefix = match (state.db.dialect, state.delivery.instance_id_configured) {
        (db::Dialect::Sqlite, _) => Some(String::new()),
        (db::Dialect::Postgres, true) => Some(format!("{}:", state.delivery.instance_id)),
        (db::Dialect::Postgres, false) => None,
    };
    match prefix {
        Some(prefix) => state.db.run(move |conn| db::messages::release_claims(conn, &prefix)).await,
        None => Ok(0),
    }
}

struct OpenSession {
    settings_version: i64,
    /// Which server it is connected to.
    via: MailConnection,
    session: SmtpSession,
    last_used: Instant,
}

/// A message whose content went out and whose answer the server has yet to give. It is read
/// when the next message is submitted (its envelope follows the content without waiting:
/// one round trip per message instead of two), or by [`Worker::settle`] before the worker
/// waits or changes connections.
struct InFlight {
    msg: Claimed,
    recipients: Vec<String>,
    headers: PolicyHeaders,
    route: Arc<Route>,
    via: MailConnection,
}

struct Worker {
    state: web::Data<AppState>,
    id: String,
    open: Option<OpenSession>,
    /// Pending on `open` exactly when its session [`is_pending`](SmtpSession::is_pending).
    in_flight: Option<InFlight>,
    /// When the current batch's claims were taken or last renewed.
    lease_renewed: Instant,
    /// Attempt records of the current round, written together at its end (see
    /// `db::record_round`), or sooner once the oldest is `RECORD_WITHIN` old.
    round: Vec<Record>,
    /// When the oldest record in `round` was made.
    round_since: Option<Instant>,
    /// This round's record jobs, submitted to the writer.
    submitted: Vec<Pending<RoundOutcome>>,
    /// The previous round's record jobs: awaited at the end of the current round, so that
    /// the commit overlaps with sending instead of stalling the worker, while a worker
    /// never has more than two rounds of records outstanding.
    committing: Vec<Pending<RoundOutcome>>,
    /// When this worker last looked for expired claims.
    reclaimed_at: Option<Instant>,
    /// When this worker last claimed from the outbox.
    outbox_checked: Instant,
    /// Claim from the outbox in the next round: the last claim was full, or something is due.
    claim_now: bool,
    /// The settings' timeout at the last delivery, for the lease of the next claim.
    claim_timeout: Duration,
    /// When the next queued or retrying message is due, as last read (and when it was
    /// read): an idle worker sleeps until then without asking the database every time.
    due_known: Option<(Instant, Option<chrono::NaiveDateTime>)>,
    /// The last round's route: when its read began, and the local settings generation then.
    last_route: Option<(Instant, Generation, Arc<Route>)>,
    /// Holds one of the leases of the concurrent-sessions limit (see `delivery::limits`).
    session_lease: bool,
}

impl Worker {
    fn new(state: web::Data<AppState>, n: usize) -> Self {
        let id = format!("{}:{n}", state.delivery.instance_id);
        Worker {
            state,
            id,
            open: None,
            in_flight: None,
            lease_renewed: Instant::now(),
            round: Vec::new(),
            round_since: None,
            submitted: Vec::new(),
            committing: Vec::new(),
            reclaimed_at: None,
            outbox_checked: Instant::now(),
            claim_now: true,
            claim_timeout: Duration::from_secs(60),
            due_known: None,
            last_route: None,
            session_lease: false,
        }
    }

    /// Delivers until the instance shuts down (`AppState::shutdown`), then ends cleanly:
    /// see [`Self::stop`].
    async fn run(mut self) {
        while !self.state.shutdown.is_cancelled() {
            self.state.pause.refresh(&self.state.db).await;
            if let Some(left) = self.state.pause.remaining() {
                // Throttled: hold what is in flight, send nothing new until the pause ends.
                self.settle().await;
                self.all_recorded().await;
                tokio::select! {
                    _ = tokio::time::sleep(left) => {}
                    _ = self.state.shutdown.cancelled() => {}
                }
                continue;
            }
            // Under sending limits every message takes its turn (`delivery::limits`).
            let (batch, slots) = match limits::in_force(&self.state).await {
                Some(limits) => match self.limited_turn(limits).await {
                    Some(granted) => granted.into_iter().unzip(),
                    None => continue,
                },
                None => {
                    let mut batch = self.state.handoff.take(BATCH as usize).await;
                    if self.outbox_due() {
                        let claimed = self.claim(self.claim_timeout).await;
                        // A full batch: more may be waiting.
                        self.claim_now = claimed.len() == BATCH as usize;
                        batch.extend(claimed);
                    }
                    (batch, Vec::new())
                }
            };
            if batch.is_empty() {
                self.settle().await;
                self.all_recorded().await;
                self.idle().await;
                continue;
            }
            // The settings are read only with work in hand: idle rounds cost no query.
            let (read_at, generation) = (Instant::now(), self.state.settings.generation());
            let route = match self.last_route.take() {
                Some((at, read_in, route)) if at.elapsed() < ROUTE_FRESH_FOR && read_in == generation => {
                    Ok((at, read_in, route))
                }
                _ => Route::load(&self.state).await.map(|route| (read_at, generation, Arc::new(route))),
            };
            if let Ok((.., route)) = &route {
                self.claim_timeout = route.config.timeout;
            }
            let (read_at, generation, route) = match route {
                Ok(route) => route,
                Err(failure) => {
                    for msg in batch {
                        self.record(&msg, &[], None, None, Err(failure.clone()), None);
                    }
                    self.recorded().await;
                    continue;
                }
            };
            let mut open_failure: Option<(DeliveryFailure, MailConnection)> = None;
            let mut batch = batch.into_iter();
            let mut slots = slots.into_iter();
            for msg in batch.by_ref() {
                // The message being sent is finished; the rest of the batch stays claimed
                // and is queued again when the instance has stopped (`release_own_claims`).
                if self.state.shutdown.is_cancelled() {
                    break;
                }
                if let Some(slot) = slots.next() {
                    self.wait_for_slot(slot).await;
                }
                self.deliver(msg, &route, &mut open_failure).await;
                if self.state.pause.remaining().is_some() {
                    break;
                }
            }
            self.last_route = Some((read_at, generation, route));
            self.recorded().await;
            let unsent: Vec<String> = batch.map(|m| m.id).collect();
            if !unsent.is_empty() && !self.state.shutdown.is_cancelled() {
                self.give_back(unsent).await;
            }
        }
        self.stop().await;
    }

    /// A pause began mid-batch: the messages not sent go back to the queue as they were.
    async fn give_back(&mut self, ids: Vec<String>) {
        self.settle().await;
        self.all_recorded().await;
        let n = ids.len();
        match self.state.db.run(move |conn| db::messages::release_ids(conn, &ids)).await {
            Ok(_) => tracing::info!(messages = n, "sending paused: the rest of the batch is queued again"),
            // Not lost: their claims expire and the outbox sends them then.
            Err(e) => tracing::error!(error = format!("{e:#}"), "queueing a paused batch again failed"),
        }
    }

    /// At shutdown: reads the answer to the message in flight, commits every record, then
    /// ends the SMTP session with QUIT and a TLS close_notify, so the server neither logs
    /// an aborted connection nor keeps a half-received message.
    async fn stop(&mut self) {
        self.settle().await;
        self.all_recorded().await;
        self.close_session().await;
        tracing::debug!(worker = %self.id, "delivery worker stopped");
    }

    /// Whether to claim from the outbox this round. Retries, messages stored queued while the
    /// workers were behind, and those another instance accepted wait there; handed-over
    /// messages do not, so a round with only those (the common case) makes no claim query.
    fn outbox_due(&mut self) -> bool {
        let due = std::mem::take(&mut self.claim_now)
            || self.state.outbox_pending.swap(false, std::sync::atomic::Ordering::AcqRel)
            || self.outbox_checked.elapsed() > OUTBOX_EVERY;
        if due {
            self.outbox_checked = Instant::now();
        }
        due
    }

    /// Submits the round's records to the writer, with a renewal of this worker's claims.
    fn submit(&mut self, renew: Option<(String, chrono::NaiveDateTime)>) {
        if self.round.is_empty() && renew.is_none() {
            return;
        }
        let records = std::mem::take(&mut self.round);
        self.round_since = None;
        let pending = record_round::submit(&self.state.db, records, renew);
        self.submitted.push(pending);
    }

    /// Ends a round: submits its records, waits for the previous round's to be committed
    /// and leaves this round's committing.
    async fn recorded(&mut self) {
        self.submit(None);
        let previous = std::mem::replace(&mut self.committing, std::mem::take(&mut self.submitted));
        Self::await_records(previous).await;
    }

    /// Before sleeping: every record committed.
    async fn all_recorded(&mut self) {
        self.recorded().await;
        Self::await_records(std::mem::take(&mut self.committing)).await;
    }

    async fn await_records(jobs: Vec<Pending<RoundOutcome>>) {
        for pending in jobs {
            // The claim expires and the message is tried again: at-least-once.
            match pending.await {
                Ok(failed) => {
                    for (message, e) in failed {
                        tracing::error!(error = format!("{e:#}"), message = %message, "recording a delivery attempt failed");
                    }
                }
                Err(e) => tracing::error!(error = format!("{e:#}"), "recording a round of delivery attempts failed"),
            }
        }
    }

    async fn claim(&mut self, timeout: Duration) -> Vec<Claimed> {
        let id = self.id.clone();
        let lease = lease(timeout);
        // Claims of a dead instance expire after their lease; looking for them once per
        // RECLAIM_EVERY is soon enough and spares the other claims that scan.
        let reclaim = self.reclaimed_at.is_none_or(|at| at.elapsed() > RECLAIM_EVERY);
        if reclaim {
            self.reclaimed_at = Some(Instant::now());
        }
        let claimed = self.state.db.write(Durability::Relaxed, move |conn| {
            db::messages::claim(conn, &id, BATCH, lease, reclaim, INLINE_UP_TO)
        });
        match claimed.await {
            Ok(batch) => {
                self.lease_renewed = Instant::now();
                // What is due changed: the next idle round reads it again.
                self.due_known = None;
                batch
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "claiming messages failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        }
    }

    /// Waits for a new message, the next due retry or the poll interval, whichever is first.
    async fn idle(&mut self) {
        if self.open.as_ref().is_some_and(|o| o.last_used.elapsed() > IDLE_CLOSE) {
            self.close_session().await;
        }
        let poll = self.state.delivery.poll_interval;
        // Read at most once per poll interval (or after a claim): with messages trickling in,
        // a worker goes idle after nearly every one of them.
        let due = match self.due_known {
            Some((read_at, due)) if read_at.elapsed() < poll => due,
            _ => {
                let due = self.state.db.run(db::messages::next_due).await.ok().flatten();
                self.due_known = Some((Instant::now(), due));
                due
            }
        };
        let wait = match due {
            Some(due) => (due - now()).to_std().unwrap_or(Duration::ZERO).min(poll),
            None => poll,
        };
        if wait.is_zero() {
            self.claim_now = true;
            return;
        }
        tokio::select! {
            // A hand-over, or a message stored queued (`outbox_pending`).
            _ = self.state.delivery_notify.notified() => {}
            // Shutting down: `run` sees it and stops.
            _ = self.state.shutdown.cancelled() => {}
            // A retry came due, or the poll interval passed.
            _ = tokio::time::sleep(wait) => self.claim_now = true,
        }
    }

    async fn deliver(
        &mut self,
        mut msg: Claimed,
        route: &Arc<Route>,
        open_failure: &mut Option<(DeliveryFailure, MailConnection)>,
    ) {
        if !handoff::still_ours(msg.lease_ends, route.config.timeout) {
            // Its claim may lapse mid-attempt: leave it to expire and to the outbox path.
            tracing::warn!(message = %msg.id, "a handed-over message waited too long; the outbox delivers it later");
            return;
        }
        let content = match msg.content.take() {
            Some(content) => Ok(Some(content)),
            None => {
                let id = msg.id.clone();
                let stored = self.state.db.run(move |conn| db::messages::content(conn, &id)).await;
                stored.map(|stored| stored.map(Content::Stored))
            }
        };
        let content = match content {
            Ok(Some(content)) => content,
            Ok(None) => {
                let failure = internal_failure("the stored message is gone".into());
                return self.record(
                    &msg,
                    &[],
                    Some(route),
                    None,
                    Err(DeliveryFailure { permanent: true, ..failure }),
                    None,
                );
            }
            Err(e) => {
                let failure = internal_failure(format!("the stored message cannot be read: {e:#}"));
                return self.record(&msg, &[], Some(route), None, Err(failure), None);
            }
        };
        let decoded = match content {
            Content::Parsed(outgoing) => Ok(*outgoing),
            Content::Stored(stored) => stored::decode(&stored),
        };
        let outgoing: OutgoingMessage = match decoded {
            Ok(m) => m,
            Err(e) => {
                let failure = internal_failure(format!("the stored message cannot be read: {e:#}"));
                return self.record(
                    &msg,
                    &[],
                    Some(route),
                    None,
                    Err(DeliveryFailure { permanent: true, ..failure }),
                    None,
                );
            }
        };
        let recipients = outgoing.envelope_recipients();
        if outgoing.is_expired(chrono::Utc::now()) {
            return self.record(&msg, &recipients, Some(route), None, Err(expired(&outgoing)), None);
        }
        let sender = EffectiveSender::apply(
            &route.sender_name,
            &route.sender_address,
            route.force_default_sender,
            route.reply_to_individual_sender,
            outgoing.acting_user.as_ref(),
        );
        let headers = PolicyHeaders {
            from: sender.from.clone(),
            reply_to: sender.reply_to.clone().or_else(|| outgoing.reply_to.clone()),
            envelope_from: sender.envelope_from.clone(),
            message_id: outgoing.message_id.clone(),
            date: outgoing.date,
        };
        let content = match compose(&outgoing, &sender) {
            Ok(bytes) => bytes,
            Err(e) => {
                let failure = internal_failure(format!("the message cannot be built: {e:#}"));
                let failure = DeliveryFailure { permanent: true, class: FailureClass::MessageRejected, ..failure };
                return self.record(&msg, &recipients, Some(route), None, Err(failure), Some(&headers));
            }
        };
        // One failed connect per batch is enough: the rest of the batch shares its fate
        // instead of each waiting out the same deadline.
        if let Some((failure, via)) = open_failure.clone() {
            return self.record(&msg, &recipients, Some(route), Some(via), Err(failure), Some(&headers));
        }
        drop(outgoing);
        // A message is untried at most once: a new session has no answer pending.
        let mut untried = false;
        // A message fails over at most once: from the primary to the fallback.
        let mut failed_over = false;
        loop {
            let via = match self.session(route).await {
                Ok(via) => via,
                Err((failure, via)) => {
                    if self.fail_over(route, via, &failure, true, &mut failed_over) {
                        continue;
                    }
                    // A failed connect or login is a settings problem, not the message's:
                    // keep the message queued (with backoff) so it goes out once the admin
                    // fixes it.
                    let failure = DeliveryFailure { permanent: false, ..failure };
                    *open_failure = Some((failure.clone(), via));
                    return self.record(&msg, &recipients, Some(route), Some(via), Err(failure), Some(&headers));
                }
            };
            let Some(open) = self.open.as_mut() else {
                let failure = internal_failure("no session".into());
                return self.record(&msg, &recipients, Some(route), None, Err(failure), None);
            };
            let envelope_from = route.envelope_sender(via, &sender.envelope_from);
            let exchange = open.session.submit(envelope_from, &recipients, &content);
            let (round, since, submitted) = (&mut self.round, &mut self.round_since, &mut self.submitted);
            let Submission { previous, this } =
                recording_while(round, since, submitted, &self.state.db, exchange).await;
            open.last_used = Instant::now();
            if let Some(outcome) = previous {
                self.answered(outcome);
            }
            let failure = match this {
                Submitted::Pending => {
                    let headers = with_envelope(headers, envelope_from);
                    self.in_flight = Some(InFlight { msg, recipients, headers, route: route.clone(), via });
                    return;
                }
                Submitted::Failed(failure) if self.fail_over(route, via, &failure, false, &mut failed_over) => {
                    // Throttled or over quota at the primary: this message goes to the fallback.
                    self.drop_unusable().await;
                    continue;
                }
                Submitted::Failed(failure) => failure,
                Submitted::Untried if !untried => {
                    // The connection ended under the previous message: not this one's attempt.
                    tracing::debug!(message = %msg.id, "the SMTP connection ended under the previous message; sending again over a new one");
                    untried = true;
                    self.drop_unusable().await;
                    continue;
                }
                Submitted::Untried => internal_failure("a new SMTP session left a message untried".into()),
            };
            self.drop_unusable().await;
            let headers = with_envelope(headers, envelope_from);
            return self.record(&msg, &recipients, Some(route), Some(via), Err(failure), Some(&headers));
        }
    }

    /// Whether `failure` of the primary moves this message to the fallback (see
    /// `failover`); if so, the primary counts as down from now on.
    fn fail_over(
        &self,
        route: &Route,
        via: MailConnection,
        failure: &DeliveryFailure,
        at_open: bool,
        failed_over: &mut bool,
    ) -> bool {
        if via != MailConnection::Primary || route.fallback.is_none() || *failed_over {
            return false;
        }
        if !fails_over(failure.class, at_open) {
            return false;
        }
        *failed_over = true;
        tracing::debug!(class = failure.class.as_str(), "the primary failed; trying the fallback server");
        let state = &self.state;
        state.failover.primary_failed(
            &state.db,
            &state.delivery.instance_id,
            route.version,
            failure.class,
            state.delivery.primary_retry,
        );
        true
    }

    /// Records the answer to the message in flight.
    fn answered(&mut self, outcome: Result<DeliveryReceipt, DeliveryFailure>) {
        let result = outcome.map(|receipt| (receipt.reply, receipt.duration_ms));
        match self.in_flight.take() {
            Some(flight) => {
                let via = Some(flight.via);
                self.record(&flight.msg, &flight.recipients, Some(&flight.route), via, result, Some(&flight.headers))
            }
            None => tracing::error!("an SMTP answer came for no message in flight"),
        }
    }

    /// Reads the answer to the message in flight, if any.
    async fn settle(&mut self) {
        if self.in_flight.is_none() {
            return;
        }
        let outcome = match self.open.as_mut() {
            Some(open) => {
                open.last_used = Instant::now();
                let (round, since, submitted) = (&mut self.round, &mut self.round_since, &mut self.submitted);
                recording_while(round, since, submitted, &self.state.db, open.session.finish()).await
            }
            None => None,
        };
        let outcome = outcome.unwrap_or_else(|| Err(internal_failure("the answer to a sent message was lost".into())));
        self.answered(outcome);
    }

    /// Drops a connection a failure left unusable (the next message reopens), after reading
    /// an answer still pending on it.
    async fn drop_unusable(&mut self) {
        let usable = match self.open.as_mut() {
            Some(open) => open.session.is_usable().await,
            None => return,
        };
        if !usable {
            self.settle().await;
            self.open = None;
        }
    }

    /// The open session for the current settings, over the connection `failover` chooses
    /// (the primary, or the fallback while the primary is down), (re)opened as needed.
    /// Returns which connection it is, or why it could not be opened.
    async fn session(&mut self, route: &Route) -> Result<MailConnection, (DeliveryFailure, MailConnection)> {
        let has_fallback = route.fallback.is_some();
        let mut via = self.state.failover.choose(route.version, has_fallback);
        let reusable = match self.open.as_mut() {
            Some(open) if open.settings_version == route.version && open.via == via => open.session.is_usable().await,
            _ => false,
        };
        if !reusable {
            self.settle().await;
            // The answer just read may have ended an incident (the primary delivered).
            if has_fallback && via == MailConnection::Fallback && !self.state.failover.primary_down() {
                via = MailConnection::Primary;
            }
            if let Some(old) = self.open.take() {
                old.session.close().await;
            }
            let session = route.open(&self.state, via).await.map_err(|f| (f, via))?;
            self.open = Some(OpenSession { settings_version: route.version, via, session, last_used: Instant::now() });
        }
        Ok(via)
    }
}

/// Runs `exchange`, a wait for the SMTP server, and meanwhile submits the round's records
/// once the oldest is `RECORD_WITHIN` old: a slow server must not keep the record of a
/// message it already accepted in memory (a crash would send that message again).
async fn recording_while<T>(
    round: &mut Vec<Record>,
    round_since: &mut Option<Instant>,
    submitted: &mut Vec<Pending<RoundOutcome>>,
    db: &db::Db,
    exchange: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(exchange);
    loop {
        let due = round_since.map(|since| tokio::time::Instant::from_std(since + RECORD_WITHIN));
        tokio::select! {
            out = &mut exchange => return out,
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                *round_since = None;
                if !round.is_empty() {
                    submitted.push(record_round::submit(db, std::mem::take(round), None));
                }
            }
        }
    }
}

/// The headers as sent: with the fallback's own envelope sender when it has one.
fn with_envelope(headers: PolicyHeaders, envelope_from: &str) -> PolicyHeaders {
    if headers.envelope_from == envelope_from {
        return headers;
    }
    PolicyHeaders { envelope_from: envelope_from.to_owned(), ..headers }
}

/// How long a claim holds: a session open, the send and the wait for its answer (which
/// the next message's send may read) at the settings' deadline each, with margin. Every
/// completed attempt renews the worker's remaining claims, so a batch never outlives its
/// lease while its worker lives, and a dead instance's messages are picked up by others
/// after 80 s with the default timeout of 20 s.
/// The failure of a message whose `expires_at` passed: not sent, never retried.
fn expired(outgoing: &OutgoingMessage) -> DeliveryFailure {
    let (hint_de, hint_en) = postamt_smtp::expired_hint();
    DeliveryFailure {
        stage: postamt_wire::StageName::Resolve,
        class: FailureClass::Expired,
        field: None,
        reply_code: None,
        reply: None,
        permanent: true,
        hint_de,
        hint_en,
        detail: outgoing.expires_at.map(|at| format!("expired at {}", at.to_rfc3339())),
    }
}

pub fn lease(timeout: Duration) -> chrono::Duration {
    chrono::Duration::from_std(timeout * 3 + Duration::from_secs(20)).unwrap_or_else(|_| chrono::Duration::minutes(5))
}
