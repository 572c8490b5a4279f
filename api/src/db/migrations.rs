//! Embedded migrations, one tree per dialect.

use super::AnyConnection;
use anyhow::Context;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Arbitrary constant naming Postamt's migration lock among PostgreSQL advisory locks.
const PG_MIGRATION_LOCK: i64 = 0x0070_6f73_7461_6d74; // "postamt" in ASCII

pub fn run(conn: &mut AnyConnection) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        AnyConnection::Postgresql(c) => {
            // Several instances may start at once against one database: migrate one at a time.
            diesel::sql_query(format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))
                .execute(c)
                .context("taking the migration lock")?;
            let result = c.run_pending_migrations(POSTGRES).map(|_| ()).map_err(|e| anyhow::anyhow!("{e}"));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))
                .execute(c)
                .context("releasing the migration lock")?;
            result?;
        }
    }
    Ok(())
}
