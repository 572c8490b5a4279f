//! The shared pause after a throttling or quota reply (one row, id = 1): the latest time
//! until which no instance sends.

use super::schema::delivery_pause::dsl as dp;
use super::{write_transaction, AnyConnection};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROW_ID: i32 = 1;

/// Until when sending is paused (possibly in the past).
pub fn load(conn: &mut AnyConnection) -> anyhow::Result<Option<NaiveDateTime>> {
    Ok(dp::delivery_pause.filter(dp::id.eq(ROW_ID)).select(dp::paused_until).first(conn).optional()?)
}

/// Pauses sending until `until`, unless a longer pause is on already.
pub fn extend(conn: &mut AnyConnection, until: NaiveDateTime) -> anyhow::Result<()> {
    write_transaction(conn, |conn| {
        match load(conn)? {
            Some(current) if current >= until => {}
            Some(_) => {
                diesel::update(dp::delivery_pause.filter(dp::id.eq(ROW_ID)))
                    .set(dp::paused_until.eq(until))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(dp::delivery_pause)
                    .values((dp::id.eq(ROW_ID), dp::paused_until.eq(until)))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}
