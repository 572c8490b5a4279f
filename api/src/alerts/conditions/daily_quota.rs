//! `daily_quota`: a daily sending limit of the settings is used up (`messages_per_day`,
//! `recipients_per_day`: the limiter holds messages back for it), or the server refused with
//! a quota reply within the window. Messages wait (a quota never fails them); someone should
//! know why mail stopped for the rest of the day.

use super::Observation;
use crate::db::{self, now};
use crate::state::AppState;
use postamt_wire::{DailyQuotaCondition, LimitReason};

pub(super) async fn check(state: &AppState, c: &DailyQuotaCondition) -> anyhow::Result<Observation> {
    let since = now() - chrono::Duration::minutes(i64::from(c.window_minutes));
    let (hold, quota_reply) = state
        .db
        .run(move |conn| {
            let hold = db::send_limits::current_hold(conn)?;
            Ok((hold, db::alerts::observe::last_quota_reply(conn, since)?))
        })
        .await?;
    if let Some(hold) = hold.filter(|h| matches!(h.reason, LimitReason::MessagesPerDay | LimitReason::RecipientsPerDay))
    {
        return Ok(Observation::Holds(format!(
            "the daily limit {} is used up; waiting messages go out from {} UTC",
            hold.reason.as_str(),
            hold.until.format("%Y-%m-%d %H:%M")
        )));
    }
    if let Some(at) = quota_reply {
        return Ok(Observation::Holds(format!(
            "the SMTP server refused with a quota reply (quota_exceeded) at {} UTC; messages wait until it accepts again",
            at.format("%H:%M")
        )));
    }
    Ok(Observation::Clear)
}
