//! Failed sign-ins per client, in the database so that every instance throttles alike.

use super::schema::sign_in_failures::dsl as f;
use super::AnyConnection;
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Failures of `client` since `since`, and the oldest of them.
pub fn recent(
    conn: &mut AnyConnection,
    client: &str,
    since: NaiveDateTime,
) -> anyhow::Result<(i64, Option<NaiveDateTime>)> {
    let rows: Vec<NaiveDateTime> = f::sign_in_failures
        .filter(f::client.eq(client))
        .filter(f::failed_at.gt(since))
        .select(f::failed_at)
        .order(f::failed_at.asc())
        .load(conn)
        .context("counting failed sign-ins")?;
    Ok((i64::try_from(rows.len())?, rows.first().copied()))
}

pub fn record(
    conn: &mut AnyConnection,
    client: &str,
    at: NaiveDateTime,
    forget_before: NaiveDateTime,
) -> anyhow::Result<()> {
    diesel::delete(f::sign_in_failures.filter(f::failed_at.lt(forget_before))).execute(conn)?;
    diesel::insert_into(f::sign_in_failures)
        .values((f::client.eq(client), f::failed_at.eq(at)))
        .execute(conn)
        .context("recording a failed sign-in")?;
    Ok(())
}

pub fn clear(conn: &mut AnyConnection, client: &str) -> anyhow::Result<()> {
    diesel::delete(f::sign_in_failures.filter(f::client.eq(client))).execute(conn)?;
    Ok(())
}
