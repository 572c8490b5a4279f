//! Hourly clean-up: old log rows, message records and contents past their time, expired
//! sessions and sign-in failures.

use crate::db::{self, now};
use crate::state::AppState;
use actix_web::web;
use std::time::Duration;

pub fn spawn_retention(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let retention = state.delivery.log_retention;
            let result = state
                .db
                .run(move |conn| {
                    let before = now() - retention;
                    let purged = db::mail_log::purge(conn, before)?;
                    db::messages::purge(conn, before)?;
                    db::sessions::purge_expired(conn)?;
                    Ok(purged)
                })
                .await;
            match result {
                Ok(purged) if purged > 0 => tracing::info!(purged, "old mail log entries removed"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "retention run failed"),
            }
        }
    })
}
