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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::EmptyPostgres;
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    /// The migrations of this day moved a message's content from a table of its own
    /// (`message_bodies`) into its row.
    const CONTENT_MOVED: &str = "20261128";

    const WAITING: &str = "INSERT INTO messages (id, created_by, category, status, recipients, headers, \
        next_attempt_at, created_at, updated_at, size_bytes) VALUES \
        ('queued', 't', 'c', 'queued', '{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 3), \
        ('failed', 't', 'c', 'failed', '{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 3), \
        ('sent', 't', 'c', 'sent', '{}', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 3)";

    type Content = (String, Option<Vec<u8>>, Option<chrono::NaiveDateTime>);

    fn contents(conn: &mut AnyConnection) -> Vec<Content> {
        use crate::db::schema::message_content::dsl as c;
        use diesel::prelude::*;
        c::message_content.select((c::id, c::content, c::content_delete_after)).order(c::id.asc()).load(conn).unwrap()
    }

    /// An upgrade keeps what waits in the outbox: content that an older version stored in
    /// `message_bodies` moves into its message's row, with the time it is kept until.
    #[test]
    fn upgrading_moves_stored_content_into_the_message_rows() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = dir.path().join("m.sqlite3");
        let empty_pg = EmptyPostgres::create();
        for url in [sqlite.to_str().unwrap().to_owned(), empty_pg.url()] {
            let mut conn = AnyConnection::establish(&url).unwrap();
            let sqlite = matches!(conn, AnyConnection::Sqlite(_));
            let source = || if sqlite { SQLITE } else { POSTGRES };
            let bytes = if sqlite { "X'616263'" } else { "'\\x616263'::bytea" };
            // The migrations of the older version only.
            while conn.pending_migrations(source()).unwrap()[0].name().version().to_string().as_str() < CONTENT_MOVED {
                conn.run_next_migration(source()).unwrap();
            }
            conn.batch_execute(WAITING).unwrap();
            conn.batch_execute(&format!(
                "INSERT INTO message_bodies (message_id, content, delete_after) VALUES \
                 ('queued', {bytes}, NULL), ('failed', {bytes}, '2026-02-01 00:00:00')"
            ))
            .unwrap();
            run(&mut conn).unwrap();
            let until = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
            assert_eq!(
                contents(&mut conn),
                [
                    ("failed".into(), Some(b"abc".to_vec()), Some(until)),
                    ("queued".into(), Some(b"abc".to_vec()), None),
                    ("sent".into(), None, None),
                ],
                "{url}"
            );
        }
    }

    /// The migrations of this day added OAuth 2.0 beside the password.
    const OAUTH_ADDED: &str = "20261205";

    /// Settings saved before OAuth existed keep signing in with their password.
    #[test]
    fn upgrading_keeps_stored_settings_on_the_password_method() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = dir.path().join("m.sqlite3");
        let empty_pg = EmptyPostgres::create();
        for url in [sqlite.to_str().unwrap().to_owned(), empty_pg.url()] {
            let mut conn = AnyConnection::establish(&url).unwrap();
            let sqlite = matches!(conn, AnyConnection::Sqlite(_));
            let source = || if sqlite { SQLITE } else { POSTGRES };
            let bytes = if sqlite { "X'01020304'" } else { "'\\x01020304'::bytea" };
            while conn.pending_migrations(source()).unwrap()[0].name().version().to_string().as_str() < OAUTH_ADDED {
                conn.run_next_migration(source()).unwrap();
            }
            conn.batch_execute(&format!(
                "INSERT INTO mail_settings (id, host, port, encryption, sender_name, sender_address, auth_enabled, \
                 auth_username, auth_password_enc, sender_policy, timeout_seconds, version, updated_at, updated_by) \
                 VALUES (1, 'smtp.example.org', 587, 'starttls', 'TEAMBOX', 'teambox@example.org', TRUE, \
                 'teambox@example.org', {bytes}, 'default', 20, 3, '2026-11-30 12:00:00', 'admin')"
            ))
            .unwrap();
            run(&mut conn).unwrap();
            let loaded = crate::db::settings::load(&mut conn).unwrap().expect("settings kept");
            assert_eq!(loaded.settings.auth_method, postamt_wire::AuthMethod::Password, "{url}");
            assert!(loaded.settings.password_set && loaded.settings.oauth.is_none(), "{url}");
            assert_eq!(loaded.secrets.password.as_deref(), Some(&[1u8, 2, 3, 4][..]), "{url}");
            assert_eq!(loaded.settings.version, 3);
        }
    }
}
