//! The OAuth connection row (id = 1): refresh token, token times, last failure, the refresh
//! lease and a sign-in in progress. Shared by every instance of one database.
//!
//! The row belongs to one settings binding (`domain::Binding`): saving settings with another
//! binding deletes it in the same transaction (`keep_only_binding`), so a connected account
//! never follows a changed provider, app, mailbox or server. Every write names the binding
//! it expects, so a slow refresh cannot write into the row of newer settings.
//!
//! The refresh lease: a delegated refresh token may rotate on every use, and a provider that
//! sees the old one again revokes the whole grant. So only one instance refreshes at a time:
//! it takes the lease with a conditional UPDATE (a row lock on PostgreSQL, the write lock on
//! SQLite), reads the then-current token, refreshes at the provider, and writes the rotated
//! token back while releasing the lease. The lease expires by itself, so a crash frees it.

use super::schema::oauth_connection::dsl as oc;
use super::{now, write_transaction, AnyConnection};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROW_ID: i32 = 1;

/// The row as read.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::oauth_connection)]
pub struct ConnectionRow {
    pub binding: String,
    pub account: Option<String>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub connected_at: Option<NaiveDateTime>,
    pub token_issued_at: Option<NaiveDateTime>,
    pub token_expires_at: Option<NaiveDateTime>,
    pub refresh_token_used_at: Option<NaiveDateTime>,
    pub last_error_class: Option<String>,
    pub last_error_at: Option<NaiveDateTime>,
    pub pending_expires_at: Option<NaiveDateTime>,
}

/// A sign-in in progress ("Connect account"), as stored until the provider sends the admin back.
#[derive(Debug, Clone)]
pub struct Pending {
    pub state: String,
    pub verifier_enc: Vec<u8>,
    /// Hash of the admin session that started it.
    pub session: String,
    pub redirect_uri: String,
    pub return_to: String,
    pub expires_at: NaiveDateTime,
}

pub fn load(conn: &mut AnyConnection) -> anyhow::Result<Option<ConnectionRow>> {
    oc::oauth_connection
        .filter(oc::id.eq(ROW_ID))
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()
        .context("loading the OAuth connection")
}

/// The row for `binding`, if it belongs to it.
pub fn load_for(conn: &mut AnyConnection, binding: &str) -> anyhow::Result<Option<ConnectionRow>> {
    Ok(load(conn)?.filter(|r| r.binding == binding))
}

/// Deletes the row unless it belongs to `binding`. Returns whether a refresh token was
/// dropped with it. Runs inside the settings' save transaction.
pub fn keep_only_binding(conn: &mut AnyConnection, binding: &str) -> anyhow::Result<bool> {
    let Some(row) = load(conn)? else { return Ok(false) };
    if row.binding == binding {
        return Ok(false);
    }
    diesel::delete(oc::oauth_connection.filter(oc::id.eq(ROW_ID))).execute(conn)?;
    Ok(row.refresh_token_enc.is_some())
}

/// Makes sure the row exists for `binding` (replacing one of another binding).
fn ensure(conn: &mut AnyConnection, binding: &str) -> anyhow::Result<()> {
    keep_only_binding(conn, binding)?;
    let exists = oc::oauth_connection.filter(oc::id.eq(ROW_ID)).count().get_result::<i64>(conn)? > 0;
    if !exists {
        diesel::insert_into(oc::oauth_connection).values((oc::id.eq(ROW_ID), oc::binding.eq(binding))).execute(conn)?;
    }
    Ok(())
}

/// Remembers a sign-in in progress (replacing an earlier one).
pub fn begin_sign_in(conn: &mut AnyConnection, binding: &str, pending: &Pending) -> anyhow::Result<()> {
    write_transaction(conn, |conn| {
        ensure(conn, binding)?;
        diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)))
            .set((
                oc::pending_state.eq(&pending.state),
                oc::pending_verifier_enc.eq(&pending.verifier_enc),
                oc::pending_session.eq(&pending.session),
                oc::pending_redirect_uri.eq(&pending.redirect_uri),
                oc::pending_return_to.eq(&pending.return_to),
                oc::pending_expires_at.eq(pending.expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Takes the sign-in in progress whose state is `state` and that `session` started (single
/// use: it is cleared), with the binding it was started for. `None` when there is none, it
/// expired, another one replaced it, or another session presents it (which leaves it to its
/// own session).
pub fn take_sign_in(conn: &mut AnyConnection, state: &str, session: &str) -> anyhow::Result<Option<(String, Pending)>> {
    write_transaction(conn, |conn| {
        #[allow(clippy::type_complexity)]
        let row: Option<(
            String,
            Option<String>,
            Option<Vec<u8>>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<NaiveDateTime>,
        )> = oc::oauth_connection
            .filter(oc::id.eq(ROW_ID))
            .select((
                oc::binding,
                oc::pending_state,
                oc::pending_verifier_enc,
                oc::pending_session,
                oc::pending_redirect_uri,
                oc::pending_return_to,
                oc::pending_expires_at,
            ))
            .first(conn)
            .optional()?;
        let Some((
            binding,
            Some(stored_state),
            Some(verifier_enc),
            Some(stored_session),
            Some(redirect_uri),
            return_to,
            Some(expires_at),
        )) = row
        else {
            return Ok(None);
        };
        if !constant_time_eq(stored_state.as_bytes(), state.as_bytes()) || stored_session != session {
            return Ok(None);
        }
        diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)))
            .set((
                oc::pending_state.eq(None::<String>),
                oc::pending_verifier_enc.eq(None::<Vec<u8>>),
                oc::pending_session.eq(None::<String>),
                oc::pending_redirect_uri.eq(None::<String>),
                oc::pending_return_to.eq(None::<String>),
                oc::pending_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        if expires_at < now() {
            return Ok(None);
        }
        let pending = Pending {
            state: stored_state,
            verifier_enc,
            session: stored_session,
            redirect_uri,
            return_to: return_to.unwrap_or_else(|| "/".to_owned()),
            expires_at,
        };
        Ok(Some((binding, pending)))
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Stores a newly connected account (after the code exchange), if the row still belongs to
/// `binding`. Returns false when the settings changed meanwhile.
pub fn connect(
    conn: &mut AnyConnection,
    binding: &str,
    account: &str,
    refresh_token_enc: &[u8],
    issued: NaiveDateTime,
    expires: NaiveDateTime,
) -> anyhow::Result<bool> {
    write_transaction(conn, |conn| {
        let n = diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)).filter(oc::binding.eq(binding)))
            .set((
                oc::account.eq(account),
                oc::refresh_token_enc.eq(refresh_token_enc),
                oc::connected_at.eq(issued),
                oc::token_issued_at.eq(issued),
                oc::token_expires_at.eq(expires),
                oc::refresh_token_used_at.eq(issued),
                oc::last_error_class.eq(None::<String>),
                oc::last_error_at.eq(None::<NaiveDateTime>),
                oc::last_error_logged_at.eq(None::<NaiveDateTime>),
                oc::refresh_lease_owner.eq(None::<String>),
                oc::refresh_lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(n == 1)
    })
}

/// Forgets the connected account. Returns whether a refresh token was stored.
pub fn disconnect(conn: &mut AnyConnection) -> anyhow::Result<bool> {
    write_transaction(conn, |conn| {
        let had = load(conn)?.is_some_and(|r| r.refresh_token_enc.is_some());
        diesel::delete(oc::oauth_connection.filter(oc::id.eq(ROW_ID))).execute(conn)?;
        Ok(had)
    })
}

/// Outcome of [`take_refresh_lease`].
pub enum Lease {
    /// This caller holds the lease; here is the current refresh token.
    Taken(Vec<u8>),
    /// Another instance is refreshing: wait and try again.
    Busy,
    /// No account is connected for this binding.
    NotConnected,
}

/// Takes the refresh lease for `owner` until `until`, if no one else holds it.
pub fn take_refresh_lease(
    conn: &mut AnyConnection,
    binding: &str,
    owner: &str,
    until: NaiveDateTime,
) -> anyhow::Result<Lease> {
    write_transaction(conn, |conn| {
        let at = now();
        let n = diesel::update(
            oc::oauth_connection
                .filter(oc::id.eq(ROW_ID))
                .filter(oc::binding.eq(binding))
                .filter(oc::refresh_token_enc.is_not_null())
                .filter(
                    oc::refresh_lease_until
                        .is_null()
                        .or(oc::refresh_lease_until.lt(at))
                        .or(oc::refresh_lease_owner.eq(owner)),
                ),
        )
        .set((oc::refresh_lease_owner.eq(owner), oc::refresh_lease_until.eq(until)))
        .execute(conn)?;
        // The token is read only now, under the lease: read before it, it could be the one
        // that the previous holder has just rotated away (PostgreSQL's read committed shows
        // each statement the latest commit).
        let row = load_for(conn, binding)?;
        match row.and_then(|r| r.refresh_token_enc) {
            None => Ok(Lease::NotConnected),
            Some(token) if n == 1 => Ok(Lease::Taken(token)),
            Some(_) => Ok(Lease::Busy),
        }
    })
}

/// A refresh under the lease worked: stores the rotated token (if the provider sent one),
/// the token times, and releases the lease.
pub fn refreshed(
    conn: &mut AnyConnection,
    binding: &str,
    owner: &str,
    rotated_enc: Option<&[u8]>,
    issued: NaiveDateTime,
    expires: NaiveDateTime,
) -> anyhow::Result<()> {
    write_transaction(conn, |conn| {
        let row = oc::oauth_connection
            .filter(oc::id.eq(ROW_ID))
            .filter(oc::binding.eq(binding))
            .filter(oc::refresh_lease_owner.eq(owner));
        if let Some(token) = rotated_enc {
            diesel::update(row).set(oc::refresh_token_enc.eq(token)).execute(conn)?;
        }
        diesel::update(row)
            .set((
                oc::token_issued_at.eq(issued),
                oc::token_expires_at.eq(expires),
                oc::refresh_token_used_at.eq(issued),
                oc::last_error_class.eq(None::<String>),
                oc::last_error_at.eq(None::<NaiveDateTime>),
                oc::last_error_logged_at.eq(None::<NaiveDateTime>),
                oc::refresh_lease_owner.eq(None::<String>),
                oc::refresh_lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Releases the lease without a new token (the refresh failed).
pub fn release_lease(conn: &mut AnyConnection, binding: &str, owner: &str) -> anyhow::Result<()> {
    diesel::update(
        oc::oauth_connection
            .filter(oc::id.eq(ROW_ID))
            .filter(oc::binding.eq(binding))
            .filter(oc::refresh_lease_owner.eq(owner)),
    )
    .set((oc::refresh_lease_owner.eq(None::<String>), oc::refresh_lease_until.eq(None::<NaiveDateTime>)))
    .execute(conn)?;
    Ok(())
}

/// An app-only or service-account token was issued.
pub fn token_issued(
    conn: &mut AnyConnection,
    binding: &str,
    issued: NaiveDateTime,
    expires: NaiveDateTime,
) -> anyhow::Result<()> {
    write_transaction(conn, |conn| {
        ensure(conn, binding)?;
        diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)))
            .set((
                oc::token_issued_at.eq(issued),
                oc::token_expires_at.eq(expires),
                oc::last_error_class.eq(None::<String>),
                oc::last_error_at.eq(None::<NaiveDateTime>),
                oc::last_error_logged_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// A token request failed with `class`. Returns true when this failure should go to the
/// error log: a new class, or the same one last logged longer than `relog_after` ago, so a
/// dead connection checked every few minutes is one entry an hour, not dozens.
pub fn failed(
    conn: &mut AnyConnection,
    binding: &str,
    class: &str,
    relog_after: chrono::Duration,
) -> anyhow::Result<bool> {
    write_transaction(conn, |conn| {
        ensure(conn, binding)?;
        let (previous, logged): (Option<String>, Option<NaiveDateTime>) = oc::oauth_connection
            .filter(oc::id.eq(ROW_ID))
            .select((oc::last_error_class, oc::last_error_logged_at))
            .first(conn)?;
        let at = now();
        let log = previous.as_deref() != Some(class) || logged.is_none_or(|l| at - l >= relog_after);
        diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)))
            .set((oc::last_error_class.eq(class), oc::last_error_at.eq(at)))
            .execute(conn)?;
        if log {
            diesel::update(oc::oauth_connection.filter(oc::id.eq(ROW_ID)))
                .set(oc::last_error_logged_at.eq(at))
                .execute(conn)?;
        }
        Ok(log)
    })
}
