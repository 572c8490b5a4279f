//! The alert settings row (id = 1): channels and conditions, versioned like the mail settings.

use crate::db::schema::alert_settings::dsl as s;
use crate::db::{now, write_transaction, AnyConnection};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use postamt_wire::AlertConditions;

const ROW_ID: i32 = 1;

/// The settings as stored; the webhook secret encrypted.
#[derive(Debug, Clone, Default)]
pub struct StoredAlerts {
    pub webhook_url: Option<String>,
    pub webhook_secret_enc: Option<Vec<u8>>,
    pub email_recipients: Option<Vec<String>>,
    pub conditions: AlertConditions,
    /// 0: nothing saved yet.
    pub version: i64,
    pub updated_at: Option<NaiveDateTime>,
    pub updated_by: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::alert_settings)]
struct Row {
    webhook_url: Option<String>,
    webhook_secret_enc: Option<Vec<u8>>,
    email_recipients: Option<String>,
    conditions: String,
    version: i64,
    updated_at: NaiveDateTime,
    updated_by: String,
}

/// The saved settings, or the defaults (no channel) when nothing is saved.
pub fn load(conn: &mut AnyConnection) -> anyhow::Result<StoredAlerts> {
    let row: Option<Row> = s::alert_settings
        .filter(s::id.eq(ROW_ID))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .context("loading the alert settings")?;
    let Some(row) = row else { return Ok(StoredAlerts::default()) };
    Ok(StoredAlerts {
        webhook_url: row.webhook_url,
        webhook_secret_enc: row.webhook_secret_enc,
        email_recipients: row
            .email_recipients
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .context("reading the alert recipients")?,
        // Conditions added later take their defaults in rows saved before.
        conditions: serde_json::from_str(&row.conditions).context("reading the alert conditions")?,
        version: row.version,
        updated_at: Some(row.updated_at),
        updated_by: Some(row.updated_by),
    })
}

/// Saves `new` if the stored version is still `expected` (0: nothing saved). `None`: it
/// changed in the meantime.
pub fn save(
    conn: &mut AnyConnection,
    expected: i64,
    new: &StoredAlerts,
    actor: &str,
) -> anyhow::Result<Option<StoredAlerts>> {
    let recipients = new.email_recipients.as_ref().map(serde_json::to_string).transpose()?;
    let conditions = serde_json::to_string(&new.conditions)?;
    let at = now();
    write_transaction(conn, |conn| {
        let current = load(conn)?.version;
        if current != expected {
            return Ok(None);
        }
        let values = (
            s::webhook_url.eq(&new.webhook_url),
            s::webhook_secret_enc.eq(&new.webhook_secret_enc),
            s::email_recipients.eq(&recipients),
            s::conditions.eq(&conditions),
            s::version.eq(expected + 1),
            s::updated_at.eq(at),
            s::updated_by.eq(actor),
        );
        let written = if expected == 0 {
            diesel::insert_into(s::alert_settings).values((s::id.eq(ROW_ID), values)).execute(conn)
        } else {
            diesel::update(s::alert_settings.filter(s::id.eq(ROW_ID)).filter(s::version.eq(expected)))
                .set(values)
                .execute(conn)
        };
        match written {
            Ok(1) => {}
            Ok(_) => return Ok(None),
            // Another instance saved the first version at the same moment.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Ok(None)
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Some(StoredAlerts {
            version: expected + 1,
            updated_at: Some(at),
            updated_by: Some(actor.to_owned()),
            ..new.clone()
        }))
    })
}
