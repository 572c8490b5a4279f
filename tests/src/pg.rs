//! Throw-away PostgreSQL databases, through the `psql` and `pg_dump` clients.

use std::process::{Command, Stdio};

/// Default server for the tests: the local PostgreSQL with trust authentication.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// A database `postamt_e2e_<random>` created for one test and dropped (with `FORCE`, so open
/// connections do not keep it) when this handle is dropped, also when the test fails.
pub struct TestDatabase {
    pub name: String,
    /// Connection URL of this database.
    pub url: String,
    /// Connection URL of the server's `postgres` maintenance database.
    admin_url: String,
}

/// The server's base URL (`POSTAMT_TEST_PG_URL`), without a database name.
pub fn server_url() -> String {
    let url = std::env::var("POSTAMT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
    let url = url.trim_end_matches('/');
    // Accept a URL that names a database too: everything after the authority is replaced.
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_string(),
        None => url.to_string(),
    }
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let base = server_url();
        let name = format!("postamt_e2e_{}", crate::unique());
        let admin_url = format!("{base}/postgres");
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        TestDatabase { url: format!("{base}/{name}"), name, admin_url }
    }

    /// Runs SQL in this database and returns psql's unaligned, tuples-only output.
    pub fn query(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }

    /// The data of every table as `pg_dump --data-only` writes it (`COPY` text; `bytea` as
    /// hex).
    pub fn dump_data(&self) -> String {
        let out = Command::new("pg_dump")
            .args(["--data-only", "--no-owner", "--no-privileges", "--dbname"])
            .arg(&self.url)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_dump (install postgresql-client): {e}"));
        assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("pg_dump writes UTF-8")
    }

    /// Every value of every text-like column (text, varchar, char, json, jsonb, bytea as hex)
    /// in the public schema, one per line, prefixed with `table.column:`.
    pub fn all_text_values(&self) -> String {
        let columns = self.query(
            "SELECT table_name || '|' || column_name FROM information_schema.columns \
             WHERE table_schema = 'public' \
               AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea') \
             ORDER BY table_name, column_name",
        );
        let mut out = String::new();
        for line in columns.lines().filter(|l| !l.is_empty()) {
            let (table, column) = line.split_once('|').expect("table|column");
            let values = self.query(&format!("SELECT coalesce(\"{column}\"::text, '') FROM \"{table}\""));
            for value in values.lines() {
                out.push_str(&format!("{table}.{column}: {value}\n"));
            }
        }
        out
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(&self.admin_url)
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!("could not drop {}: {}", self.name, String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("could not drop {}: {e}", self.name),
        }
    }
}

/// Runs one SQL command with psql; panics with psql's error output when it fails.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(url)
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql (install postgresql-client): {e}"));
    assert!(
        out.status.success(),
        "psql failed for `{sql}` on {url}: {} (is PostgreSQL running? scripts/test starts it)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("psql writes UTF-8")
}
