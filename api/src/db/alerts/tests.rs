//! The incident and notification statements on both dialects: one open incident per
//! condition, resolution only after a clear interval, one notification per event and
//! channel, claims that never overlap, retention.

use super::incidents::{clear, holds, purge, Change};
use super::notifications::{claim, delivered, failed};
use crate::db::test_db::TestDb;
use crate::db::{now, AnyConnection};
use chrono::Duration;
use postamt_wire::{AlertChannel, AlertCondition};

const BOTH: [AlertChannel; 2] = [AlertChannel::Webhook, AlertChannel::Email];

fn count(conn: &mut AnyConnection, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let q = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"));
    let rows: Vec<N> = match conn {
        AnyConnection::Postgresql(c) => q.load(c).unwrap(),
        AnyConnection::Sqlite(c) => q.load(c).unwrap(),
    };
    rows[0].n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_incident_per_condition_resolved_after_a_clear_interval() {
    for test_db in TestDb::both() {
        test_db
            .db
            .run(|c| {
                let stuck = AlertCondition::QueueStuck;
                let Change::Opened(id) = holds(c, stuck, "seen", &BOTH)? else { panic!("not opened") };
                assert_eq!(holds(c, stuck, "seen again", &BOTH)?, Change::None);
                assert!(matches!(holds(c, AlertCondition::Failures, "other", &[])?, Change::Opened(_)));
                assert_eq!(count(c, "alert_notifications"), 2, "one firing per channel");
                // Clear once, then holding again: the incident stays open (no flapping).
                let settle = Duration::milliseconds(300);
                assert_eq!(clear(c, stuck, settle, &BOTH)?, Change::None);
                assert_eq!(holds(c, stuck, "back", &BOTH)?, Change::None);
                assert_eq!(clear(c, stuck, settle, &BOTH)?, Change::None);
                std::thread::sleep(std::time::Duration::from_millis(350));
                assert_eq!(clear(c, stuck, settle, &BOTH)?, Change::Resolved(id));
                assert_eq!(clear(c, stuck, settle, &BOTH)?, Change::None);
                assert_eq!(count(c, "alert_notifications"), 4, "and one resolved per channel");
                // The next time it holds is a new incident.
                assert!(matches!(holds(c, stuck, "again", &[])?, Change::Opened(n) if n != id));
                assert_eq!(count(c, "alert_incidents"), 3);
                assert_eq!(purge(c, now() + Duration::seconds(1))?, 1);
                assert_eq!((count(c, "alert_incidents"), count(c, "alert_notifications")), (2, 0));
                Ok(())
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_is_claimed_by_one_owner_and_retried_later() {
    for test_db in TestDb::both() {
        let db = &test_db.db;
        db.run(|c| holds(c, AlertCondition::Oauth, "seen", &BOTH).map(|_| ())).await.unwrap();
        let lease = Duration::seconds(60);
        let (a, b) = tokio::join!(db.run(move |c| claim(c, "a", 10, lease)), db.run(move |c| claim(c, "b", 10, lease)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 2, "each claimed once: {a:?} {b:?}");
        let mut all: Vec<_> = a.iter().map(|n| (n.id, "a")).chain(b.iter().map(|n| (n.id, "b"))).collect();
        all.sort();
        let (first, second) = (all[0], all[1]);
        db.run(move |c| {
            // Only the owner records the outcome.
            delivered(c, first.0, if first.1 == "a" { "b" } else { "a" })?;
            assert_eq!(claim(c, "c", 10, lease)?.len(), 0, "still leased");
            delivered(c, first.0, first.1)?;
            failed(c, second.0, second.1, "HTTP 500", Some(now() + Duration::milliseconds(200)))?;
            assert_eq!(claim(c, "c", 10, lease)?.len(), 0, "not due yet");
            std::thread::sleep(std::time::Duration::from_millis(250));
            let again = claim(c, "c", 10, lease)?;
            assert_eq!((again.len(), again[0].id, again[0].attempts), (1, second.0, 1));
            failed(c, second.0, "c", "gone", None)?;
            std::thread::sleep(std::time::Duration::from_millis(250));
            assert_eq!(claim(c, "c", 10, lease)?.len(), 0, "given up");
            Ok(())
        })
        .await
        .unwrap();
    }
}
