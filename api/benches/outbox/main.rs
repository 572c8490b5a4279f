//! `cargo bench -p postamt --bench outbox`: the figures of issue 4, measured against the real
//! `postamt` binary (the release build cargo makes for this bench), a Postfix `smtp-sink` on
//! loopback, SQLite and a fresh PostgreSQL database.
//!
//! 1. ceiling: `smtp-source` -> `smtp-sink` (connections reused), messages/s, the better of a
//!    pass before and one after the Postamt runs;
//! 2. end to end per database: messages/s from `POST /api/v1/messages` until `smtp-sink` has
//!    them all (`postamt_messages_sent_total`), the better of two passes, and its ratio to
//!    the ceiling;
//! 3. accept latency (POST -> 202) p50/p99 at a fixed, open-loop request rate;
//! 4. `GET /api/v1/mail-log/errors` p50/p95 over a 1 M-row mail log;
//! 5. `GET /api/v1/mail-log/export?format=csv` of that log: rows/s and the server's peak RSS;
//! 6. priority (issue 16): p50/p99 from POST to `sent_at` of `high` messages posted at a
//!    steady rate while 20,000 `low` ones are posted at full speed (no limits);
//! 7. limit (issue 16): with `messages_per_minute` 600, the most messages in any 60 s window
//!    at a sink of its own, and the rate achieved; over 2 minutes by nature.
//!
//! Prints figures and a table with targets; always exits 0 (figures, not tests). Every loop is
//! bounded in count and time; all traffic stays on 127.0.0.1. Knobs (environment):
//! `POSTAMT_BENCH_MESSAGES` (20000), `POSTAMT_BENCH_CONCURRENCY` (32), `POSTAMT_BENCH_RATE`
//! (500), `POSTAMT_BENCH_RATE_SECONDS` (10), `POSTAMT_BENCH_LOG_ROWS` (1000000),
//! `POSTAMT_BENCH_DELIVERY_WORKERS` (4), `POSTAMT_BENCH_BACKENDS` (`sqlite,postgres`),
//! `POSTAMT_BENCH_PG_URL` (`postgres://postgres@127.0.0.1:5432`), `POSTAMT_BENCH_BIN`,
//! `POSTAMT_BENCH_RUST_LOG` (`warn`), `POSTAMT_BENCH_SKIP_DEPS=1`, `POSTAMT_BENCH_LOW_MESSAGES`
//! (20000), `POSTAMT_BENCH_HIGH_MESSAGES` (300), `POSTAMT_BENCH_HIGH_RATE` (50 a second: the
//! low run lasts only seconds here),
//! `POSTAMT_BENCH_LIMIT_PER_MINUTE` (600), `POSTAMT_BENCH_LIMIT_MESSAGES` (1500), and
//! `POSTAMT_BENCH_PHASES` (`ceiling,e2e,latency,log,priority,limits`: the phases to run).

mod api;
mod ceiling;
mod end_to_end;
mod limits;
mod mail_log;
mod poster;
mod priority;
mod report;
mod server;
mod usage;

use anyhow::{anyhow, bail, Context, Result};
use api::Api;
use ceiling::ceiling_pass;
use end_to_end::{accept_latency, end_to_end};
use limits::{limit_run, LimitFigure};
use mail_log::log_figures;
use priority::{priority_run, PriorityFigure};
use report::print_table;
use server::{PgDatabase, Server, Sink};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;
use usage::{cores, loadavg};

const PASSWORD: &str = "bench-admin-password-0123456789";

fn main() -> ExitCode {
    // `cargo bench` passes --bench; `cargo test --benches` does not: do not run the whole
    // benchmark as a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("outbox benchmark: run it with `cargo bench -p postamt --bench outbox`");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("cannot start the tokio runtime: {e}");
            return ExitCode::SUCCESS;
        }
    };
    let settings = Settings::from_env();
    let mut figures = Figures::default();
    if let Err(e) = runtime.block_on(run(&settings, &mut figures)) {
        println!("\nbenchmark aborted: {e:#}");
    }
    print_table(&settings, &figures);
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Settings and results

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

struct Settings {
    repo: PathBuf,
    bin: PathBuf,
    work_root: PathBuf,
    pg_base: String,
    messages: usize,
    concurrency: usize,
    rate: u32,
    rate_seconds: u32,
    log_rows: u64,
    delivery_workers: u32,
    /// The server's `RUST_LOG`: `warn`, as `info` writes a line per request.
    server_log: String,
    ceiling_messages: u32,
    backends: Vec<Backend>,
    skip_deps: bool,
    /// The phases to run: `ceiling`, `e2e`, `latency`, `log`, `priority`, `limits`.
    phases: Vec<String>,
    low_messages: usize,
    high_messages: usize,
    high_rate: f64,
    limit_per_minute: u32,
    limit_messages: usize,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let bin = std::env::var_os("POSTAMT_BENCH_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_postamt")), PathBuf::from);
        let pg_base = std::env::var("POSTAMT_BENCH_PG_URL")
            .or_else(|_| std::env::var("POSTAMT_TEST_PG_URL"))
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let backends = std::env::var("POSTAMT_BENCH_BACKENDS")
            .unwrap_or_else(|_| "sqlite,postgres".to_owned())
            .split(',')
            .filter_map(|b| match b.trim().to_ascii_lowercase().as_str() {
                "sqlite" => Some(Backend::Sqlite),
                "postgres" | "postgresql" | "pg" => Some(Backend::Postgres),
                _ => None,
            })
            .collect();
        Settings {
            repo,
            bin,
            work_root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
            pg_base,
            messages: env_or("POSTAMT_BENCH_MESSAGES", 20_000usize).clamp(100, 1_000_000),
            concurrency: env_or("POSTAMT_BENCH_CONCURRENCY", 32usize).clamp(1, 512),
            rate: env_or("POSTAMT_BENCH_RATE", 500u32).clamp(1, 20_000),
            rate_seconds: env_or("POSTAMT_BENCH_RATE_SECONDS", 10u32).clamp(1, 300),
            log_rows: env_or("POSTAMT_BENCH_LOG_ROWS", 1_000_000u64).clamp(1000, 50_000_000),
            delivery_workers: env_or("POSTAMT_BENCH_DELIVERY_WORKERS", 4u32).clamp(1, 64),
            server_log: env_or("POSTAMT_BENCH_RUST_LOG", "warn".to_owned()),
            ceiling_messages: 20_000,
            backends,
            skip_deps: std::env::var("POSTAMT_BENCH_SKIP_DEPS").is_ok_and(|v| v == "1"),
            phases: std::env::var("POSTAMT_BENCH_PHASES")
                .unwrap_or_else(|_| PHASES.join(","))
                .split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
            low_messages: env_or("POSTAMT_BENCH_LOW_MESSAGES", 20_000usize).clamp(100, 1_000_000),
            high_messages: env_or("POSTAMT_BENCH_HIGH_MESSAGES", 300usize).clamp(1, 10_000),
            high_rate: env_or("POSTAMT_BENCH_HIGH_RATE", 50.0f64).clamp(0.1, 1000.0),
            limit_per_minute: env_or("POSTAMT_BENCH_LIMIT_PER_MINUTE", 600u32).clamp(1, 100_000),
            limit_messages: env_or("POSTAMT_BENCH_LIMIT_MESSAGES", 1500usize).clamp(10, 1_000_000),
        }
    }

    fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

const PHASES: [&str; 6] = ["ceiling", "e2e", "latency", "log", "priority", "limits"];

type Measured<T> = Result<T, String>;

struct EndToEnd {
    /// Messages/s of each pass.
    passes: Vec<f64>,
}

impl EndToEnd {
    fn rate(&self) -> f64 {
        self.passes.iter().copied().fold(0.0, f64::max)
    }
}

struct Percentiles {
    p50: Duration,
    high: Duration,
}

struct Export {
    rows_per_s: f64,
    peak_kib: u64,
}

#[derive(Default)]
struct Figures {
    ceiling: Vec<f64>,
    ceiling_error: Option<String>,
    end_to_end: Vec<(Backend, Measured<EndToEnd>)>,
    accept: Vec<(Backend, Measured<Percentiles>)>,
    errors: Vec<(Backend, Measured<Percentiles>)>,
    errors_hour: Vec<(Backend, Measured<Percentiles>)>,
    export: Vec<(Backend, Measured<Export>)>,
    priority: Vec<(Backend, Measured<PriorityFigure>)>,
    limits: Vec<(Backend, Measured<LimitFigure>)>,
}

fn err_string(e: &anyhow::Error) -> String {
    let s = format!("{e:#}");
    if s.len() > 140 {
        format!("{}...", &s[..s.char_indices().nth(137).map_or(s.len(), |(i, _)| i)])
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// The run

async fn run(s: &Settings, figures: &mut Figures) -> Result<()> {
    println!("Postamt outbox benchmark");
    println!("  server binary: {} (RUST_LOG={})", s.bin.display(), s.server_log);
    println!("  machine: {} cores, load average {}", cores(), loadavg());
    println!("  phases: {}", s.phases.join(","));
    if let Some(p) = s.phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
        println!("  warning: unknown phase {p:?} in POSTAMT_BENCH_PHASES (known: {})", PHASES.join(","));
    }
    if !s.skip_deps {
        let script = s.repo.join("scripts/lib/bench-deps.sh");
        println!("  dependencies: bash {}", script.display());
        let status = Command::new("bash").arg(&script).stdin(Stdio::null()).status();
        match status {
            Ok(st) if st.success() => {}
            Ok(st) => println!("  warning: bench-deps.sh exited with {st}; figures needing its tools will be missing"),
            Err(e) => println!("  warning: cannot run bench-deps.sh: {e}"),
        }
    }
    if !s.bin.is_file() {
        bail!("{} does not exist: build it with `cargo build --release -p postamt`", s.bin.display());
    }
    std::fs::create_dir_all(&s.work_root).ok();
    let tmp = tempfile::Builder::new().prefix("postamt-bench-").tempdir_in(&s.work_root).context("temporary folder")?;
    println!("  scratch folder: {}", tmp.path().display());

    let sink = Sink::start(tmp.path()).context("starting smtp-sink")?;
    println!("  smtp-sink on 127.0.0.1:{} (pid {})", sink.port, sink.proc.pid());

    // The ceiling is taken before and after the Postamt runs (the machine is shared, its load
    // changes); the better pass counts.
    if s.runs("ceiling") {
        ceiling_pass(s, &sink, figures, "before the Postamt runs");
    }
    let per_backend = ["e2e", "latency", "log", "priority", "limits"].iter().any(|p| s.runs(p));
    for backend in s.backends.clone().into_iter().filter(|_| per_backend) {
        bench_backend(s, backend, &sink, tmp.path(), figures).await;
    }
    if s.runs("ceiling") {
        ceiling_pass(s, &sink, figures, "after the Postamt runs");
    }
    drop(sink);
    println!("\n  load average at the end: {}", loadavg());
    Ok(())
}

async fn bench_backend(s: &Settings, backend: Backend, sink: &Sink, tmp: &Path, figures: &mut Figures) {
    let name = backend.name();
    println!("\n== {name}");
    let fail_all = |figures: &mut Figures, e: &anyhow::Error| {
        let msg = err_string(e);
        if s.runs("e2e") {
            figures.end_to_end.push((backend, Err(msg.clone())));
        }
        if s.runs("latency") {
            figures.accept.push((backend, Err(msg.clone())));
        }
        if s.runs("priority") {
            figures.priority.push((backend, Err(msg.clone())));
        }
        if s.runs("limits") {
            figures.limits.push((backend, Err(msg.clone())));
        }
        if s.runs("log") {
            figures.errors.push((backend, Err(msg.clone())));
            figures.errors_hour.push((backend, Err(msg.clone())));
            figures.export.push((backend, Err(msg)));
        }
    };
    let data_dir = tmp.join(name.to_ascii_lowercase());
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        fail_all(figures, &anyhow!(e));
        return;
    }
    let pg = match backend {
        Backend::Postgres => match PgDatabase::create(&s.pg_base) {
            Ok(db) => {
                println!("  database: {} (created; dropped at the end)", db.name);
                Some(db)
            }
            Err(e) => {
                println!("  cannot create the PostgreSQL database: {e:#}");
                fail_all(figures, &e);
                return;
            }
        },
        Backend::Sqlite => None,
    };
    let db_url = pg.as_ref().map(PgDatabase::url);

    // Part 1: the outbox (end to end, accept latency, priority, then the limit) on a fresh
    // database; it also makes the API key part 2 uses.
    let api = match outbox_phases(s, backend, sink, tmp, &data_dir, db_url.as_deref(), figures).await {
        Ok(api) => api,
        Err(e) => {
            fail_all(figures, &e);
            return;
        }
    };

    // Part 2: the mail log, filled with SQL, read by a freshly started server.
    if !s.runs("log") {
        return;
    }
    let log = log_figures(s, backend, &data_dir, db_url.as_deref(), &api).await;
    drop(api);
    match log {
        Ok((errors, export)) => {
            let (day, hour) = match errors {
                Ok((day, hour)) => (Ok(day), Ok(hour)),
                Err(e) => (Err(err_string(&e)), Err(err_string(&e))),
            };
            figures.errors.push((backend, day));
            figures.errors_hour.push((backend, hour));
            figures.export.push((backend, export.map_err(|e| err_string(&e))));
        }
        Err(e) => {
            println!("  mail log figures failed: {e:#}");
            figures.errors.push((backend, Err(err_string(&e))));
            figures.errors_hour.push((backend, Err(err_string(&e))));
            figures.export.push((backend, Err(err_string(&e))));
        }
    }
    drop(pg);
}

/// The phases on one server: `Err` (every figure failed) only if it does not start or take
/// its settings; each phase's own failure goes into its figure.
async fn outbox_phases(
    s: &Settings,
    backend: Backend,
    sink: &Sink,
    tmp: &Path,
    data_dir: &Path,
    db_url: Option<&str>,
    figures: &mut Figures,
) -> Result<Api> {
    let server =
        Server::start(s, data_dir, db_url, backend).await.inspect_err(|e| println!("  server did not start: {e:#}"))?;
    let api = Api::configure(&server.base, sink.port)
        .await
        .inspect_err(|e| println!("  setting up the server failed: {e:#}\n{}", server.log_tail()))?;
    let failed = |what: &str, e: &anyhow::Error| println!("  {what} failed: {e:#}\n{}", server.log_tail());
    if s.runs("e2e") {
        let r = end_to_end(s, &api, &server, sink).await.inspect_err(|e| failed("end to end", e));
        figures.end_to_end.push((backend, r.map_err(|e| err_string(&e))));
    }
    if s.runs("latency") {
        let r = accept_latency(s, &api, &server).await.inspect_err(|e| failed("accept latency", e));
        figures.accept.push((backend, r.map_err(|e| err_string(&e))));
    }
    if s.runs("priority") {
        let r = priority_run(s, &api).await.inspect_err(|e| failed("priority", e));
        figures.priority.push((backend, r.map_err(|e| err_string(&e))));
    }
    // Last: it leaves the limit in the settings.
    if s.runs("limits") {
        let r = limit_run(s, &api, tmp, backend.name()).await.inspect_err(|e| failed("limit", e));
        figures.limits.push((backend, r.map_err(|e| err_string(&e))));
    }
    server.stop();
    Ok(api)
}
