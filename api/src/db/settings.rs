//! The settings row (id = 1) and its optimistic-concurrency updates.

use super::schema::mail_settings::dsl as ms;
use super::{history, now, utc, write_transaction, AnyConnection};
use crate::domain::{changed_fields, SettingsDraft, StoredSettings};
use anyhow::Context;
use diesel::prelude::*;
use postamt_wire::{Encryption, SettingsAction};

const ROW_ID: i32 = 1;

// The two sender options are stored as one column: Reply-To requires forcing the sender.
const POLICY_INDIVIDUAL: &str = "individual";
const POLICY_DEFAULT: &str = "default";
const POLICY_DEFAULT_WITH_REPLY_TO: &str = "default_with_reply_to";

fn sender_policy(s: &StoredSettings) -> &'static str {
    match (s.force_default_sender, s.reply_to_individual_sender) {
        (false, _) => POLICY_INDIVIDUAL,
        (true, false) => POLICY_DEFAULT,
        (true, true) => POLICY_DEFAULT_WITH_REPLY_TO,
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = super::schema::mail_settings)]
struct Row {
    host: String,
    port: i32,
    encryption: String,
    sender_name: String,
    sender_address: String,
    auth_enabled: bool,
    auth_username: Option<String>,
    auth_password_enc: Option<Vec<u8>>,
    tls_trusted_ca_pem: Option<String>,
    tls_accept_invalid_certificates: bool,
    sender_policy: String,
    timeout_seconds: i32,
    version: i64,
    updated_at: chrono::NaiveDateTime,
    updated_by: String,
}

/// The saved settings plus the encrypted password, which only the SMTP code decrypts.
pub struct Loaded {
    pub settings: StoredSettings,
    pub password_enc: Option<Vec<u8>>,
}

pub fn load(conn: &mut AnyConnection) -> anyhow::Result<Option<Loaded>> {
    let row: Option<Row> = ms::mail_settings
        .filter(ms::id.eq(ROW_ID))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .context("loading mail settings")?;
    row.map(|r| {
        Ok(Loaded {
            settings: StoredSettings {
                host: r.host,
                port: u16::try_from(r.port).context("stored port out of range")?,
                encryption: Encryption::parse(&r.encryption).context("stored encryption unknown")?,
                sender_name: r.sender_name,
                sender_address: r.sender_address,
                auth_enabled: r.auth_enabled,
                auth_username: r.auth_username,
                password_set: r.auth_password_enc.is_some(),
                tls_trusted_ca_pem: r.tls_trusted_ca_pem,
                tls_accept_invalid_certificates: r.tls_accept_invalid_certificates,
                force_default_sender: r.sender_policy != POLICY_INDIVIDUAL,
                reply_to_individual_sender: r.sender_policy == POLICY_DEFAULT_WITH_REPLY_TO,
                timeout_seconds: u32::try_from(r.timeout_seconds).context("stored timeout out of range")?,
                version: r.version,
                updated_at: utc(r.updated_at),
                updated_by: r.updated_by,
            },
            password_enc: r.auth_password_enc,
        })
    })
    .transpose()
}

/// Result of a compare-and-swap write.
pub enum Outcome<T> {
    Done(T),
    /// The stored version is not the one the caller based its change on.
    Conflict {
        current: Option<i64>,
    },
}

/// Saves `draft` if the stored version is still `expected` (`None`: nothing stored), and
/// records the change in the history, in one transaction.
pub fn save(
    conn: &mut AnyConnection,
    expected: Option<i64>,
    draft: &SettingsDraft,
    password_enc: Option<Vec<u8>>,
    password_changed: bool,
    actor: &str,
) -> anyhow::Result<Outcome<StoredSettings>> {
    write_transaction(conn, |conn| {
        let current = load(conn)?;
        let current_version = current.as_ref().map(|c| c.settings.version);
        if current_version != expected {
            return Ok(Outcome::Conflict { current: current_version });
        }
        let version = history::next_version(conn)?;
        let at = now();
        let stored = draft.to_stored(password_enc.is_some(), version, utc(at), actor);
        let values = (
            ms::host.eq(&stored.host),
            ms::port.eq(i32::from(stored.port)),
            ms::encryption.eq(stored.encryption.as_str()),
            ms::sender_name.eq(&stored.sender_name),
            ms::sender_address.eq(&stored.sender_address),
            ms::auth_enabled.eq(stored.auth_enabled),
            ms::auth_username.eq(&stored.auth_username),
            ms::auth_password_enc.eq(&password_enc),
            ms::tls_trusted_ca_pem.eq(&stored.tls_trusted_ca_pem),
            ms::tls_accept_invalid_certificates.eq(stored.tls_accept_invalid_certificates),
            ms::sender_policy.eq(sender_policy(&stored)),
            (
                ms::timeout_seconds.eq(i32::try_from(stored.timeout_seconds)?),
                ms::version.eq(version),
                ms::updated_at.eq(at),
                ms::updated_by.eq(actor),
            ),
        );
        let action = match &current {
            Some(_) => {
                diesel::update(ms::mail_settings.filter(ms::id.eq(ROW_ID))).set(values).execute(conn)?;
                SettingsAction::Updated
            }
            None => {
                diesel::insert_into(ms::mail_settings).values((ms::id.eq(ROW_ID), values)).execute(conn)?;
                SettingsAction::Created
            }
        };
        let changes = changed_fields(current.as_ref().map(|c| &c.settings), Some(&stored), password_changed);
        history::record(conn, version, action, actor, &changes)?;
        Ok(Outcome::Done(stored))
    })
}

/// Deletes the settings if the stored version is `expected` (any version when `None`).
pub fn delete(conn: &mut AnyConnection, expected: Option<i64>, actor: &str) -> anyhow::Result<Outcome<()>> {
    write_transaction(conn, |conn| {
        let Some(current) = load(conn)? else {
            return Ok(Outcome::Conflict { current: None });
        };
        if expected.is_some_and(|v| v != current.settings.version) {
            return Ok(Outcome::Conflict { current: Some(current.settings.version) });
        }
        diesel::delete(ms::mail_settings.filter(ms::id.eq(ROW_ID))).execute(conn)?;
        let version = history::next_version(conn)?;
        let changes = changed_fields(Some(&current.settings), None, current.password_enc.is_some());
        history::record(conn, version, SettingsAction::Deleted, actor, &changes)?;
        Ok(Outcome::Done(()))
    })
}
