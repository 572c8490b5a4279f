//! `fallback_in_use`: the primary server fails for a reason of the connection and the
//! fallback server delivers instead (the shared failover state, `delivery::failover`, which
//! every instance writes on its transitions). Mail still flows; someone should fix the
//! primary.

use super::Observation;
use crate::state::AppState;

pub(super) async fn check(state: &AppState) -> anyhow::Result<Observation> {
    let failover = crate::delivery::failover::shared_state(&state.db).await?;
    if !failover.fallback_in_use() {
        return Ok(Observation::Clear);
    }
    let since = failover.primary_down_since.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
    Ok(Observation::Holds(format!(
        "the primary SMTP server fails ({}) since {since} UTC; the fallback server delivers",
        failover.primary_down_class.as_deref().unwrap_or("unknown")
    )))
}
