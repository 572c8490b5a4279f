//! Throttling of failed sign-ins: after five failures from one client within 15 minutes,
//! further attempts get 429 until the oldest failure leaves the window.

use crate::db::{self, now, Db};
use crate::error::{ApiError, Context};
use chrono::Duration;

const WINDOW_MINUTES: i64 = 15;
const MAX_FAILURES: i64 = 5;

pub async fn check(db: &Db, client: String) -> Result<(), ApiError> {
    let (count, oldest) = db
        .run(move |conn| db::sign_in_failures::recent(conn, &client, now() - Duration::minutes(WINDOW_MINUTES)))
        .await
        .internal("checking the sign-in throttle")?;
    if count >= MAX_FAILURES {
        let free_at = oldest.unwrap_or_else(now) + Duration::minutes(WINDOW_MINUTES);
        let retry_after_seconds = u64::try_from((free_at - now()).num_seconds().max(1)).unwrap_or(1);
        return Err(ApiError::TooManyRequests {
            retry_after_seconds,
            detail: "too many failed sign-ins from this address",
        });
    }
    Ok(())
}

pub async fn record_failure(db: &Db, client: String) -> Result<(), ApiError> {
    db.run(move |conn| {
        let at = now();
        db::sign_in_failures::record(conn, &client, at, at - Duration::minutes(WINDOW_MINUTES))
    })
    .await
    .internal("recording a failed sign-in")
}

pub async fn clear(db: &Db, client: String) -> Result<(), ApiError> {
    db.run(move |conn| db::sign_in_failures::clear(conn, &client)).await.internal("clearing failed sign-ins")
}
