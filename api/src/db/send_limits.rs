//! The sending limits' shared state, and the claim that obeys them (see
//! `delivery::limits` for the whole picture).
//!
//! Every limited claim locks the one `send_limiter` row first, so the claims of all workers
//! of all instances take their turns one after the other: what one grants, the next sees.
//! Per-minute limits are kept by spacing (`next_slot_at`), hourly and daily ones by
//! per-minute counters (`send_usage`), concurrent sessions by leases (`smtp_session_slots`).

use super::messages::{self, Claimed};
use super::schema::send_limiter::dsl as sl;
use super::schema::send_usage::dsl as su;
use super::schema::smtp_session_slots::dsl as ss;
use super::{now, utc, AnyConnection};
use anyhow::Context;
use chrono::{Duration, DurationRound, NaiveDateTime};
use diesel::prelude::*;
use postamt_wire::{LimitHold, LimitReason, SendingLimits};

/// Usage rows are kept this long (the longest window is a day).
const USAGE_KEPT: i64 = 2;

/// What a limited claim gave a worker.
pub enum Turn {
    /// Messages to send, each not before its time (the per-minute spacing).
    Granted(Vec<(Claimed, NaiveDateTime)>),
    /// A limit holds messages back until then (at the earliest); nothing was claimed.
    Held(LimitHold),
    /// Nothing is due.
    Empty,
}

/// What [`claim`] is asked for.
pub struct LimitedClaim<'a> {
    pub worker: &'a str,
    pub limits: &'a SendingLimits,
    pub batch: i64,
    pub lease: Duration,
    pub reclaim_expired: bool,
    pub inline_up_to: i64,
    /// Slots up to this far ahead are granted (the worker waits for them).
    pub horizon: Duration,
}

/// The gap between two messages under a per-minute limit: 61 seconds divided evenly, so
/// that `limit + 1` slots span 61 s. The second is for the jitter between a slot and the
/// message's arrival at the server (a session to open, a busy machine): with half a
/// percent (0.3 s at 30 a minute) a test under load still saw 31 messages within 60 s.
pub fn spacing(per_minute: u32) -> Duration {
    Duration::microseconds(61_000_000 / i64::from(per_minute.max(1)))
}

fn minute_of(t: NaiveDateTime) -> NaiveDateTime {
    t.duration_trunc(Duration::minutes(1)).unwrap_or(t)
}

/// Messages and recipients granted in the windows that end now.
#[derive(Debug, Default, Clone, Copy)]
pub struct Used {
    pub last_minute: i64,
    pub hour: i64,
    pub day: i64,
    pub day_recipients: i64,
    /// The oldest minute with use in the hour and in the day: when room comes back.
    pub hour_oldest: Option<NaiveDateTime>,
    pub day_oldest: Option<NaiveDateTime>,
}

/// The use per window. A minute bucket counts while any of it lies within the window, so
/// the sums err on the safe side.
pub fn used(conn: &mut AnyConnection, at: NaiveDateTime) -> anyhow::Result<Used> {
    let current = minute_of(at);
    let rows: Vec<(NaiveDateTime, i64, i64)> = su::send_usage
        .filter(su::minute.ge(current - Duration::days(1)))
        .select((su::minute, su::messages, su::recipients))
        .load(conn)
        .context("reading the sending use")?;
    let mut used = Used::default();
    for (minute, messages, recipients) in rows {
        if messages == 0 && recipients == 0 {
            continue;
        }
        used.day += messages;
        used.day_recipients += recipients;
        used.day_oldest = Some(used.day_oldest.map_or(minute, |o| o.min(minute)));
        if minute >= current - Duration::hours(1) {
            used.hour += messages;
            used.hour_oldest = Some(used.hour_oldest.map_or(minute, |o| o.min(minute)));
        }
        if minute >= current - Duration::minutes(1) {
            used.last_minute += messages;
        }
    }
    Ok(used)
}

/// Claims the next messages that the limits allow, highest priority first, and counts them
/// against the limits, in the writer's transaction.
pub fn claim(conn: &mut AnyConnection, ask: &LimitedClaim<'_>) -> anyhow::Result<Turn> {
    let at = now();
    let next_slot_at: NaiveDateTime = match conn {
        AnyConnection::Postgresql(c) => {
            sl::send_limiter.filter(sl::id.eq(1)).select(sl::next_slot_at).for_update().first(c)
        }
        // SQLite's writer holds the only write transaction: nothing to lock.
        AnyConnection::Sqlite(c) => sl::send_limiter.filter(sl::id.eq(1)).select(sl::next_slot_at).first(c),
    }
    .context("locking the sending limits")?;
    if let Some(max) = ask.limits.concurrent_sessions {
        // A worker with nothing to send takes no lease (it would keep one from a worker
        // that has something, on this instance or another).
        if !ask.reclaim_expired && messages::next_due(conn)?.is_none_or(|due| due > at) {
            return Ok(Turn::Empty);
        }
        if let Some(until) = take_session(conn, ask.worker, max, at, at + ask.lease)? {
            // Other workers hold every session: this one waits, the messages do not (they
            // are being sent), so no hold is recorded.
            return Ok(Turn::Held(LimitHold { reason: LimitReason::ConcurrentSessions, until: utc(until) }));
        }
    }
    let alerts = messages::claim_alert_ids(conn, ask.worker, ask.batch, ask.lease)?;
    if !alerts.is_empty() {
        // Counted, so that the limits see them, but never held.
        let recipients: i64 = messages::recipient_counts(conn, &alerts)?.iter().sum();
        count_use(conn, minute_of(at), i64::try_from(alerts.len()).unwrap_or(i64::MAX), recipients)?;
        let claimed = messages::load_claimed(conn, &alerts, ask.inline_up_to)?;
        return Ok(Turn::Granted(claimed.into_iter().map(|c| (c, at)).collect()));
    }
    let mut allowed = ask.batch;
    let mut start = at;
    if let Some(per_minute) = ask.limits.messages_per_minute {
        let gap = spacing(per_minute);
        // Slots booked under this limit end at most a horizon and a gap ahead. A next slot
        // further ahead was booked under a lower limit: it must not hold the new one back
        // (at most the one slot granted under the old limit comes on top, once).
        start = if next_slot_at > at + ask.horizon + gap { at + gap } else { next_slot_at.max(at) };
        if start > at + ask.horizon {
            return held(conn, LimitReason::MessagesPerMinute, start);
        }
        let fit = (at + ask.horizon - start).num_microseconds().unwrap_or(0) / gap.num_microseconds().unwrap_or(1);
        allowed = allowed.min(fit + 1);
    }
    let used = used(conn, at)?;
    let windows = [
        (
            ask.limits.messages_per_hour,
            used.hour,
            used.hour_oldest,
            Duration::minutes(61),
            LimitReason::MessagesPerHour,
        ),
        (ask.limits.messages_per_day, used.day, used.day_oldest, Duration::minutes(1441), LimitReason::MessagesPerDay),
    ];
    for (limit, used, oldest, window, reason) in windows {
        let Some(limit) = limit else { continue };
        let left = i64::from(limit) - used;
        if left <= 0 {
            return held(conn, reason, oldest.map_or(at, |o| o + window));
        }
        allowed = allowed.min(left);
    }
    let recipients_left = ask.limits.recipients_per_day.map(|limit| i64::from(limit) - used.day_recipients);
    if let Some(left) = recipients_left.filter(|left| *left <= 0) {
        debug_assert!(left <= 0);
        return held(conn, LimitReason::RecipientsPerDay, used.day_oldest.map_or(at, |o| o + Duration::minutes(1441)));
    }
    let ids = messages::claim_ids(conn, ask.worker, allowed, ask.lease, ask.reclaim_expired)?;
    if ids.is_empty() {
        return Ok(Turn::Empty);
    }
    // Recipients are known per message only now: keep those that fit, give the rest back.
    let counts = messages::recipient_counts(conn, &ids)?;
    let (mut kept, mut recipients) = (Vec::new(), 0i64);
    for (id, count) in ids.iter().zip(&counts) {
        let fits = recipients_left.is_none_or(|left| recipients + count <= left)
            // A message larger than the whole daily limit goes out alone into an empty day.
            || (kept.is_empty() && used.day_recipients == 0);
        if !fits {
            break;
        }
        recipients += count;
        kept.push(id.clone());
    }
    let returned: Vec<String> = ids[kept.len()..].to_vec();
    if !returned.is_empty() {
        messages::release_ids(conn, &returned)?;
    }
    if kept.is_empty() {
        return held(conn, LimitReason::RecipientsPerDay, used.day_oldest.map_or(at, |o| o + Duration::minutes(1441)));
    }
    let n = i32::try_from(kept.len()).unwrap_or(i32::MAX);
    let gap = ask.limits.messages_per_minute.map(spacing);
    let slots: Vec<NaiveDateTime> = (0..n).map(|i| gap.map_or(at, |g| start + g * i)).collect();
    // Under a per-minute limit the messages still waiting wait for the next slot; else
    // nothing holds them now.
    let next = gap.map(|g| start + g * n);
    diesel::update(sl::send_limiter.filter(sl::id.eq(1)))
        .set((
            sl::next_slot_at.eq(next.unwrap_or(next_slot_at)),
            sl::hold_reason.eq(next.map(|_| LimitReason::MessagesPerMinute.as_str())),
            sl::hold_until.eq(next),
        ))
        .execute(conn)?;
    count_use(conn, minute_of(at), i64::from(n), recipients)?;
    let claimed = messages::load_claimed(conn, &kept, ask.inline_up_to)?;
    let slot_of: std::collections::HashMap<&str, NaiveDateTime> =
        kept.iter().map(String::as_str).zip(slots.iter().copied()).collect();
    Ok(Turn::Granted(
        claimed
            .into_iter()
            .map(|c| {
                let slot = slot_of.get(c.id.as_str()).copied().unwrap_or(at);
                (c, slot)
            })
            .collect(),
    ))
}

/// Records that `reason` holds messages back until `until` (for status views), and says so.
fn held(conn: &mut AnyConnection, reason: LimitReason, until: NaiveDateTime) -> anyhow::Result<Turn> {
    diesel::update(sl::send_limiter.filter(sl::id.eq(1)))
        .set((sl::hold_reason.eq(reason.as_str()), sl::hold_until.eq(until)))
        .execute(conn)?;
    Ok(Turn::Held(LimitHold { reason, until: utc(until) }))
}

/// Adds a grant to the minute's counters; drops counters no window needs any more.
fn count_use(conn: &mut AnyConnection, minute: NaiveDateTime, messages: i64, recipients: i64) -> anyhow::Result<()> {
    let updated = diesel::update(su::send_usage.filter(su::minute.eq(minute)))
        .set((su::messages.eq(su::messages + messages), su::recipients.eq(su::recipients + recipients)))
        .execute(conn)?;
    if updated == 0 {
        // The limiter row is locked: no other claim can insert this minute meanwhile.
        diesel::insert_into(su::send_usage)
            .values((su::minute.eq(minute), su::messages.eq(messages), su::recipients.eq(recipients)))
            .execute(conn)?;
        diesel::delete(su::send_usage.filter(su::minute.lt(minute - Duration::days(USAGE_KEPT)))).execute(conn)?;
    }
    Ok(())
}

/// Makes sure `worker` holds one of `max` session leases until `until`. Returns `None` when
/// it does, else when the first lease held by others ends.
fn take_session(
    conn: &mut AnyConnection,
    worker: &str,
    max: u32,
    at: NaiveDateTime,
    until: NaiveDateTime,
) -> anyhow::Result<Option<NaiveDateTime>> {
    diesel::delete(ss::smtp_session_slots.filter(ss::held_until.lt(at))).execute(conn)?;
    let renewed = diesel::update(ss::smtp_session_slots.filter(ss::holder.eq(worker)))
        .set(ss::held_until.eq(until))
        .execute(conn)?;
    if renewed > 0 {
        return Ok(None);
    }
    let held: Vec<(i32, NaiveDateTime)> =
        ss::smtp_session_slots.select((ss::slot, ss::held_until)).order(ss::slot).load(conn)?;
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    let Some(free) = (0..max).find(|slot| !held.iter().any(|(s, _)| s == slot)) else {
        return Ok(Some(held.iter().map(|(_, t)| *t).min().unwrap_or(until)));
    };
    if i32::try_from(held.len()).unwrap_or(i32::MAX) >= max {
        // The limit was lowered: leases above it run out first.
        return Ok(Some(held.iter().map(|(_, t)| *t).min().unwrap_or(until)));
    }
    diesel::insert_into(ss::smtp_session_slots)
        .values((ss::slot.eq(free), ss::holder.eq(worker), ss::held_until.eq(until)))
        .execute(conn)?;
    Ok(None)
}

/// `worker` closed its SMTP session: its lease goes to the next.
pub fn release_session(conn: &mut AnyConnection, worker: &str) -> anyhow::Result<()> {
    diesel::delete(ss::smtp_session_slots.filter(ss::holder.eq(worker))).execute(conn)?;
    Ok(())
}

/// Sessions held now (all instances).
pub fn sessions_held(conn: &mut AnyConnection, at: NaiveDateTime) -> anyhow::Result<i64> {
    ss::smtp_session_slots.filter(ss::held_until.ge(at)).count().get_result(conn).context("counting sessions")
}

/// The hold a limit put on waiting messages, if it still lasts.
pub fn current_hold(conn: &mut AnyConnection) -> anyhow::Result<Option<LimitHold>> {
    let row: Option<(Option<String>, Option<NaiveDateTime>)> = sl::send_limiter
        .filter(sl::id.eq(1))
        .select((sl::hold_reason, sl::hold_until))
        .first(conn)
        .optional()
        .context("reading the sending hold")?;
    let at = now();
    Ok(row.and_then(|(reason, until)| match (reason.as_deref().and_then(LimitReason::parse), until) {
        (Some(reason), Some(until)) if until > at => Some(LimitHold { reason, until: utc(until) }),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::messages::{accept, NewMessage, Recipients};
    use crate::db::test_db::{new_message, TestDb};
    use crate::db::Db;
    use postamt_wire::{MailAddress, Priority};
    use std::sync::Arc;

    async fn store(db: &Db, id: &str, priority: Priority, recipients: usize) {
        let to = (0..recipients).map(|n| MailAddress { name: None, address: format!("r{n}@example.org") }).collect();
        let msg = NewMessage { priority, recipients: Recipients { to, ..Recipients::default() }, ..new_message(id) };
        accept(db, Arc::new(msg)).await.unwrap();
    }

    async fn turn(db: &Db, worker: &'static str, limits: SendingLimits) -> Turn {
        db.write(crate::db::Durability::Flushed, move |conn| {
            claim(
                conn,
                &LimitedClaim {
                    worker,
                    limits: &limits,
                    batch: 32,
                    lease: Duration::minutes(1),
                    reclaim_expired: false,
                    inline_up_to: 1 << 20,
                    horizon: Duration::seconds(1),
                },
            )
        })
        .await
        .unwrap()
    }

    /// The worker's grant, asking again while a per-minute hold ends within `within`.
    async fn turn_within(
        db: &Db,
        worker: &'static str,
        limits: SendingLimits,
        within: Duration,
    ) -> Vec<(String, NaiveDateTime)> {
        let asked = now();
        loop {
            match turn(db, worker, limits).await {
                Turn::Held(hold) => {
                    assert!(hold.until.naive_utc() <= asked + within, "held too long: {hold:?}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => return granted(other),
            }
        }
    }

    fn granted(turn: Turn) -> Vec<(String, NaiveDateTime)> {
        match turn {
            Turn::Granted(g) => g.into_iter().map(|(c, at)| (c.id, at)).collect(),
            Turn::Held(hold) => panic!("held: {hold:?}"),
            Turn::Empty => Vec::new(),
        }
    }

    fn held(turn: Turn) -> LimitReason {
        match turn {
            Turn::Held(hold) => hold.reason,
            Turn::Granted(g) => panic!("granted {} messages", g.len()),
            Turn::Empty => panic!("empty"),
        }
    }

    /// The claim serves high before normal before low, whatever the order of acceptance.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_serve_high_then_normal_then_low() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for (id, priority) in [("a-low", Priority::Low), ("b-normal", Priority::Normal), ("c-high", Priority::High)]
            {
                store(db, id, priority, 1).await;
            }
            let ids: Vec<String> =
                granted(turn(db, "w", SendingLimits::default()).await).into_iter().map(|(id, _)| id).collect();
            assert_eq!(ids, ["c-high", "b-normal", "a-low"]);
            let due = db.run(crate::db::messages::next_due).await.unwrap();
            assert!(due.is_none(), "all claimed: {due:?}");
        }
    }

    /// 30 a minute: one message per turn, the next slot 2 s later; a second worker asking at
    /// once is held until then.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_per_minute_limit_spaces_the_messages() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for n in 0..5 {
                store(db, &format!("m{n}"), Priority::Normal, 1).await;
            }
            let limits = SendingLimits { messages_per_minute: Some(30), ..SendingLimits::default() };
            let first = granted(turn(db, "w1", limits).await);
            assert_eq!(first.len(), 1, "one slot within the next second at 2 s spacing");
            // The next slot is 2.01 s after the first: within a second of it, not now.
            assert_eq!(held(turn(db, "w2", limits).await), LimitReason::MessagesPerMinute);
            let hold = db.run(current_hold).await.unwrap().expect("the hold is recorded");
            assert_eq!(hold.reason, LimitReason::MessagesPerMinute);
            // Raised to 600 a minute: the slot booked 2 s ahead under 30 does not hold.
            for n in 5..40 {
                store(db, &format!("m{n}"), Priority::Normal, 1).await;
            }
            let fast = SendingLimits { messages_per_minute: Some(600), ..SendingLimits::default() };
            let burst = turn_within(db, "w2", fast, Duration::milliseconds(1200)).await;
            assert!(burst.len() >= 2, "{burst:?}");
            // Another worker's turn right after: its slots follow the first one's, they do
            // not start again near now (which let four workers send four times the limit).
            let next = turn_within(db, "w3", fast, Duration::milliseconds(1200)).await;
            let all: Vec<NaiveDateTime> = burst.iter().chain(&next).map(|(_, at)| *at).collect();
            for pair in all.windows(2) {
                assert!(pair[1] - pair[0] >= spacing(600), "{all:?}");
            }
            assert!(all.len() <= 22, "{} slots within a second and a bit at 10 a second", all.len());
        }
    }

    /// Hourly, daily and recipient limits count what was granted; a message that does not
    /// fit goes back to the queue untouched.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn windows_count_messages_and_recipients() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for n in 0..4 {
                store(db, &format!("m{n}"), Priority::Normal, 3).await;
            }
            let day = SendingLimits { messages_per_day: Some(1), ..SendingLimits::default() };
            assert_eq!(granted(turn(db, "w", day).await).len(), 1);
            assert_eq!(held(turn(db, "w", day).await), LimitReason::MessagesPerDay);
            let hour = SendingLimits { messages_per_hour: Some(1), ..SendingLimits::default() };
            assert_eq!(held(turn(db, "w", hour).await), LimitReason::MessagesPerHour);
            // 3 used; 7 more recipients: two messages of three fit, the third goes back.
            let recipients = SendingLimits { recipients_per_day: Some(10), ..SendingLimits::default() };
            assert_eq!(granted(turn(db, "w", recipients).await).len(), 2);
            assert_eq!(held(turn(db, "w", recipients).await), LimitReason::RecipientsPerDay);
            let waiting = db.run(crate::db::messages::waiting_by_priority).await.unwrap();
            assert_eq!(waiting, [0, 1, 0], "the message that did not fit is queued again");
            let used = db.run(|conn| used(conn, now())).await.unwrap();
            assert_eq!((used.day, used.day_recipients, used.hour, used.last_minute), (3, 9, 3, 3));
        }
    }

    /// Postamt's own alert e-mails go out even when a daily limit holds everything else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn alert_mails_pass_every_limit() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            store(db, "invoice", Priority::Normal, 1).await;
            let day = SendingLimits { messages_per_day: Some(1), ..SendingLimits::default() };
            assert_eq!(granted(turn(db, "w", day).await).len(), 1);
            store(db, "invoice-2", Priority::Normal, 1).await;
            assert_eq!(held(turn(db, "w", day).await), LimitReason::MessagesPerDay);
            let alert = NewMessage { category: "alert".into(), priority: Priority::High, ..new_message("alert") };
            accept(db, Arc::new(alert)).await.unwrap();
            let ids: Vec<String> = granted(turn(db, "w", day).await).into_iter().map(|(id, _)| id).collect();
            assert_eq!(ids, ["alert"]);
            assert_eq!(held(turn(db, "w", day).await), LimitReason::MessagesPerDay);
        }
    }

    /// Two session leases: a third worker waits until one is given back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn session_leases_bound_concurrent_sessions() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for n in 0..6 {
                store(db, &format!("m{n}"), Priority::Normal, 1).await;
            }
            let two = SendingLimits { concurrent_sessions: Some(2), ..SendingLimits::default() };
            let one: Vec<_> = granted(turn(db, "w1", two).await);
            assert!(!one.is_empty());
            store(db, "later", Priority::Normal, 1).await;
            assert_eq!(granted(turn(db, "w2", two).await).len(), 1);
            // Nothing due: a worker takes no lease at all.
            assert!(matches!(turn(db, "w3", two).await, Turn::Empty));
            store(db, "waiting", Priority::Normal, 1).await;
            assert_eq!(held(turn(db, "w3", two).await), LimitReason::ConcurrentSessions);
            assert_eq!(db.run(|conn| sessions_held(conn, now())).await.unwrap(), 2);
            db.run(|conn| release_session(conn, "w1")).await.unwrap();
            assert_eq!(granted(turn(db, "w3", two).await).len(), 1);
        }
    }

    #[test]
    fn the_spacing_keeps_any_minute_within_the_limit() {
        for per_minute in [1, 30, 600, 1000] {
            let gap = spacing(per_minute);
            // per_minute + 1 messages need more than 60 seconds.
            assert!(gap * i32::try_from(per_minute).unwrap() > Duration::seconds(60), "{per_minute}");
        }
        assert_eq!(spacing(30), Duration::microseconds(2_033_333));
    }
}
