//! `failures`: failed delivery attempts within the window, at least `count` of them, or at
//! least `ratio` of all attempts when there were at least `count / 2` attempts.

use super::Observation;
use crate::db::{self, now};
use crate::state::AppState;
use postamt_wire::FailuresCondition;

pub(super) async fn check(state: &AppState, c: &FailuresCondition) -> anyhow::Result<Observation> {
    let since = now() - chrono::Duration::minutes(i64::from(c.window_minutes));
    let (failed, all) = state.db.run(move |conn| db::alerts::observe::attempts_since(conn, since)).await?;
    Ok(judge(failed, all, c))
}

fn judge(failed: i64, all: i64, c: &FailuresCondition) -> Observation {
    let count = i64::from(c.count);
    let by_count = failed >= count;
    // At least half the count (rounded up) of attempts before a ratio means anything.
    let by_ratio = failed > 0 && all >= (count + 1) / 2 && failed as f64 / all as f64 >= c.ratio;
    if by_count || by_ratio {
        Observation::Holds(format!(
            "{failed} of {all} delivery attempts failed in the last {} minutes",
            c.window_minutes
        ))
    } else {
        Observation::Clear
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_or_ratio_with_enough_attempts() {
        let c = FailuresCondition { enabled: true, count: 10, ratio: 0.5, window_minutes: 15 };
        assert!(matches!(judge(10, 1000, &c), Observation::Holds(_)));
        assert!(matches!(judge(9, 1000, &c), Observation::Clear));
        assert!(matches!(judge(3, 5, &c), Observation::Holds(_)));
        assert!(matches!(judge(3, 4, &c), Observation::Clear), "too few attempts for a ratio");
        assert!(matches!(judge(2, 5, &c), Observation::Clear));
        assert!(matches!(judge(0, 0, &c), Observation::Clear));
    }
}
