//! SQLite statements over a list of rows (multi-row INSERT, UPDATE from a VALUES list,
//! `IN (...)`) that SQLite prepares once per row count, not once per use.
//!
//! diesel prepares batch inserts, `eq_any` lists and `sql_query` anew every time (it marks
//! them unsafe to cache, since their SQL changes with their input). The writer thread runs
//! such statements for every batch of accepts and attempt records, and preparing them took a
//! fifth of its time. [`MultiRow`] writes its SQL from fixed parts and the row count only,
//! and leaves it cacheable: diesel then keys its statement cache by that SQL, so each row
//! count is prepared once per connection. Batches are bounded, so the cache is too.

use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

/// One row's bound values, in the order of the statement's columns.
pub trait BindRow {
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()>;
}

/// `head`, then each row as `(?, ?, ...)` (or a bare `?` with one column), separated by
/// commas, then `tail`.
pub struct MultiRow<'a, R> {
    pub head: &'static str,
    pub rows: &'a [R],
    pub tail: &'static str,
}

impl<R> QueryId for MultiRow<'_, R> {
    type QueryId = ();
    // No static id: diesel keys the cached statement by its SQL, i.e. by the row count.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<R: BindRow> QueryFragment<Sqlite> for MultiRow<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(self.head);
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            row.bind(&mut out)?;
        }
        out.push_sql(self.tail);
        Ok(())
    }
}

impl<R, Conn> RunQueryDsl<Conn> for MultiRow<'_, R> {}

/// Binds one row as `(?, ?, ...)`: `bind_values!(out; Text => &a, Nullable<Text> => &b)`.
macro_rules! bind_values {
    ($out:ident; $($ty:ty => $value:expr),+ $(,)?) => {{
        $out.push_sql("(");
        let mut _first = true;
        $(
            if !_first {
                $out.push_sql(", ");
            }
            _first = false;
            $out.push_bind_param::<$ty, _>($value)?;
        )+
        $out.push_sql(")");
        Ok(())
    }};
}
pub(crate) use bind_values;

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::{Integer, Text};
    use diesel::{Connection, SqliteConnection};

    struct Pair(i32, String);

    impl BindRow for Pair {
        fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
            bind_values!(out; Integer => &self.0, Text => &self.1)
        }
    }

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = Integer)]
        n: i32,
        #[diesel(sql_type = Text)]
        s: String,
    }

    #[test]
    fn rows_are_bound_in_order() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER NOT NULL, s TEXT NOT NULL)").unwrap();
        for rows in [vec![Pair(1, "a".into()), Pair(2, "b".into())], vec![Pair(3, "c".into()), Pair(4, "d".into())]] {
            MultiRow { head: "INSERT INTO t (n, s) VALUES ", rows: &rows, tail: "" }.execute(&mut conn).unwrap();
        }
        MultiRow { head: "INSERT INTO t (n, s) VALUES ", rows: &[Pair(5, "e".into())], tail: "" }
            .execute(&mut conn)
            .unwrap();
        let stored: Vec<Row> = diesel::sql_query("SELECT n, s FROM t ORDER BY n").load(&mut conn).unwrap();
        let expected: Vec<Row> =
            [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")].map(|(n, s)| Row { n, s: s.into() }).into();
        assert_eq!(stored, expected);
    }

    /// Each row count is prepared once and then reused: diesel reports a statement it puts
    /// into its cache, and the same row count again reports nothing new.
    #[test]
    fn each_row_count_is_prepared_once() {
        use diesel::connection::InstrumentationEvent;
        use std::sync::{Arc, Mutex};
        let cached: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = cached.clone();
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER NOT NULL, s TEXT NOT NULL)").unwrap();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().unwrap().push(sql.to_owned());
            }
        });
        let insert = |conn: &mut SqliteConnection, rows: &[Pair]| {
            MultiRow { head: "INSERT INTO t (n, s) VALUES ", rows, tail: "" }.execute(conn).unwrap();
        };
        for n in 0..3 {
            insert(&mut conn, &[Pair(n, "a".into()), Pair(n, "b".into())]);
            insert(&mut conn, &[Pair(n, "c".into())]);
        }
        let cached = cached.lock().unwrap().clone();
        assert_eq!(cached, ["INSERT INTO t (n, s) VALUES (?, ?), (?, ?)", "INSERT INTO t (n, s) VALUES (?, ?)"]);
    }
}
