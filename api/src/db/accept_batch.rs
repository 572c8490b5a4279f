//! Accepted messages stored together: all accepts waiting at one moment become one writer
//! job, and one INSERT (on SQLite, one per 64 messages).
//!
//! The writer thread stores every accepted message, and on SQLite it is the one thread that
//! writes at all: its time per message bounds the throughput. One job and two statements
//! per message cost it more in statement set-up (diesel building the SQL, SQLite preparing
//! and resetting it) than in the rows themselves. Here the first accept that finds no job
//! scheduled submits one; the job takes every accept queued by the time the writer runs it.
//! A task answers each caller after the commit, so "accepted" still means committed.
//!
//! One message must not fail the others: if the shared statements fail, the job runs again
//! and stores each message by itself (`Pass::Again`), and only the failing one hears its
//! error.

use super::messages::NewMessage;
use super::pg_prepared::InsertMessages;
use super::sqlite_multi_row::{bind_values, BindRow, MultiRow};
use super::sqlite_time::SqliteTimestamp;
use super::writer::{isolated, Pass, Writer};
use super::{AnyConnection, Durability};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, SmallInt, Text};
use diesel::sqlite::Sqlite;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Rows per INSERT statement (SQLite allows 32,766 bound values; a message row has 17).
const ROWS_PER_STATEMENT: usize = 64;

type Reply = oneshot::Sender<anyhow::Result<()>>;

/// A message ready to store: its JSON columns are serialised by the caller, not by the writer.
pub struct Prepared {
    pub msg: Arc<NewMessage>,
    recipients: String,
    headers: String,
}

impl Prepared {
    pub fn new(msg: Arc<NewMessage>) -> anyhow::Result<Prepared> {
        let recipients = serde_json::to_string(&msg.recipients).context("serialising the recipients")?;
        let headers = serde_json::to_string(&msg.headers).context("serialising the headers")?;
        Ok(Prepared { msg, recipients, headers })
    }

    fn row(&self) -> MessageRow<'_> {
        let m = &self.msg;
        MessageRow {
            id: &m.id,
            created_by: &m.created_by,
            idempotency_key: m.idempotency_key.as_deref(),
            request_hash: m.request_hash.as_deref(),
            category: &m.category,
            status: m.status().as_str(),
            claimed_by: m.claim.as_ref().map(|(worker, _)| worker.as_str()),
            claim_expires_at: m.claim.as_ref().map(|(_, until)| *until),
            recipients: &self.recipients,
            headers: &self.headers,
            attempts: 0,
            next_attempt_at: m.created_at,
            created_at: m.created_at,
            updated_at: m.created_at,
            size_bytes: m.size_bytes,
            content: &m.content,
            priority: m.priority.rank(),
        }
    }
}

/// A message row for SQLite's multi-row INSERT (see `sqlite_multi_row`), and the values of
/// PostgreSQL's prepared statement.
struct MessageRow<'a> {
    id: &'a str,
    created_by: &'a str,
    idempotency_key: Option<&'a str>,
    request_hash: Option<&'a str>,
    category: &'a str,
    status: &'a str,
    claimed_by: Option<&'a str>,
    claim_expires_at: Option<NaiveDateTime>,
    recipients: &'a str,
    headers: &'a str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    size_bytes: i64,
    content: &'a [u8],
    priority: i16,
}

const INSERT_MESSAGES: &str = "INSERT INTO messages (id, created_by, idempotency_key, request_hash, category, status, \
    claimed_by, claim_expires_at, recipients, headers, attempts, next_attempt_at, created_at, updated_at, size_bytes, \
    content, priority) VALUES ";

impl BindRow for MessageRow<'_> {
    fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        bind_values!(out;
            Text => &self.id,
            Text => &self.created_by,
            Nullable<Text> => &self.idempotency_key,
            Nullable<Text> => &self.request_hash,
            Text => &self.category,
            Text => &self.status,
            Nullable<Text> => &self.claimed_by,
            Nullable<SqliteTimestamp> => &self.claim_expires_at,
            Text => &self.recipients,
            Text => &self.headers,
            Integer => &self.attempts,
            SqliteTimestamp => &self.next_attempt_at,
            SqliteTimestamp => &self.created_at,
            SqliteTimestamp => &self.updated_at,
            BigInt => &self.size_bytes,
            Binary => &self.content,
            SmallInt => &self.priority,
        )
    }
}

/// Stores `messages` with their content.
pub fn insert_all(conn: &mut AnyConnection, messages: &[Prepared]) -> anyhow::Result<()> {
    match conn {
        AnyConnection::Sqlite(c) => {
            for chunk in messages.chunks(ROWS_PER_STATEMENT) {
                let rows: Vec<MessageRow<'_>> = chunk.iter().map(Prepared::row).collect();
                MultiRow { head: INSERT_MESSAGES, rows: &rows, tail: "" }.execute(c)?;
            }
        }
        // One prepared statement stores all rows (see `pg_prepared`).
        AnyConnection::Postgresql(c) => {
            let mut all = InsertMessages::default();
            for p in messages {
                let row = p.row();
                all.id.push(row.id);
                all.created_by.push(row.created_by);
                all.idempotency_key.push(row.idempotency_key);
                all.request_hash.push(row.request_hash);
                all.category.push(row.category);
                all.status.push(row.status);
                all.claimed_by.push(row.claimed_by);
                all.claim_expires_at.push(row.claim_expires_at);
                all.recipients.push(row.recipients);
                all.headers.push(row.headers);
                all.created_at.push(row.created_at);
                all.size_bytes.push(row.size_bytes);
                all.content.push(row.content);
                all.priority.push(row.priority);
            }
            all.execute(c)?;
        }
    }
    Ok(())
}

/// Stores `messages`: together on the first pass, each by itself on the second (see
/// `writer::Pass`). The error of each message, in order (`None`: stored).
fn insert_batch(conn: &mut AnyConnection, messages: &[Prepared], pass: Pass) -> anyhow::Result<Vec<Option<String>>> {
    if pass == Pass::First {
        insert_all(conn, messages)?;
        return Ok(vec![None; messages.len()]);
    }
    Ok(messages
        .iter()
        .map(|p| isolated(conn, |conn| insert_all(conn, std::slice::from_ref(p))).err().map(|e| format!("{e:#}")))
        .collect())
}

/// Accepts waiting for the next job.
#[derive(Default)]
struct Waiting {
    messages: Vec<Prepared>,
    replies: Vec<Reply>,
    /// A job is queued that has not taken them yet.
    scheduled: bool,
}

/// The queue of accepts in front of the writer. Cloning shares it.
#[derive(Clone, Default)]
pub struct AcceptBatch {
    waiting: Arc<Mutex<Waiting>>,
}

impl AcceptBatch {
    /// Stores `message`; returns once it is committed.
    pub async fn store(&self, writer: &Writer, message: Prepared) -> anyhow::Result<()> {
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut waiting = lock(&self.waiting);
            waiting.messages.push(message);
            waiting.replies.push(reply);
            !std::mem::replace(&mut waiting.scheduled, true)
        };
        if schedule {
            self.schedule(writer);
        }
        answer.await.unwrap_or_else(|_| Err(anyhow::anyhow!("the database writer stopped")))
    }

    fn schedule(&self, writer: &Writer) {
        let waiting = self.waiting.clone();
        // The job's callers: moved here when the job takes its messages, answered after
        // the commit. The job may run twice (see `writer`); it takes messages only once.
        let replies: Arc<Mutex<Option<Vec<Reply>>>> = Arc::default();
        let taken_replies = replies.clone();
        let mut taken: Option<Vec<Prepared>> = None;
        let pending = writer.write_items(Durability::Flushed, move |conn, pass| {
            let messages = taken.get_or_insert_with(|| {
                let mut waiting = lock(&waiting);
                waiting.scheduled = false;
                *lock(&taken_replies) = Some(std::mem::take(&mut waiting.replies));
                std::mem::take(&mut waiting.messages)
            });
            insert_batch(conn, messages, pass)
        });
        let waiting = self.waiting.clone();
        tokio::spawn(async move {
            let outcome = pending.await;
            let replies = match lock(&replies).take() {
                Some(replies) => replies,
                // The job never ran (the writer stopped): answer everyone waiting, and let
                // the next accept schedule a job again.
                None => {
                    let mut waiting = lock(&waiting);
                    waiting.scheduled = false;
                    waiting.messages.clear();
                    std::mem::take(&mut waiting.replies)
                }
            };
            match outcome {
                Ok(errors) => {
                    for (reply, error) in replies.into_iter().zip(errors) {
                        let _ = reply.send(error.map_or(Ok(()), |e| Err(anyhow::anyhow!(e))));
                    }
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    for reply in replies {
                        let _ = reply.send(Err(anyhow::anyhow!("{error}")));
                    }
                }
            }
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::messages::{accept, Inserted};
    use crate::db::schema::message_content::dsl as c;
    use crate::db::test_db::{new_message, TestDb};
    use crate::db::Db;
    use futures_util::FutureExt;

    fn message(id: &str) -> Arc<NewMessage> {
        Arc::new(new_message(id))
    }

    /// Keeps the writer busy so that the accepts after it pile up into one job.
    fn stall(db: &Db) -> crate::db::Pending<()> {
        db.write(Durability::Flushed, |_conn: &mut AnyConnection| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok(())
        })
    }

    fn stored(db: &Db) -> impl std::future::Future<Output = Vec<(String, Vec<u8>)>> + '_ {
        db.run(|conn| {
            let rows: Vec<(String, Option<Vec<u8>>)> =
                c::message_content.select((c::id, c::content)).order(c::id.asc()).load(conn)?;
            Ok(rows.into_iter().map(|(id, content)| (id, content.unwrap_or_default())).collect())
        })
        .map(Result::unwrap)
    }

    /// Accepts queued behind a busy writer are stored by one job, each with its content,
    /// and every caller hears "stored" only once they are committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_accepts_are_stored_together() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            let busy = stall(db);
            let ids: Vec<String> = (0..100).map(|n| format!("m{n:03}")).collect();
            let accepts = ids.iter().map(|id| accept(db, message(id)));
            let answers = futures_util::future::join_all(accepts).await;
            busy.await.unwrap();
            assert!(answers.iter().all(|a| matches!(a, Ok(Inserted::New))));
            let rows = stored(db).await;
            assert_eq!(rows.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), ids);
            assert!(rows.iter().all(|(id, content)| content == format!("content of {id}").as_bytes()));
        }
    }

    /// A message that cannot be stored (here: an id already taken) fails alone; the others
    /// of its job are stored once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_bad_message_fails_alone() {
        for test_db in TestDb::both() {
            let db = &test_db.db;
            accept(db, message("taken")).await.unwrap();
            let busy = stall(db);
            let ids = ["a", "b", "taken", "c"];
            let answers = futures_util::future::join_all(ids.iter().map(|id| accept(db, message(id)))).await;
            busy.await.unwrap();
            for (id, answer) in ids.iter().zip(&answers) {
                assert_eq!(answer.is_ok(), *id != "taken", "{id}: {:?}", answer.as_ref().err());
            }
            let rows: Vec<String> = stored(db).await.into_iter().map(|(id, _)| id).collect();
            assert_eq!(rows, ["a", "b", "c", "taken"]);
        }
    }
}
