// ---------------------------------------------------------------------------------------------
// 6. A sending limit: `messages_per_minute`, counted where the messages arrive
//
// A sink of its own writes every message to a file (`smtp-sink -d`); the files' modification
// times are when the sink had each one, and the largest number in any 60 s window is the
// figure. `postamt_messages_sent_total`, sampled every 50 ms while the run lasts (its increments
// are the sink's 250 replies), gives the same figure a second way, and the only one if the
// files are missing.

use crate::api::Api;
use crate::end_to_end::post_many;
use crate::report::thousands;
use crate::server::Sink;
use crate::Settings;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const WINDOW: Duration = Duration::from_secs(60);
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// Wait after saving the limit.
const SETTLE: Duration = Duration::from_secs(2);

pub(crate) struct LimitFigure {
    pub(crate) per_minute: u32,
    /// Most messages in any 60 s window.
    pub(crate) max_window: usize,
    /// Where `max_window` was counted: `sink` (the files) or `counter` (the samples).
    pub(crate) source: &'static str,
    /// Messages a minute from the first to the last one at the sink.
    pub(crate) per_minute_achieved: f64,
}

/// Saves `limits.messages_per_minute` (pointing the settings at a dumping sink), posts
/// `s.limit_messages` at full speed and waits until all are sent. Leaves the limit set: run
/// it last on a server.
pub(crate) async fn limit_run(s: &Settings, api: &Api, tmp: &Path, name: &str) -> Result<LimitFigure> {
    let n = s.limit_messages;
    let per_minute = s.limit_per_minute;
    let expected = Duration::from_secs_f64(n as f64 * 61.0 / f64::from(per_minute));
    println!(
        "  limit: {n} messages posted at once with messages_per_minute = {per_minute}; this takes about {:.1} minutes \
         by nature (the limit paces it, not the machine)",
        expected.as_secs_f64() / 60.0
    );
    let dump_dir = tmp.join(format!("sink-dump-{}", name.to_ascii_lowercase()));
    let sink = Sink::start_dumping(tmp, &dump_dir).context("starting the dumping smtp-sink")?;
    api.save_mail_settings(sink.port, Some(json!({ "messages_per_minute": per_minute })))
        .await
        .context("saving the limit (a binary from before limits refuses it)")?;
    // The send API reads the settings through a cache at most a second old: a message posted
    // sooner may still be handed over unlimited.
    println!("  waiting {} s for the limit to be in force (the settings cache holds a second)", SETTLE.as_secs());
    tokio::time::sleep(SETTLE).await;
    let base = api.metrics().await?.sent;

    // The sampler runs until the counter has everything accepted, or the deadline.
    let accepted = Arc::new(AtomicUsize::new(n));
    let deadline = Instant::now() + expected * 3 / 2 + Duration::from_secs(60);
    let sampler = {
        let (api, accepted) = (api.clone(), accepted.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let at = Instant::now();
                if let Ok(m) = api.metrics().await {
                    samples.push((at, m.sent - base));
                    if m.sent - base >= accepted.load(Ordering::Relaxed) as f64 {
                        return (samples, true);
                    }
                }
                if at > deadline {
                    return (samples, false);
                }
                tokio::time::sleep_until((at + SAMPLE_EVERY).into()).await;
            }
        })
    };
    let posted = post_many(api, n, s.concurrency, "limit", None).await?;
    accepted.store(posted.ok, Ordering::Relaxed);
    match api.get_bytes("/api/v1/mail-settings/usage").await {
        Ok(body) => println!("  usage after posting: {}", String::from_utf8_lossy(&body)),
        Err(e) => println!("  usage after posting: {e:#}"),
    }
    let (samples, complete) = sampler.await.context("sampling task")?;
    let total = posted.started.elapsed();
    println!(
        "  accepted {} (refused {}) in {:.2} s; {} sent after {:.1} s{}",
        posted.ok,
        posted.refused,
        posted.finished.duration_since(posted.started).as_secs_f64(),
        samples.last().map_or(0.0, |s| s.1),
        total.as_secs_f64(),
        if complete { "" } else { " (deadline: not all sent)" }
    );

    let counter_max = counter_window_max(&samples);
    println!(
        "  counter, sampled every {} ms ({} samples): at most {counter_max} sent in any 60 s",
        SAMPLE_EVERY.as_millis(),
        samples.len()
    );
    let times = sink_times(&dump_dir)?;
    drop(sink);
    let (max_window, source, achieved) = if times.len() >= posted.ok && times.len() > 1 {
        let max = sink_window_max(&times);
        let span = times[times.len() - 1].duration_since(times[0]).unwrap_or_default();
        let achieved = (times.len() - 1) as f64 * 60.0 / span.as_secs_f64().max(1e-3);
        println!(
            "  at the sink ({} files): at most {max} messages in any 60 s; first to last {:.1} s = {:.1} messages a minute",
            times.len(),
            span.as_secs_f64(),
            achieved
        );
        (max, "sink", achieved)
    } else {
        println!("  the sink wrote {} of {} files: the counter's figure counts", times.len(), posted.ok);
        let (Some(first), Some(last)) = (samples.iter().find(|s| s.1 > 0.0), samples.last()) else {
            bail!("nothing was sent");
        };
        let span = last.0.duration_since(first.0).as_secs_f64().max(1e-3);
        (counter_max as usize, "counter", (last.1 - first.1) * 60.0 / span)
    };
    if !complete {
        bail!("not all sent within {:.0} s: at most {max_window} in any 60 s so far", total.as_secs_f64());
    }
    println!("  rate: {} messages a minute achieved against a limit of {per_minute}", thousands(achieved));
    Ok(LimitFigure { per_minute, max_window, source, per_minute_achieved: achieved })
}

/// Modification times of the sink's files, sorted.
fn sink_times(dir: &Path) -> Result<Vec<SystemTime>> {
    let mut times = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        times.push(entry?.metadata()?.modified()?);
    }
    times.sort_unstable();
    Ok(times)
}

/// Most timestamps in any half-open window `[t, t + 60 s)`.
fn sink_window_max(sorted: &[SystemTime]) -> usize {
    let mut end = 0;
    let mut max = 0;
    for (start, t) in sorted.iter().enumerate() {
        while end < sorted.len() && sorted[end].duration_since(*t).unwrap_or_default() < WINDOW {
            end += 1;
        }
        max = max.max(end - start);
    }
    max
}

/// Largest increase of the cumulative counter between two samples at most 60 s apart.
fn counter_window_max(samples: &[(Instant, f64)]) -> f64 {
    let mut end = 0;
    let mut max: f64 = 0.0;
    for (start, (t, sent)) in samples.iter().enumerate() {
        end = end.max(start);
        while end + 1 < samples.len() && samples[end + 1].0.duration_since(*t) <= WINDOW {
            end += 1;
        }
        max = max.max(samples[end].1 - sent);
    }
    max
}
