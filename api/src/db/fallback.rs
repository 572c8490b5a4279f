//! The fallback server's row (`fallback_connection`, id = 1), saved and deleted together
//! with the settings row in the same transaction (see `db::settings`).

use super::schema::fallback_connection::dsl as f;
use super::AnyConnection;
use crate::domain::StoredFallback;
use anyhow::Context;
use diesel::prelude::*;
use postamt_wire::Encryption;

const ROW_ID: i32 = 1;

/// The row, as read together with the settings row (`db::settings::load`).
#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::fallback_connection)]
pub(super) struct Row {
    host: String,
    port: i32,
    encryption: String,
    auth_enabled: bool,
    auth_username: Option<String>,
    auth_password_enc: Option<Vec<u8>>,
    tls_trusted_ca_pem: Option<String>,
    tls_accept_invalid_certificates: bool,
    envelope_sender: Option<String>,
}

/// The saved fallback server and its encrypted password.
pub(super) fn from_row(row: Option<Row>) -> anyhow::Result<Option<(StoredFallback, Option<Vec<u8>>)>> {
    row.map(|r| {
        Ok((
            StoredFallback {
                host: r.host,
                port: u16::try_from(r.port).context("stored fallback port out of range")?,
                encryption: Encryption::parse(&r.encryption).context("stored fallback encryption unknown")?,
                auth_enabled: r.auth_enabled,
                auth_username: r.auth_username,
                password_set: r.auth_password_enc.is_some(),
                tls_trusted_ca_pem: r.tls_trusted_ca_pem,
                tls_accept_invalid_certificates: r.tls_accept_invalid_certificates,
                envelope_sender: r.envelope_sender,
            },
            r.auth_password_enc,
        ))
    })
    .transpose()
}

/// Replaces the row with `fallback` (None: removes it). Runs inside the settings' transaction.
pub fn store(
    conn: &mut AnyConnection,
    fallback: Option<&StoredFallback>,
    password_enc: Option<&Vec<u8>>,
) -> anyhow::Result<()> {
    diesel::delete(f::fallback_connection).execute(conn).context("removing the fallback server")?;
    let Some(s) = fallback else { return Ok(()) };
    diesel::insert_into(f::fallback_connection)
        .values((
            f::id.eq(ROW_ID),
            f::host.eq(&s.host),
            f::port.eq(i32::from(s.port)),
            f::encryption.eq(s.encryption.as_str()),
            f::auth_enabled.eq(s.auth_enabled),
            f::auth_username.eq(&s.auth_username),
            f::auth_password_enc.eq(password_enc),
            f::tls_trusted_ca_pem.eq(&s.tls_trusted_ca_pem),
            f::tls_accept_invalid_certificates.eq(s.tls_accept_invalid_certificates),
            f::envelope_sender.eq(&s.envelope_sender),
        ))
        .execute(conn)
        .context("saving the fallback server")?;
    Ok(())
}
