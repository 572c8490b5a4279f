// ---------------------------------------------------------------------------------------------
// 2. End to end

use crate::api::{Api, Metrics};
use crate::poster::Poster;
use crate::report::{ms, percentile, thousands};
use crate::server::{Server, Sink};
use crate::usage::Usage;
use crate::{EndToEnd, Percentiles, Settings};
use anyhow::{bail, Context, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for the outbox to drain after a phase.
const DRAIN_DEADLINE: Duration = Duration::from_secs(600);
/// Most open-loop requests in flight at once; beyond it a request is counted as dropped.
const MAX_IN_FLIGHT: usize = 2000;

/// Passes of the end-to-end run; the best one counts, as for the ceiling. This machine's
/// speed changes by up to 1.8 x within minutes: compared with the better of two ceiling
/// passes, a single pass measured the machine's luck as much as Postamt.
const PASSES: usize = 2;

pub(crate) async fn end_to_end(s: &Settings, api: &Api, server: &Server, sink: &Sink) -> Result<EndToEnd> {
    // Warm-up: opens the SMTP connections and the HTTP pool, fills caches.
    let warm = post_many(api, 200, s.concurrency, "warm-up", None).await?;
    wait_delivered(api, warm.base_sent + warm.ok as f64, Duration::from_secs(60)).await.context("warm-up")?;

    println!(
        "  end to end: {} messages of ~2 KB, {} concurrent POSTs, {} delivery workers, best of {PASSES} passes",
        s.messages, s.concurrency, s.delivery_workers
    );
    let mut passes = Vec::with_capacity(PASSES);
    for pass in 1..=PASSES {
        println!("  pass {pass}:");
        passes.push(end_to_end_pass(s, api, server, sink).await?);
    }
    Ok(EndToEnd { passes })
}

/// Posts `s.messages` and waits until all are sent: messages/s from the first POST on.
async fn end_to_end_pass(s: &Settings, api: &Api, server: &Server, sink: &Sink) -> Result<f64> {
    let before = Usage::take(server.pid, sink.proc.pid());
    let posted = post_many(api, s.messages, s.concurrency, "e2e", None).await?;
    let at_post_end = api.metrics().await?;
    let (done_at, metrics) = wait_delivered(api, posted.base_sent + posted.ok as f64, DRAIN_DEADLINE).await?;
    let after = Usage::take(server.pid, sink.proc.pid());
    let total = done_at.duration_since(posted.started);
    let posting = posted.finished.duration_since(posted.started);
    let rate = posted.ok as f64 / total.as_secs_f64();
    println!(
        "  accepted {} (refused {}) in {:.2} s = {} accepted/s while posting",
        posted.ok,
        posted.refused,
        posting.as_secs_f64(),
        thousands(posted.ok as f64 / posting.as_secs_f64())
    );
    println!(
        "  all sent after {:.2} s = {} messages/s end to end (failed so far: {}, outbox depth {})",
        total.as_secs_f64(),
        thousands(rate),
        metrics.failed,
        metrics.depth
    );
    let delivered_while_posting = at_post_end.sent - posted.base_sent;
    let drain = done_at.duration_since(posted.finished).as_secs_f64();
    println!(
        "  delivered while posting: {} ({} msg/s); the remaining {} alone in {:.2} s ({} msg/s)",
        thousands(delivered_while_posting),
        thousands(delivered_while_posting / posting.as_secs_f64()),
        thousands(posted.ok as f64 - delivered_while_posting),
        drain,
        thousands((posted.ok as f64 - delivered_while_posting) / drain.max(1e-3))
    );
    if metrics.latency_count > 0.0 {
        println!("  mean time from acceptance to sent: {:.0} ms", 1000.0 * metrics.latency_sum / metrics.latency_count);
    }
    println!("  CPU during the run: {}", before.describe(&after));
    if let Some(e) = &posted.first_error {
        println!("  first refusal: {e}");
    }
    Ok(rate)
}

pub(crate) struct Posted {
    pub(crate) ok: usize,
    pub(crate) refused: usize,
    pub(crate) first_error: Option<String>,
    pub(crate) started: Instant,
    pub(crate) finished: Instant,
    pub(crate) base_sent: f64,
}

/// Posts `n` messages with at most `concurrency` requests in flight (with `priority`, if
/// given).
pub(crate) async fn post_many(
    api: &Api,
    n: usize,
    concurrency: usize,
    tag: &'static str,
    priority: Option<&'static str>,
) -> Result<Posted> {
    let base = api.metrics().await?;
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(n) {
        let (next, ok, refused, first_error) = (next.clone(), ok.clone(), refused.clone(), first_error.clone());
        let mut poster = Poster::new(api, priority)?;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || Instant::now() > deadline || refused.load(Ordering::Relaxed) > 100 {
                    break;
                }
                match poster.send(i, tag).await {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.context("posting task")?;
    }
    let finished = Instant::now();
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (ok, refused) = (ok.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    if ok == 0 {
        bail!("no message was accepted: {}", first_error.unwrap_or_default());
    }
    Ok(Posted { ok, refused, first_error, started, finished, base_sent: base.sent })
}

/// Polls `/metrics` until `postamt_messages_sent_total` reaches `target` (or everything that
/// was accepted is sent or failed for good).
pub(crate) async fn wait_delivered(api: &Api, target: f64, limit: Duration) -> Result<(Instant, Metrics)> {
    let started = Instant::now();
    let mut last: Option<(Instant, f64)> = None;
    loop {
        let m = api.metrics().await?;
        let polled = Instant::now();
        if m.sent >= target || (m.depth == 0.0 && m.sent + m.failed >= target) {
            return Ok((Instant::now(), m));
        }
        if started.elapsed() > limit {
            bail!(
                "not delivered after {} s: sent {} of {target}, failed {}, retries {}, outbox depth {}",
                limit.as_secs(),
                m.sent,
                m.failed,
                m.retries,
                m.depth
            );
        }
        // Each poll costs the server a count over the outbox: poll rarely while far from done,
        // often near the end, where the poll interval is the measurement's resolution. "Near"
        // is in time, at the rate of the last interval: a fixed count (300 messages) let a
        // fast run finish well within one 200 ms sleep and added it to the measured time.
        let remaining = target - m.sent;
        let rate = last.map(|(at, sent)| (m.sent - sent) / polled.duration_since(at).as_secs_f64().max(1e-3));
        last = Some((polled, m.sent));
        let expected = match rate {
            Some(rate) if rate > 0.0 => Duration::from_secs_f64(remaining / rate),
            _ => Duration::ZERO,
        };
        tokio::time::sleep((expected / 2).clamp(Duration::from_millis(10), Duration::from_millis(200))).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Accept latency at a fixed rate (open loop)

pub(crate) async fn accept_latency(s: &Settings, api: &Api, server: &Server) -> Result<Percentiles> {
    let total = s.rate * s.rate_seconds;
    println!("  accept latency: {total} POSTs at {} req/s (open loop, measured from the scheduled send time)", s.rate);
    // A few requests first so that the pool holds connections.
    let warm = post_many(api, 64, 16, "warm-up", None).await?;
    wait_delivered(api, warm.base_sent + warm.ok as f64, Duration::from_secs(60)).await.context("warm-up")?;
    let base = api.metrics().await?;

    let period = Duration::from_secs_f64(1.0 / f64::from(s.rate));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut dropped = 0usize;
    let mut handles = Vec::with_capacity(total as usize);
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let before = Usage::take(server.pid, 0);
    for i in 0..total {
        let at = start + period * i;
        tokio::time::sleep_until(at).await;
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            dropped += 1;
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (api, in_flight) = (api.clone(), in_flight.clone());
        handles.push(tokio::spawn(async move {
            let result = api.send(i as usize, "rate").await;
            let latency = at.elapsed();
            in_flight.fetch_sub(1, Ordering::Relaxed);
            (result, latency)
        }));
    }
    let mut latencies = Vec::with_capacity(handles.len());
    let mut errors = 0usize;
    let mut first_error = None;
    for h in handles {
        match h.await {
            Ok((Ok(()), latency)) => latencies.push(latency),
            Ok((Err(e), _)) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
            Err(_) => errors += 1,
        }
    }
    let after = Usage::take(server.pid, 0);
    let offered = start.elapsed();
    if latencies.is_empty() {
        bail!("no request succeeded: {}", first_error.unwrap_or_default());
    }
    latencies.sort_unstable();
    let p = |q| percentile(&latencies, q);
    println!(
        "  {} accepted, {errors} errors, {dropped} dropped (over {MAX_IN_FLIGHT} in flight); p50 {}, p90 {}, p99 {}, p99.9 {}, max {}",
        latencies.len(),
        ms(p(0.5)),
        ms(p(0.9)),
        ms(p(0.99)),
        ms(p(0.999)),
        ms(p(1.0))
    );
    println!("  CPU while offering load ({:.1} s): {}", offered.as_secs_f64(), before.describe(&after));
    if let Some(e) = first_error {
        println!("  first error: {e}");
    }
    let accepted = base.sent + latencies.len() as f64;
    match wait_delivered(api, accepted, DRAIN_DEADLINE).await {
        Ok((at, _)) => println!(
            "  outbox drained {:.1} s after the last request was offered",
            at.duration_since(start.into_std() + offered).as_secs_f64()
        ),
        Err(e) => println!("  outbox did not drain: {e:#}"),
    }
    if errors > 0 || dropped > 0 {
        bail!("{errors} errors and {dropped} dropped of {total} requests (p99 of the rest {})", ms(p(0.99)));
    }
    Ok(Percentiles { p50: p(0.5), high: p(0.99) })
}
