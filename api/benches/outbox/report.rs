// ---------------------------------------------------------------------------------------------
// Formatting and the summary

use crate::{Figures, Settings};
use std::time::Duration;

// Targets of issue 4.
const TARGET_RATIO: f64 = 0.5;
const TARGET_ACCEPT_P99: Duration = Duration::from_millis(20);
const TARGET_ERRORS_P95: Duration = Duration::from_millis(10);
const TARGET_EXPORT_ROWS_PER_S: f64 = 300_000.0;
const TARGET_EXPORT_RSS_KIB: u64 = 64 * 1024;
// Target of issue 16 (the limit's target is the limit itself).
const TARGET_HIGH_P99: Duration = Duration::from_secs(1);

pub(crate) fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub(crate) fn thousands(x: f64) -> String {
    let n = x.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// "best of 2: 10,431, 9,888"
fn passes(rates: &[f64]) -> String {
    format!("best of {}: {}", rates.len(), rates.iter().map(|x| thousands(*x)).collect::<Vec<_>>().join(", "))
}

pub(crate) fn print_table(s: &Settings, f: &Figures) {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let ceiling = f.ceiling.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    if s.runs("ceiling") {
        rows.push(match ceiling {
            Some(c) => [
                "Ceiling: smtp-source -> smtp-sink".into(),
                format!("{} msg/s ({})", thousands(c), passes(&f.ceiling)),
                "-".into(),
                "-".into(),
            ],
            None => [
                "Ceiling: smtp-source -> smtp-sink".into(),
                format!("not measured: {}", f.ceiling_error.clone().unwrap_or_default()),
                "-".into(),
                "MISS".into(),
            ],
        });
    }
    for (backend, r) in &f.end_to_end {
        let label = format!("End to end {} ({} msgs)", backend.name(), thousands(s.messages as f64));
        rows.push(match (r, ceiling) {
            (Ok(e), Some(c)) => [
                label,
                format!("{} msg/s = {:.2} x ceiling ({})", thousands(e.rate()), e.rate() / c, passes(&e.passes)),
                format!(">= {TARGET_RATIO} x ceiling"),
                verdict(e.rate() / c >= TARGET_RATIO).into(),
            ],
            (Ok(e), None) => [
                label,
                format!("{} msg/s (no ceiling)", thousands(e.rate())),
                format!(">= {TARGET_RATIO} x ceiling"),
                "MISS".into(),
            ],
            (Err(e), _) => [label, format!("error: {e}"), format!(">= {TARGET_RATIO} x ceiling"), "MISS".into()],
        });
    }
    for (backend, r) in &f.accept {
        let label = format!("Accept latency {} @ {} req/s", backend.name(), s.rate);
        let target = format!("p99 < {}", ms(TARGET_ACCEPT_P99));
        rows.push(match r {
            Ok(p) => [
                label,
                format!("p50 {} / p99 {}", ms(p.p50), ms(p.high)),
                target,
                verdict(p.high < TARGET_ACCEPT_P99).into(),
            ],
            Err(e) => [label, format!("error: {e}"), target, "MISS".into()],
        });
    }
    let errors =
        f.errors.iter().map(|(b, r)| (b, r, "")).chain(f.errors_hour.iter().map(|(b, r)| (b, r, ", last hour")));
    for (backend, r, which) in errors {
        let label = format!("Errors list {} ({} rows{which})", backend.name(), thousands(s.log_rows as f64));
        let target = format!("p95 < {}", ms(TARGET_ERRORS_P95));
        rows.push(match r {
            Ok(p) => [
                label,
                format!("p50 {} / p95 {}", ms(p.p50), ms(p.high)),
                target,
                verdict(p.high < TARGET_ERRORS_P95).into(),
            ],
            Err(e) => [label, format!("error: {e}"), target, "MISS".into()],
        });
    }
    for (backend, r) in &f.export {
        let rate_label = format!("Export CSV {} rows/s", backend.name());
        let rss_label = format!("Export CSV {} peak RSS", backend.name());
        let rate_target = format!(">= {} rows/s", thousands(TARGET_EXPORT_ROWS_PER_S));
        let rss_target = format!("< {} MiB", TARGET_EXPORT_RSS_KIB / 1024);
        match r {
            Ok(e) => {
                rows.push([
                    rate_label,
                    format!("{} rows/s", thousands(e.rows_per_s)),
                    rate_target,
                    verdict(e.rows_per_s >= TARGET_EXPORT_ROWS_PER_S).into(),
                ]);
                rows.push([
                    rss_label,
                    format!("{:.1} MiB", e.peak_kib as f64 / 1024.0),
                    rss_target,
                    verdict(e.peak_kib < TARGET_EXPORT_RSS_KIB).into(),
                ]);
            }
            Err(e) => {
                rows.push([rate_label, format!("error: {e}"), rate_target, "MISS".into()]);
                rows.push([rss_label, "not measured".into(), rss_target, "MISS".into()]);
            }
        }
    }
    for (backend, r) in &f.priority {
        let label = format!("High priority {} (during {} low)", backend.name(), thousands(s.low_messages as f64));
        let target = format!("p99 < {}", ms(TARGET_HIGH_P99));
        rows.push(match r {
            Ok(p) => [
                label,
                format!("POST -> sent p50 {} / p99 {} / max {} ({} msgs)", ms(p.p50), ms(p.p99), ms(p.max), p.count),
                target,
                verdict(p.p99 < TARGET_HIGH_P99).into(),
            ],
            Err(e) => [label, format!("error: {e}"), target, "MISS".into()],
        });
    }
    for (backend, r) in &f.limits {
        let label = format!(
            "Limit {} {}/min ({} msgs)",
            backend.name(),
            s.limit_per_minute,
            thousands(s.limit_messages as f64)
        );
        let target = format!("<= {} in any 60 s", s.limit_per_minute);
        rows.push(match r {
            Ok(l) => [
                label,
                format!("max {} in 60 s ({}), {:.0}/min achieved", l.max_window, l.source, l.per_minute_achieved),
                target,
                verdict(l.max_window <= l.per_minute as usize).into(),
            ],
            Err(e) => [label, format!("error: {e}"), target, "MISS".into()],
        });
    }
    let header = ["Figure".to_owned(), "Value".to_owned(), "Target".to_owned(), "Result".to_owned()];
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 4]| {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("| {} |", cells.join(" | "))
    };
    let rule = format!("|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    println!("\n== Summary (targets of issues 4 and 16; figures of one run on this shared machine, not tests)\n");
    println!("{}", line(&header));
    println!("{rule}");
    for row in &rows {
        println!("{}", line(row));
    }
    let missed = rows.iter().filter(|r| r[3] == "MISS").count();
    println!("\n{} figures, {missed} missed their target (the bench exits 0 either way).", rows.len());
}
