//! `oauth`: the saved settings sign in with OAuth and the connection needs reconnecting
//! after a failure (a revoked or invalid grant) or its token requests fail, as the page
//! shows it (`oauth::view::connection`, fed by the connection check `oauth::watch`). A
//! delegated connection that was never connected, or that the admin disconnected, is not
//! an incident: nothing failed.

use super::Observation;
use crate::db;
use crate::state::AppState;
use postamt_wire::OAuthConnectionStatus;

pub(super) async fn check(state: &AppState) -> anyhow::Result<Observation> {
    let loaded = state
        .db
        .run(|conn| {
            let Some(loaded) = db::settings::load(conn)? else { return Ok(None) };
            Ok(Some((loaded.settings, db::oauth_connection::load(conn)?)))
        })
        .await?;
    let Some((settings, row)) = loaded else { return Ok(Observation::Clear) };
    if !settings.uses_oauth() {
        return Ok(Observation::Clear);
    }
    let view = crate::oauth::view::connection(&settings, row.as_ref());
    let Some(error) = view.last_error else { return Ok(Observation::Clear) };
    let what = match view.status {
        OAuthConnectionStatus::NeedsConnect => "the OAuth connection needs to be connected again",
        OAuthConnectionStatus::Failing => "the OAuth token requests fail",
        _ => return Ok(Observation::Clear),
    };
    Ok(Observation::Holds(format!("{what} ({}): {}", error.class.as_str(), error.hint_en)))
}
