//! The admin account: only the argon2 hash of its password is stored.

use super::schema::admin_account::dsl as a;
use super::{now, AnyConnection};
use anyhow::Context;
use diesel::prelude::*;

const ROW_ID: i32 = 1;

pub fn password_hash(conn: &mut AnyConnection) -> anyhow::Result<Option<String>> {
    a::admin_account
        .filter(a::id.eq(ROW_ID))
        .select(a::password_hash)
        .first(conn)
        .optional()
        .context("loading the admin account")
}

/// Stores the hash unless one exists. Returns whether this call stored it, so that of
/// several instances starting at once exactly one announces a generated password.
pub fn insert_if_absent(conn: &mut AnyConnection, hash: &str) -> anyhow::Result<bool> {
    super::write_transaction(conn, |conn| {
        if password_hash(conn)?.is_some() {
            return Ok(false);
        }
        diesel::insert_into(a::admin_account)
            .values((a::id.eq(ROW_ID), a::password_hash.eq(hash), a::updated_at.eq(now())))
            .execute(conn)?;
        Ok(true)
    })
}

pub fn set(conn: &mut AnyConnection, hash: &str) -> anyhow::Result<()> {
    super::write_transaction(conn, |conn| {
        let updated = diesel::update(a::admin_account.filter(a::id.eq(ROW_ID)))
            .set((a::password_hash.eq(hash), a::updated_at.eq(now())))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(a::admin_account)
                .values((a::id.eq(ROW_ID), a::password_hash.eq(hash), a::updated_at.eq(now())))
                .execute(conn)?;
        }
        Ok(())
    })
}
