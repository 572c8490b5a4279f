//! The change history of the settings. Values of secrets are never recorded.

use super::schema::settings_history::dsl as h;
use super::{now, utc, AnyConnection};
use anyhow::Context;
use diesel::dsl::max;
use diesel::prelude::*;
use postamt_wire::{FieldChange, SettingsAction, SettingsHistoryEntry};

/// Versions keep counting across deletions, so an `ETag` is never reused.
pub fn next_version(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    let current: Option<i64> = h::settings_history.select(max(h::version)).first(conn)?;
    Ok(current.unwrap_or(0) + 1)
}

pub fn record(
    conn: &mut AnyConnection,
    version: i64,
    action: SettingsAction,
    actor: &str,
    changes: &[FieldChange],
) -> anyhow::Result<()> {
    let action = serde_json::to_value(action)?.as_str().unwrap_or_default().to_owned();
    diesel::insert_into(h::settings_history)
        .values((
            h::version.eq(version),
            h::action.eq(action),
            h::changed_at.eq(now()),
            h::changed_by.eq(actor),
            h::changes.eq(serde_json::to_string(changes)?),
        ))
        .execute(conn)
        .context("recording the settings history")?;
    Ok(())
}

pub fn list(conn: &mut AnyConnection, limit: i64) -> anyhow::Result<Vec<SettingsHistoryEntry>> {
    let rows: Vec<(i64, String, chrono::NaiveDateTime, String, String)> = h::settings_history
        .select((h::version, h::action, h::changed_at, h::changed_by, h::changes))
        .order(h::id.desc())
        .limit(limit)
        .load(conn)
        .context("loading the settings history")?;
    rows.into_iter()
        .map(|(version, action, changed_at, changed_by, changes)| {
            Ok(SettingsHistoryEntry {
                version,
                action: serde_json::from_value(serde_json::Value::String(action))?,
                changed_at: utc(changed_at),
                changed_by,
                changes: serde_json::from_str(&changes)?,
            })
        })
        .collect()
}
