//! The connection check: every `check_interval`, each instance asks for a token for the
//! saved OAuth settings. App-only and service-account tokens come from the cache until they
//! near expiry, so the check costs nothing most of the time. A delegated connection is
//! refreshed at the provider when nobody (no instance) has used its refresh token for a
//! whole interval: a revoked grant shows up within one interval, with no mail sent, and the
//! refresh token never reaches the provider's inactivity limit (Microsoft: 90 days).
//! Failures land where every token failure lands (`obtain::access_token`): the connection
//! row, the metrics, and the 24 h error log.

use super::obtain::{access_token, TokenRequest};
use crate::db::{self, now};
use crate::state::AppState;
use actix_web::web;
use postamt_wire::OAuthFlow;

pub fn spawn(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let interval = state.oauth.options.check_interval;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = check(&state).await {
                tracing::error!(error = format!("{e:#}"), "OAuth connection check failed");
            }
        }
    })
}

async fn check(state: &AppState) -> anyhow::Result<()> {
    let Some(loaded) = state.db.run(db::settings::load).await? else { return Ok(()) };
    if !loaded.settings.uses_oauth() {
        return Ok(());
    }
    let mut req = TokenRequest::saved(state, &loaded)?;
    if loaded.settings.oauth.as_ref().is_some_and(|o| o.flow == OAuthFlow::AuthorizationCode) {
        let binding = loaded.settings.binding().as_str().to_owned();
        let row = state.db.run(move |c| db::oauth_connection::load_for(c, &binding)).await?;
        // Not connected yet: the page says so; nothing to check.
        let Some(row) = row.filter(|r| r.refresh_token_enc.is_some()) else { return Ok(()) };
        let idle_for = row.refresh_token_used_at.map(|used| now() - used);
        let interval = chrono::Duration::from_std(state.oauth.options.check_interval)?;
        req.force = idle_for.is_none_or(|idle| idle >= interval - interval / 10);
    }
    // The outcome is recorded by `access_token` itself.
    let _ = access_token(state, &req).await;
    Ok(())
}
