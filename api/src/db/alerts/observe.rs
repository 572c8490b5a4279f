//! What the alert conditions read: failed delivery attempts in a window, the oldest
//! message not yet sent.

use crate::db::due_index::{status_is, UNFINISHED};
use crate::db::schema::mail_log::dsl as l;
use crate::db::schema::messages::dsl as m;
use crate::db::AnyConnection;
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use postamt_wire::LogKind;

/// Delivery attempts since `since`: (failed, all).
pub fn attempts_since(conn: &mut AnyConnection, since: NaiveDateTime) -> anyhow::Result<(i64, i64)> {
    let kind = crate::db::mail_log::enum_str(LogKind::Delivery);
    let recent = || l::mail_log.filter(l::kind.eq(kind.clone())).filter(l::at.ge(since));
    let all: i64 = recent().select(count_star()).first(conn).context("counting delivery attempts")?;
    let failed: i64 = recent()
        .filter(l::failure_class.is_not_null())
        .select(count_star())
        .first(conn)
        .context("counting failed delivery attempts")?;
    Ok((failed, all))
}

/// When the oldest message not yet sent (queued, retrying or being sent) was accepted.
pub fn oldest_unfinished(conn: &mut AnyConnection) -> anyhow::Result<Option<NaiveDateTime>> {
    m::messages
        .filter(status_is(UNFINISHED))
        .select(min(m::created_at))
        .first(conn)
        .context("finding the oldest unsent message")
}

/// When the last delivery attempt refused with a quota reply (`quota_exceeded`) was made,
/// if one was since `since`.
pub fn last_quota_reply(conn: &mut AnyConnection, since: NaiveDateTime) -> anyhow::Result<Option<NaiveDateTime>> {
    let kind = crate::db::mail_log::enum_str(LogKind::Delivery);
    let class = postamt_wire::FailureClass::QuotaExceeded.as_str();
    l::mail_log
        .filter(l::kind.eq(kind))
        .filter(l::at.ge(since))
        .filter(l::failure_class.eq(class))
        .select(diesel::dsl::max(l::at))
        .first(conn)
        .context("finding quota replies")
}
