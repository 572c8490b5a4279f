//! Server-side admin sessions, shared by every instance on the same database.
//! Only a hash of the session token is stored.

use super::schema::admin_sessions::dsl as s;
use super::{now, AnyConnection};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub struct SessionRow {
    pub csrf_token: String,
    pub expires_at: NaiveDateTime,
}

pub fn create(
    conn: &mut AnyConnection,
    token_hash: &str,
    csrf_token: &str,
    expires_at: NaiveDateTime,
) -> anyhow::Result<()> {
    // Sweep expired sessions while we are writing anyway.
    diesel::delete(s::admin_sessions.filter(s::expires_at.lt(now()))).execute(conn)?;
    diesel::insert_into(s::admin_sessions)
        .values((
            s::token_hash.eq(token_hash),
            s::csrf_token.eq(csrf_token),
            s::created_at.eq(now()),
            s::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .context("storing the session")?;
    Ok(())
}

/// The live session with this token hash, if any.
pub fn find(conn: &mut AnyConnection, token_hash: &str) -> anyhow::Result<Option<SessionRow>> {
    let row: Option<(String, NaiveDateTime)> = s::admin_sessions
        .filter(s::token_hash.eq(token_hash))
        .filter(s::expires_at.gt(now()))
        .select((s::csrf_token, s::expires_at))
        .first(conn)
        .optional()
        .context("loading the session")?;
    Ok(row.map(|(csrf_token, expires_at)| SessionRow { csrf_token, expires_at }))
}

pub fn delete(conn: &mut AnyConnection, token_hash: &str) -> anyhow::Result<()> {
    diesel::delete(s::admin_sessions.filter(s::token_hash.eq(token_hash)))
        .execute(conn)
        .context("deleting the session")?;
    Ok(())
}

/// Signs out everywhere, e.g. after the admin password changed.
pub fn delete_all(conn: &mut AnyConnection) -> anyhow::Result<()> {
    diesel::delete(s::admin_sessions).execute(conn).context("deleting sessions")?;
    Ok(())
}

pub fn purge_expired(conn: &mut AnyConnection) -> anyhow::Result<()> {
    diesel::delete(s::admin_sessions.filter(s::expires_at.lt(now()))).execute(conn).context("purging sessions")?;
    Ok(())
}
