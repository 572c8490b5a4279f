//! Unit tests' databases: a SQLite file in a temporary folder, or a PostgreSQL database of
//! its own (at `POSTAMT_TEST_PG_URL`), dropped with the value.

use super::messages::{NewMessage, Recipients};
use super::{now, Db};
use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    /// Dropped after `db` (fields drop in order), with the connections it ends.
    _pg: Option<EmptyPostgres>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(dir.path().join("t.sqlite3").to_str().unwrap()).unwrap();
        TestDb { db, _dir: Some(dir), _pg: None }
    }

    pub fn postgres() -> TestDb {
        let empty = EmptyPostgres::create();
        let db = Db::connect(&empty.url()).unwrap();
        TestDb { db, _dir: None, _pg: Some(empty) }
    }

    /// Both, SQLite first.
    pub fn both() -> [TestDb; 2] {
        [TestDb::sqlite(), TestDb::postgres()]
    }
}

/// A PostgreSQL database of its own without any migration applied, dropped with the value.
pub struct EmptyPostgres {
    pg: (String, String),
}

impl EmptyPostgres {
    pub fn create() -> EmptyPostgres {
        let server =
            std::env::var("POSTAMT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("postamt_unit_{}", uuid::Uuid::new_v4().simple());
        crate::db::libpq_tls::init();
        let mut admin = PgConnection::establish(&format!("{server}/postgres"))
            .unwrap_or_else(|e| panic!("PostgreSQL must run at {server} for the tests (POSTAMT_TEST_PG_URL): {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
        EmptyPostgres { pg: (server, name) }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.pg.0, self.pg.1)
    }
}

impl Drop for EmptyPostgres {
    fn drop(&mut self) {
        let (server, name) = &self.pg;
        if let Ok(mut admin) = PgConnection::establish(&format!("{server}/postgres")) {
            // FORCE ends the pool's connections, which live as long as `db` clones do.
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
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
        priority: postamt_wire::Priority::Normal,
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
