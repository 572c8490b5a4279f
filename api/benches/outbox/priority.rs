// ---------------------------------------------------------------------------------------------
// 7. Priority: `high` messages posted while a large `low` run fills the outbox
//
// No limits. `s.low_messages` `low` messages are posted at full speed; meanwhile `high` ones go
// out at a steady rate, each with the wall-clock time its POST started. After the run, each
// high message's `sent_at` (`GET /api/v1/messages/{id}`) minus that time is its delivery
// latency: no polling during the run, and client and server read the same clock (one machine).

use crate::api::Api;
use crate::end_to_end::{post_many, wait_delivered};
use crate::report::{ms, percentile};
use crate::Settings;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

pub(crate) struct PriorityFigure {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    /// High messages measured (posted while the low run was in the outbox).
    pub(crate) count: usize,
}

pub(crate) async fn priority_run(s: &Settings, api: &Api) -> Result<PriorityFigure> {
    println!(
        "  priority: {} `low` messages with {} concurrent POSTs; meanwhile up to {} `high` ones at {}/s, until the \
         low ones are all sent; latency = `sent_at` - the start of its POST",
        s.low_messages, s.concurrency, s.high_messages, s.high_rate
    );
    let base = api.metrics().await?;
    if base.depth > 0.0 {
        bail!("the outbox holds {} messages before the run", base.depth);
    }
    let low = {
        let (api, n, concurrency) = (api.clone(), s.low_messages, s.concurrency);
        tokio::spawn(async move { post_many(&api, n, concurrency, "low", Some("low")).await })
    };
    // The first high message once the low run has a head start.
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let period = Duration::from_secs_f64(1.0 / s.high_rate);
    let mut highs = Vec::with_capacity(s.high_messages);
    let mut while_posting = 0usize;
    for i in 0..s.high_messages {
        tokio::time::sleep_until(start + period * i as u32).await;
        if low.is_finished() {
            // Low ones all accepted: stop once they are all sent, too (the outbox is empty).
            if api.metrics().await.is_ok_and(|m| m.depth == 0.0) {
                break;
            }
        } else {
            while_posting += 1;
        }
        let api = api.clone();
        highs.push(tokio::spawn(async move {
            let posted_at = Utc::now();
            api.send_with_priority(i, "high", "high").await.map(|id| (id, posted_at))
        }));
    }
    let posted = low.await.context("low posting task")??;
    let mut ids = Vec::with_capacity(highs.len());
    for h in highs {
        ids.push(h.await.context("high posting task")??);
    }
    let target = base.sent + (posted.ok + ids.len()) as f64;
    let (done, _) = wait_delivered(api, target, Duration::from_secs(600)).await?;
    println!(
        "  {} low accepted (refused {}) in {:.2} s, all sent after {:.2} s; {} high posted ({while_posting} while low \
         ones were being posted)",
        posted.ok,
        posted.refused,
        posted.finished.duration_since(posted.started).as_secs_f64(),
        done.duration_since(posted.started).as_secs_f64(),
        ids.len()
    );
    if ids.is_empty() {
        bail!("no high message was posted");
    }

    let read_started = Instant::now();
    let mut latencies = Vec::with_capacity(ids.len());
    for (id, posted_at) in &ids {
        let view: serde_json::Value = api.get(&format!("/api/v1/messages/{id}")).await?.json().await?;
        let sent_at = view["sent_at"].as_str().with_context(|| format!("message {id} has no sent_at: {view}"))?;
        let sent_at: DateTime<Utc> = sent_at.parse().with_context(|| format!("sent_at {sent_at:?}"))?;
        // A negative difference would be clock granularity: count it as zero.
        latencies.push((sent_at - *posted_at).to_std().unwrap_or_default());
    }
    latencies.sort_unstable();
    let p = |q| percentile(&latencies, q);
    println!(
        "  high: POST -> sent p50 {}, p90 {}, p99 {}, max {} ({} messages; statuses read in {:.1} s)",
        ms(p(0.5)),
        ms(p(0.9)),
        ms(p(0.99)),
        ms(p(1.0)),
        latencies.len(),
        read_started.elapsed().as_secs_f64()
    );
    Ok(PriorityFigure { p50: p(0.5), p99: p(0.99), max: p(1.0), count: latencies.len() })
}
