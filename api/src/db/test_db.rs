//! Unit tests' databases: a SQLite file in a temporary folder, or a PostgreSQL database of
//! its own (at `POSTAMT_TEST_PG_URL`), dropped with the value.

use super::messages::{NewMessage, Recipients};
use super::{now, Db};
use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("t.sqlite3").to_str().unwrap()).unwrap();
        TestDb { db, _dir: Some(dir), pg: None }
    }

    pub fn postgres() -> TestDb {
        let server =
            std::env::var("POSTAMT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("postamt_unit_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&format!("{server}/postgres"))
            .unwrap_or_else(|e| panic!("PostgreSQL must run at {server} for the tests (POSTAMT_TEST_PG_URL): {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
        let db = Db::connect(&format!("{server}/{name}")).unwrap();
        TestDb { db, _dir: None, pg: Some((server, name)) }
    }

    /// Both, SQLite first.
    pub fn both() -> [TestDb; 2] {
        [TestDb::sqlite(), TestDb::postgres()]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(&format!("{server}/postgres")) {
                // FORCE ends the pool's connections, which live as long as `db` clones do.
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// A message to store in a test: queued, no idempotency key, content `content of <id>`.
pub fn new_message(id: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        created_by: "test".into(),
        idempotency_key: None,
        request_hash: None,
        category: "finance".into(),
        recipients: Recipients::default(),
        headers: postamt_wire::PolicyHeaders {
            from: postamt_wire::MailAddress { name: None, address: "from@example.com".into() },
            reply_to: None,
            envelope_from: "from@example.com".into(),
            message_id: format!("<{id}@example.com>"),
            date: chrono::Utc::now(),
        },
        size_bytes: 10,
        content: format!("content of {id}").into_bytes(),
        created_at: now(),
        claim: None,
    }
}
