//! The conditions on a message's status that the outbox's due index (`messages_due`) serves.
//!
//! On PostgreSQL the index holds only messages still to deliver (queued, retrying, sending;
//! see its migration), so that it does not grow with every message ever sent. The planner
//! uses such a partial index only for a condition that it can prove implies the index's
//! own, and it cannot for a status passed as a parameter (`status = ANY($1)` in a cached
//! plan): the queries that look for unfinished messages write their statuses out, from
//! here. SQLite's index holds every message, so these conditions work for it too.

use diesel::expression::SqlLiteral;
use diesel::sql_types::Bool;
use postamt_wire::MessageStatus;

/// Not sent or failed yet: the messages the index holds.
pub const UNFINISHED: &str = "status IN ('queued', 'retrying', 'sending')";
/// Waiting for their (next) attempt.
pub const DUE: &str = "status IN ('queued', 'retrying')";
/// Claimed by a worker.
pub const SENDING: &str = "status = 'sending'";

/// One of the conditions above as a diesel filter.
pub fn status_is(condition: &'static str) -> SqlLiteral<Bool> {
    diesel::dsl::sql(condition)
}

/// The condition for one unfinished status, written out (for the claim statements).
pub fn status_eq(status: MessageStatus) -> String {
    debug_assert!(!matches!(status, MessageStatus::Sent | MessageStatus::Failed), "not in the due index");
    format!("status = '{}'", status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_db::TestDb;
    use crate::db::AnyConnection;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    /// The written-out statuses are the ones the status type names.
    #[test]
    fn the_conditions_name_the_statuses() {
        let quoted = |s: &[MessageStatus]| s.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
        use MessageStatus::*;
        assert_eq!(UNFINISHED, format!("status IN ({})", quoted(&[Queued, Retrying, Sending])));
        assert_eq!(DUE, format!("status IN ({})", quoted(&[Queued, Retrying])));
        assert_eq!(SENDING, status_eq(Sending));
    }

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }

    /// Each condition can be answered from PostgreSQL's partial due index, in a generic plan
    /// too (the one a cached statement ends up with); a status as a parameter cannot, which
    /// is why the conditions are written out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_partial_due_index_serves_every_condition() {
        let test_db = TestDb::postgres();
        test_db
            .db
            .run(|conn| {
                let AnyConnection::Postgresql(pg) = conn else { unreachable!("a PostgreSQL database") };
                // Whatever the (empty) table's statistics say: may the index be used at all?
                pg.batch_execute("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")?;
                let uses_index = |pg: &mut diesel::PgConnection, condition: &str, n: usize| {
                    pg.batch_execute(&format!(
                        "PREPARE q{n} (timestamp, text[]) AS SELECT id FROM messages \
                         WHERE {condition} AND next_attempt_at <= $1 ORDER BY next_attempt_at"
                    ))?;
                    let plan: Vec<PlanLine> =
                        diesel::sql_query(format!("EXPLAIN EXECUTE q{n} (now()::timestamp, ARRAY['queued'])"))
                            .load(pg)?;
                    let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
                    anyhow::Ok(plan.iter().any(|l| l.contains("messages_due")))
                };
                let written_out = [
                    UNFINISHED.to_owned(),
                    DUE.to_owned(),
                    SENDING.to_owned(),
                    status_eq(MessageStatus::Queued),
                    status_eq(MessageStatus::Retrying),
                ];
                for (n, condition) in written_out.iter().enumerate() {
                    assert!(uses_index(pg, condition, n)?, "{condition} does not use messages_due");
                }
                assert!(!uses_index(pg, "status = ANY($2)", 99)?, "a parameter cannot match the index's condition");
                Ok(())
            })
            .await
            .unwrap();
    }
}
