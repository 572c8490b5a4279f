//! Recording a worker's round of attempts in one writer job.
//!
//! Per message, a record is two statements (message state with its content's fate, log
//! entry). On SQLite every statement is built, prepared and run by the one writer thread,
//! which also stores every accepted message: the writer's time per message set the
//! throughput. Here a round's records share their statements on SQLite: one UPDATE over a
//! VALUES list for the messages and one multi-row INSERT for the log. On PostgreSQL the
//! round is one prepared statement (see `completion`).
//!
//! One record must not fail the others: if the shared statements fail, the job runs again
//! and writes each record by itself (`Pass::Again`). A record that still fails is returned
//! with its error; its message's claim expires and it is sent again (at-least-once).

use super::completion::{changes, complete, Completion};
use super::mail_log::{Derived, InsertRow, NewEntry};
use super::schema::messages::dsl as m;
use super::sqlite_multi_row::{bind_values, BindRow, MultiRow};
use super::sqlite_time::SqliteTimestamp;
use super::{isolated, now, AnyConnection, Db, Durability, Pass, Pending};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::QueryResult;
use postamt_wire::{MessageStatus, PolicyHeaders};

/// One attempt's record, owned so that it can wait in the writer's queue.
/// Its columns are serialised when it is made, by the worker: on SQLite the one writer
/// thread's time per message bounds the throughput, and a record may be written twice.
pub struct Record {
    pub id: String,
    pub completion: Completion,
    /// The headers the delivery used, as stored (JSON; None: it did not get that far).
    pub(super) headers: Option<String>,
    pub(super) log: NewEntry,
    pub(super) derived: Derived,
}

impl Record {
    pub fn new(
        id: String,
        completion: Completion,
        headers: Option<&PolicyHeaders>,
        log: NewEntry,
    ) -> anyhow::Result<Record> {
        let headers = headers.map(serde_json::to_string).transpose()?;
        let derived = log.derived()?;
        Ok(Record { id, completion, headers, log, derived })
    }
}

/// Records that could not be written, with their errors.
pub type RoundOutcome = Vec<(String, anyhow::Error)>;

/// Queues a round's records for the writer; `renew` extends the worker's claims first (it
/// is alive).
pub fn submit(db: &Db, records: Vec<Record>, renew: Option<(String, NaiveDateTime)>) -> Pending<RoundOutcome> {
    db.write_items(Durability::Relaxed, move |conn, pass| record_round(conn, &records, renew.as_ref(), pass))
}

/// Writes a round's records: together on the first pass, each by itself on the second.
fn record_round(
    conn: &mut AnyConnection,
    records: &[Record],
    renew: Option<&(String, NaiveDateTime)>,
    pass: Pass,
) -> anyhow::Result<RoundOutcome> {
    if let Some((worker, until)) = renew {
        diesel::update(
            m::messages.filter(m::claimed_by.eq(worker)).filter(m::status.eq(MessageStatus::Sending.as_str())),
        )
        .set(m::claim_expires_at.eq(Some(*until)))
        .execute(conn)?;
    }
    if pass == Pass::First {
        if !records.is_empty() {
            write(conn, records)?;
        }
        return Ok(Vec::new());
    }
    Ok(records
        .iter()
        .filter_map(|r| isolated(conn, |conn| write(conn, std::slice::from_ref(r))).err().map(|e| (r.id.clone(), e)))
        .collect())
}

/// SQLite: the records share their statements. PostgreSQL: one prepared statement over
/// arrays of the round's values (see `completion`).
fn write(conn: &mut AnyConnection, records: &[Record]) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Sqlite(c) => record_together(c, records),
        AnyConnection::Postgresql(c) => complete(c, records),
    }
}

/// SQLite: the records in two statements, each prepared once per number of records (see
/// `sqlite_multi_row`).
fn record_together(conn: &mut SqliteConnection, records: &[Record]) -> anyhow::Result<()> {
    let at = now();
    let updates: Vec<Update<'_>> = records
        .iter()
        .map(|r| Update { id: &r.id, changes: changes(&r.completion, at), headers: r.headers.as_deref(), at })
        .collect();
    MultiRow { head: UPDATE_MESSAGES, rows: &updates, tail: ") AS v WHERE messages.id = v.column1" }.execute(conn)?;

    let rows: Vec<InsertRow<'_>> = records.iter().map(|r| InsertRow::new(&r.log, &r.derived)).collect();
    MultiRow { head: INSERT_LOG, rows: &rows, tail: "" }.execute(conn)?;
    Ok(())
}

/// Each record's message: its new state, from a VALUES list (`v.column1` is the id).
/// Sent ones lose their content; failed ones keep it until a time (see `completion`).
const UPDATE_MESSAGES: &str = "UPDATE messages SET attempts = attempts + 1, claimed_by = NULL, \
    claim_expires_at = NULL, status = v.column2, sent_at = COALESCE(v.column3, sent_at), \
    next_attempt_at = COALESCE(v.column4, next_attempt_at), headers = COALESCE(v.column5, headers), \
    updated_at = v.column6, content = CASE WHEN v.column7 THEN NULL ELSE content END, \
    content_delete_after = COALESCE(v.column8, content_delete_after) FROM (VALUES ";

const INSERT_LOG: &str = "INSERT INTO mail_log (at, kind, message_id, category, status, recipients, sender, \
    attempt, stage, failure_class, smtp_reply, duration_ms, details) VALUES ";

struct Update<'a> {
    id: &'a str,
    changes: super::completion::Changes,
    headers: Option<&'a str>,
    at: NaiveDateTime,
}

impl BindRow for Update<'_> {
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        bind_values!(out;
            Text => &self.id,
            Text => &self.changes.status,
            Nullable<SqliteTimestamp> => &self.changes.sent_at,
            Nullable<SqliteTimestamp> => &self.changes.next_attempt_at,
            Nullable<Text> => &self.headers,
            SqliteTimestamp => &self.at,
            diesel::sql_types::Bool => &self.changes.drop_content,
            Nullable<SqliteTimestamp> => &self.changes.keep_content_until,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::mail_log::Details;
    use crate::db::messages::{accept, NewMessage};
    use crate::db::schema::mail_log::dsl as l;
    use crate::db::schema::message_content::dsl as c;
    use crate::db::test_db::{new_message, TestDb};
    use postamt_wire::{LogKind, MailAddress};
    use std::sync::Arc;

    fn headers() -> PolicyHeaders {
        PolicyHeaders {
            from: MailAddress { name: None, address: "from@example.com".into() },
            reply_to: None,
            envelope_from: "from@example.com".into(),
            message_id: "<m@example.com>".into(),
            date: chrono::Utc::now(),
        }
    }

    async fn stored(db: &Db, id: &str) {
        let msg =
            NewMessage { claim: Some(("worker".into(), now() + chrono::Duration::minutes(5))), ..new_message(id) };
        accept(db, Arc::new(msg)).await.unwrap();
    }

    fn record(id: &str, completion: Completion, category: &str) -> Record {
        let status = match completion {
            Completion::Sent => MessageStatus::Sent,
            Completion::Retry { .. } => MessageStatus::Retrying,
            Completion::Failed { .. } => MessageStatus::Failed,
        };
        Record::new(
            id.into(),
            completion,
            Some(&headers()),
            NewEntry {
                at: now(),
                kind: LogKind::Delivery,
                message_id: Some(id.into()),
                category: category.into(),
                status,
                recipients: vec!["To@Example.com".into()],
                sender: "from@example.com".into(),
                attempt: Some(1),
                stage: None,
                class: None,
                smtp_reply: Some("250 ok".into()),
                duration_ms: 3,
                details: Details::default(),
            },
        )
        .unwrap()
    }

    type State = (String, String, i32, bool, bool, bool);

    /// Status, claim holder, attempts, sent_at set, content kept, content's keep-until set.
    fn state(conn: &mut AnyConnection, id: &str) -> State {
        let (status, claimed_by, attempts, sent_at): (String, Option<String>, i32, Option<NaiveDateTime>) = m::messages
            .filter(m::id.eq(id))
            .select((m::status, m::claimed_by, m::attempts, m::sent_at))
            .first(conn)
            .unwrap();
        let (content, keep_until): (Option<Vec<u8>>, Option<NaiveDateTime>) =
            c::message_content.filter(c::id.eq(id)).select((c::content, c::content_delete_after)).first(conn).unwrap();
        (status, claimed_by.unwrap_or_default(), attempts, sent_at.is_some(), content.is_some(), keep_until.is_some())
    }

    fn logged(conn: &mut AnyConnection) -> Vec<(Option<String>, String, String)> {
        l::mail_log.select((l::message_id, l::status, l::recipients)).order(l::id.asc()).load(conn).unwrap()
    }

    /// A round's records written together land exactly as one by one would: sent ones lose
    /// their content, failed ones keep it until a time, retried ones get their next time,
    /// and every record gets its log entry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_round_is_recorded_together() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for id in ["a", "b", "c"] {
                stored(db, id).await;
            }
            let later = now() + chrono::Duration::minutes(3);
            let records = vec![
                record("a", Completion::Sent, "finance"),
                record("b", Completion::Retry { at: later }, "finance"),
                record("c", Completion::Failed { keep_body_until: later }, "finance"),
            ];
            let failed = submit(db, records, None).await;
            assert!(failed.unwrap().is_empty());
            db.run(move |conn| {
                assert_eq!(state(conn, "a"), ("sent".into(), String::new(), 1, true, false, false));
                assert_eq!(state(conn, "b"), ("retrying".into(), String::new(), 1, false, true, false));
                assert_eq!(state(conn, "c"), ("failed".into(), String::new(), 1, false, true, true));
                let next: NaiveDateTime = m::messages.filter(m::id.eq("b")).select(m::next_attempt_at).first(conn)?;
                assert_eq!(next, later);
                let log = logged(conn);
                let ids: Vec<_> = log
                    .iter()
                    .map(|(id, status, recipients)| (id.clone().unwrap(), status.as_str(), recipients.as_str()))
                    .collect();
                assert_eq!(
                    ids,
                    [
                        ("a".into(), "sent", "to@example.com"),
                        ("b".into(), "retrying", "to@example.com"),
                        ("c".into(), "failed", "to@example.com")
                    ]
                );
                Ok(())
            })
            .await
            .unwrap();
        }
    }

    /// One record that cannot be written does not take the round down: the others are
    /// written, and it comes back with its error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_record_fails_alone() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            for id in ["a", "b", "c"] {
                stored(db, id).await;
            }
            db.run(|conn| {
                let poison = match conn {
                    AnyConnection::Sqlite(_) => {
                        "CREATE TRIGGER poison BEFORE INSERT ON mail_log WHEN NEW.category = 'poison' \
                         BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
                    }
                    AnyConnection::Postgresql(_) => {
                        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                         IF NEW.category = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$; \
                         CREATE TRIGGER poison BEFORE INSERT ON mail_log FOR EACH ROW EXECUTE FUNCTION poison()"
                    }
                };
                diesel::connection::SimpleConnection::batch_execute(conn, poison)?;
                Ok(())
            })
            .await
            .unwrap();
            let records = vec![
                record("a", Completion::Sent, "finance"),
                record("b", Completion::Sent, "poison"),
                record("c", Completion::Sent, "finance"),
            ];
            let failed = submit(db, records, None).await.unwrap();
            let failed: Vec<_> = failed.iter().map(|(id, e)| (id.as_str(), format!("{e:#}"))).collect();
            assert_eq!(failed.len(), 1, "{failed:?}");
            assert_eq!(failed[0].0, "b");
            assert!(failed[0].1.contains("poisoned"), "{failed:?}");
            db.run(|conn| {
                assert_eq!(state(conn, "a").0, "sent");
                assert_eq!(
                    state(conn, "b"),
                    ("sending".into(), "worker".into(), 0, false, true, false),
                    "left as it was"
                );
                assert_eq!(state(conn, "c").0, "sent");
                assert_eq!(logged(conn).len(), 2);
                Ok(())
            })
            .await
            .unwrap();
        }
    }
}
