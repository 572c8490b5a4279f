// ---------------------------------------------------------------------------------------------
// 4 + 5. The mail log: errors list and export over a big log

use crate::api::Api;
use crate::report::{ms, percentile, thousands};
use crate::server::Server;
use crate::usage::{proc_status_kib, Usage};
use crate::{Backend, Export, Percentiles, Settings};
use anyhow::{anyhow, bail, Context, Result};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type LogResults = (Result<(Percentiles, Percentiles)>, Result<Export>);

pub(crate) async fn log_figures(
    s: &Settings,
    backend: Backend,
    data_dir: &Path,
    db_url: Option<&str>,
    key: &Api,
) -> Result<LogResults> {
    println!(
        "  mail log: replacing its rows with {} generated ones (SQL, 90 days, ~2% failures)",
        thousands(s.log_rows as f64)
    );
    let started = Instant::now();
    let summary = match (backend, db_url) {
        (Backend::Postgres, Some(url)) => fill_log_postgres(url, s.log_rows)?,
        _ => fill_log_sqlite(&data_dir.join("postamt.sqlite3"), s.log_rows)?,
    };
    println!(
        "  {} rows, {} failures ({} in the last 24 h) written in {:.1} s",
        thousands(summary.rows as f64),
        thousands(summary.failures as f64),
        summary.failures_24h,
        started.elapsed().as_secs_f64()
    );
    if summary.rows != s.log_rows {
        bail!("the log holds {} rows, expected {}", summary.rows, s.log_rows);
    }

    let server = Server::start(s, data_dir, db_url, backend).await.context("restarting the server")?;
    // The key made in part 1 is in the database; no new sign-in, no new settings.
    let api = key.at(server.base.as_str())?;
    let before = Usage::take(server.pid, 0);
    let errors = errors_latency(&api).await;
    println!("  CPU during the errors lists: {}", before.describe(&Usage::take(server.pid, 0)));
    if let Err(e) = &errors {
        println!("  errors list failed: {e:#}\n{}", server.log_tail());
    }
    let before = Usage::take(server.pid, 0);
    let export = export(&api, server.pid, summary.rows).await;
    println!("  CPU during the export: {}", before.describe(&Usage::take(server.pid, 0)));
    if let Err(e) = &export {
        println!("  export failed: {e:#}\n{}", server.log_tail());
    }
    drop(api);
    server.stop();
    Ok((errors, export))
}

/// The errors list as the page asks for it (the last 24 h), and for the last hour, where fewer
/// failures than the page size (100) match: a query plan that walks the log newest-first until
/// it has a page then has to walk much further.
async fn errors_latency(api: &Api) -> Result<(Percentiles, Percentiles)> {
    const SAMPLES: usize = 300;
    let run = |query: String, n: usize| {
        let api = api.clone();
        async move {
            let mut times = Vec::with_capacity(n);
            let mut last = Value::Null;
            for i in 0..n + 20 {
                let started = Instant::now();
                let body = api.get_bytes(&format!("/api/v1/mail-log/errors{query}")).await?;
                let elapsed = started.elapsed();
                if i >= 20 {
                    times.push(elapsed);
                }
                if i + 1 == n + 20 {
                    last = serde_json::from_slice(&body).context("errors list JSON")?;
                }
            }
            times.sort_unstable();
            Ok::<_, anyhow::Error>((times, last))
        }
    };
    let (list, body) = run(String::new(), SAMPLES).await?;
    let entries = body["entries"].as_array().map_or(0, Vec::len);
    println!(
        "  errors list (last 24 h, {} failures, {entries} listed): {SAMPLES} sequential GETs, p50 {}, p95 {}, p99 {}, max {}",
        body["total"],
        ms(percentile(&list, 0.5)),
        ms(percentile(&list, 0.95)),
        ms(percentile(&list, 0.99)),
        ms(percentile(&list, 1.0))
    );
    let (grouped, body) = run("?group=class".to_owned(), 100).await?;
    println!(
        "  errors grouped by class ({} groups): 100 sequential GETs, p50 {}, p95 {}",
        body["groups"].as_array().map_or(0, Vec::len),
        ms(percentile(&grouped, 0.5)),
        ms(percentile(&grouped, 0.95))
    );
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (hour, body) = run(format!("?since={hour_ago}"), 100).await?;
    println!(
        "  errors list of the last hour ({} failures, fewer than a page): 100 sequential GETs, p50 {}, p95 {}, max {}",
        body["total"],
        ms(percentile(&hour, 0.5)),
        ms(percentile(&hour, 0.95)),
        ms(percentile(&hour, 1.0))
    );
    Ok((
        Percentiles { p50: percentile(&list, 0.5), high: percentile(&list, 0.95) },
        Percentiles { p50: percentile(&hour, 0.5), high: percentile(&hour, 0.95) },
    ))
}

async fn export(api: &Api, pid: u32, expected_rows: u64) -> Result<Export> {
    let rss_before = proc_status_kib(pid, "VmRSS:").unwrap_or(0);
    // Resets VmHWM to the current RSS, so that the peak is the export's own.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let stop = Arc::new(AtomicBool::new(false));
    let sampled_peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (stop, peak) = (stop.clone(), sampled_peak.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(660);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Some(kib) = proc_status_kib(pid, "VmRSS:") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(600), async {
        let mut resp = api.get("/api/v1/mail-log/export?format=csv").await?;
        let (mut lines, mut bytes) = (0u64, 0u64);
        while let Some(chunk) = resp.chunk().await.context("reading the export")? {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        Ok::<_, anyhow::Error>((lines, bytes))
    })
    .await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let (lines, bytes) = result.map_err(|_| anyhow!("export not finished after 600 s"))??;
    let rows = lines.saturating_sub(1);
    let hwm = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    let sampled = sampled_peak.load(Ordering::Relaxed);
    let peak = if reset { hwm.max(sampled) } else { sampled };
    let rate = rows as f64 / elapsed.as_secs_f64();
    println!(
        "  export CSV: {} rows, {:.1} MiB in {:.2} s = {} rows/s",
        thousands(rows as f64),
        bytes as f64 / 1_048_576.0,
        elapsed.as_secs_f64(),
        thousands(rate)
    );
    println!(
        "  server RSS: {:.1} MiB before, peak {:.1} MiB during the export ({})",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        if reset {
            format!("VmHWM after clear_refs, sampled VmRSS max {:.1} MiB", sampled as f64 / 1024.0)
        } else {
            "VmRSS sampled every 10 ms; VmHWM could not be reset".to_owned()
        }
    );
    if rows != expected_rows {
        bail!("the export held {rows} rows, the log {expected_rows}");
    }
    Ok(Export { rows_per_s: rate, peak_kib: peak })
}

struct LogSummary {
    rows: u64,
    failures: u64,
    failures_24h: u64,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT count(*) AS n ...` on either connection type.
macro_rules! count {
    ($conn:expr, $sql:expr) => {{
        let row: Count = diesel::sql_query($sql).get_result($conn).with_context(|| format!("running {}", $sql))?;
        u64::try_from(row.n).unwrap_or(0)
    }};
}

const LOG_COLUMNS: &str =
    "at, kind, message_id, category, status, recipients, sender, attempt, stage, failure_class, smtp_reply, duration_ms, details";

/// One generated row from `i` (0-based, in time order) and `r` (a hash of `i` in 0..10000):
/// ~2% failures of four classes with their replies and hints, the rest sent with a 250 reply.
/// `$AT` and `$MESSAGE_ID` are the dialect's expressions.
const LOG_SELECT: &str = r#"$AT, 'delivery', $MESSAGE_ID,
  CASE i % 5 WHEN 0 THEN 'finance' WHEN 1 THEN 'calendar' WHEN 2 THEN 'otp' WHEN 3 THEN 'signup' ELSE 'newsletter' END,
  CASE WHEN r >= 200 THEN 'sent' WHEN r % 4 IN (0, 2) THEN 'retrying' ELSE 'failed' END,
  'user' || (i % 40000) || '@example.org' || CASE WHEN i % 10 = 0 THEN ',team' || (i % 97) || '@example.org' ELSE '' END,
  'bench@example.org',
  CASE WHEN r >= 200 THEN 1 + CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END ELSE 1 + r % 3 END,
  CASE WHEN r >= 200 THEN NULL WHEN r % 4 IN (0, 1) THEN 'rcpt_to' WHEN r % 4 = 2 THEN 'connect' ELSE 'auth' END,
  CASE WHEN r >= 200 THEN NULL WHEN r % 4 = 0 THEN 'temporary_failure' WHEN r % 4 = 1 THEN 'recipient_rejected'
       WHEN r % 4 = 2 THEN 'timeout' ELSE 'credentials_rejected' END,
  CASE WHEN r >= 200 THEN '250 2.0.0 Ok: queued as 4F' || (1000000 + (i * 7919) % 9000000)
       WHEN r % 4 = 0 THEN '451 4.7.1 <user' || (i % 40000) || '@example.org>: Recipient address rejected: Greylisted, try again later'
       WHEN r % 4 = 1 THEN '550 5.1.1 <user' || (i % 40000) || '@example.org>: Recipient address rejected: User unknown in virtual mailbox table'
       WHEN r % 4 = 2 THEN NULL
       ELSE '535 5.7.8 Error: authentication failed: authentication failure' END,
  CASE WHEN r >= 200 THEN 40 + (r * 7) % 400 WHEN r % 4 = 2 THEN 30000 ELSE 25 + r % 200 END,
  CASE WHEN r >= 200 THEN '{"server":"smtp.example.org:587"}'
       WHEN r % 4 = 0 THEN '{"hint_de":"Der Server bittet, es später noch einmal zu versuchen (4xx). Postamt versucht es automatisch erneut.","hint_en":"The server asked to try again later (4xx). Postamt retries automatically.","server":"smtp.example.org:587"}'
       WHEN r % 4 = 1 THEN '{"field":"recipient","hint_de":"Der Server kennt diese Empfängeradresse nicht. Prüfen Sie die Adresse.","hint_en":"The server does not know this recipient address. Check the address.","server":"smtp.example.org:587"}'
       WHEN r % 4 = 2 THEN '{"field":"host","hint_de":"Der Server hat nicht rechtzeitig geantwortet. Prüfen Sie Host, Port und Firewall.","hint_en":"The server did not answer in time. Check host, port and firewall.","server":"smtp.example.org:587"}'
       ELSE '{"field":"auth.password","hint_de":"Benutzername oder Passwort wurden abgelehnt.","hint_en":"The user name or password was rejected.","server":"smtp.example.org:587"}' END"#;

/// The generated log spans this many days up to now (inside the 90-day retention).
const LOG_DAYS: f64 = 89.5;

fn log_select(at: &str, message_id: &str) -> String {
    LOG_SELECT.replace("$AT", at).replace("$MESSAGE_ID", message_id)
}

fn log_time_span(rows: u64) -> (String, String) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let span = LOG_DAYS * 86_400.0;
    (format!("{:.3}", now - span), format!("{:.9}", span / rows as f64))
}

fn fill_log_sqlite(path: &Path, rows: u64) -> Result<LogSummary> {
    let path = path.to_str().context("the SQLite path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(path).with_context(|| format!("opening {path}"))?;
    // Bench set-up only: a large cache and no syncs make the million inserts quick.
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA cache_size = -262144; PRAGMA synchronous = OFF")?;
    let (start, step) = log_time_span(rows);
    let select = log_select(
        &format!("strftime('%Y-%m-%d %H:%M:%f', {start} + i * {step}, 'unixepoch')"),
        "printf('%08x-%04x-4%03x-8%03x-%012x', r * 429497, i % 65536, r % 4096, i % 4096, i)",
    );
    let sql = format!(
        "BEGIN IMMEDIATE;
         DELETE FROM mail_log;
         WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < {rows}),
              src AS (SELECT i, ((i * 2654435761) % 4294967296) % 10000 AS r FROM seq)
         INSERT INTO mail_log ({LOG_COLUMNS}) SELECT {select} FROM src;
         COMMIT;
         PRAGMA wal_checkpoint(TRUNCATE);"
    );
    conn.batch_execute(&sql).context("filling the SQLite mail log")?;
    Ok(LogSummary {
        rows: count!(&mut conn, "SELECT count(*) AS n FROM mail_log"),
        failures: count!(&mut conn, "SELECT count(*) AS n FROM mail_log WHERE failure_class IS NOT NULL"),
        failures_24h: count!(
            &mut conn,
            "SELECT count(*) AS n FROM mail_log WHERE failure_class IS NOT NULL \
             AND at >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 day')"
        ),
    })
}

fn fill_log_postgres(url: &str, rows: u64) -> Result<LogSummary> {
    let mut conn = PgConnection::establish(url).context("connecting to the bench database")?;
    let (start, step) = log_time_span(rows);
    let hex = |e: &str, w: u32| format!("lpad(to_hex({e}), {w}, '0')");
    let message_id = format!(
        "{} || '-' || {} || '-4' || {} || '-8' || {} || '-' || {}",
        hex("r * 429497", 8),
        hex("i % 65536", 4),
        hex("r % 4096", 3),
        hex("i % 4096", 3),
        hex("i", 12)
    );
    let select = log_select(&format!("to_timestamp({start} + i * {step}) AT TIME ZONE 'UTC'"), &message_id);
    let sql = format!(
        "BEGIN;
         DELETE FROM mail_log;
         INSERT INTO mail_log ({LOG_COLUMNS})
         SELECT {select}
         FROM (SELECT i, ((i * 2654435761) % 4294967296) % 10000 AS r
               FROM generate_series(0::bigint, {rows} - 1) AS g(i)) src;
         COMMIT;"
    );
    conn.batch_execute(&sql).context("filling the PostgreSQL mail log")?;
    // What autovacuum would have done to a table that grew over 90 days.
    conn.batch_execute("VACUUM ANALYZE mail_log").context("VACUUM ANALYZE mail_log")?;
    Ok(LogSummary {
        rows: count!(&mut conn, "SELECT count(*) AS n FROM mail_log"),
        failures: count!(&mut conn, "SELECT count(*) AS n FROM mail_log WHERE failure_class IS NOT NULL"),
        failures_24h: count!(
            &mut conn,
            "SELECT count(*) AS n FROM mail_log WHERE failure_class IS NOT NULL \
             AND at >= (now() AT TIME ZONE 'UTC') - interval '1 day'"
        ),
    })
}
