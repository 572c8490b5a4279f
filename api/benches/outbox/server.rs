// ---------------------------------------------------------------------------------------------
// Processes: postamt, smtp-sink, smtp-source

use crate::usage::proc_status_kib;
use crate::{Backend, Settings, PASSWORD};
use anyhow::{bail, Context, Result};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Proc {
    name: &'static str,
    child: Option<Child>,
    pid: u32,
}

impl Proc {
    pub(crate) fn new(name: &'static str, child: Child) -> Proc {
        let pid = child.id();
        Proc { name, child: Some(child), pid }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn wait_for(&mut self, limit: Duration) -> Result<std::process::ExitStatus> {
        let child = self.child.as_mut().context("process already stopped")?;
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{} did not finish within {} s and was killed", self.name, limit.as_secs());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(crate) fn stderr_text(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(err) = self.child.as_mut().and_then(|c| c.stderr.as_mut()) {
            let _ = err.read_to_string(&mut text);
        }
        text.trim().chars().take(2000).collect()
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("  {} (pid {}) did not exit within {} s of SIGTERM; killing it", self.name, self.pid, grace.as_secs());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

pub(crate) struct Sink {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
}

impl Sink {
    pub(crate) fn start(tmp: &Path) -> Result<Sink> {
        Sink::start_with(tmp, "smtp-sink.log", None)
    }

    /// A sink that writes each message it takes to a file of its own in `dump_dir` (`-d`):
    /// the files' modification times are when the sink had each message.
    pub(crate) fn start_dumping(tmp: &Path, dump_dir: &Path) -> Result<Sink> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dump_dir)?;
        // smtp-sink drops to `nobody` when started as root.
        std::fs::set_permissions(dump_dir, std::fs::Permissions::from_mode(0o777))?;
        Sink::start_with(tmp, "smtp-sink-dump.log", Some(dump_dir))
    }

    fn start_with(tmp: &Path, log_name: &str, dump_dir: Option<&Path>) -> Result<Sink> {
        use std::os::unix::fs::MetadataExt;
        let port = free_port()?;
        let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        let log = std::fs::File::create(tmp.join(log_name))?;
        let mut cmd = Command::new(SMTP_SINK);
        if root {
            cmd.args(["-u", "nobody"]);
        }
        if let Some(dir) = dump_dir {
            cmd.arg("-d").arg(dir.join("m."));
        }
        let child = cmd
            .arg(format!("127.0.0.1:{port}"))
            .arg("512")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("running {SMTP_SINK} (is Debian's postfix installed?)"))?;
        let mut proc = Proc::new("smtp-sink", child);
        let deadline = Instant::now() + Duration::from_secs(5);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                bail!("smtp-sink does not accept connections on port {port}: {}", proc.stderr_text());
            }
            if let Some(Ok(Some(status))) = proc.child.as_mut().map(Child::try_wait) {
                bail!("smtp-sink exited at once with {status} (see {})", tmp.join(log_name).display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Sink { proc, port })
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

pub(crate) struct Server {
    proc: Proc,
    pub(crate) pid: u32,
    pub(crate) base: String,
    log: PathBuf,
}

impl Server {
    pub(crate) async fn start(s: &Settings, data_dir: &Path, db_url: Option<&str>, backend: Backend) -> Result<Server> {
        let log = data_dir.join("server.log");
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let mut cmd = Command::new(&s.bin);
        // The bench decides the configuration, not the caller's environment.
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if (k.starts_with("POSTAMT_") && !k.starts_with("POSTAMT_BENCH")) || k == "DATABASE_URL" {
                cmd.env_remove(&key);
            }
        }
        cmd.args(["--bind", "127.0.0.1:0", "--log-format", "json", "--delivery-workers"])
            .arg(s.delivery_workers.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", &s.server_log)
            .env("POSTAMT_ADMIN_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(url) = db_url {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().with_context(|| format!("running {}", s.bin.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let proc = Proc::new("postamt", child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(std::io::Result::ok) {
                if let Some(url) = line.strip_prefix("Postamt listening on ") {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_owned());
                }
            }
        });
        let started = Instant::now();
        let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120))).await?;
        let server = Server { pid: proc.pid(), proc, base: base.unwrap_or_default(), log };
        if server.base.is_empty() {
            bail!("postamt printed no 'Postamt listening on' line within 120 s\n{}", server.log_tail());
        }
        println!(
            "  postamt (pid {}) on {} with {}, ready after {:.2} s, RSS {:.1} MiB",
            server.pid,
            server.base,
            backend.name(),
            started.elapsed().as_secs_f64(),
            proc_status_kib(server.pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
        );
        Ok(server)
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n    ");
        format!("  server log ({}), last lines:\n    {tail}", self.log.display())
    }

    pub(crate) fn stop(mut self) {
        self.proc.stop(Duration::from_secs(15));
    }
}

/// A PostgreSQL database made for one run, dropped when this is dropped.
pub(crate) struct PgDatabase {
    base: String,
    pub(crate) name: String,
}

impl PgDatabase {
    pub(crate) fn create(base: &str) -> Result<PgDatabase> {
        let name = format!("postamt_bench_{}", uuid::Uuid::new_v4().simple());
        postamt::db::libpq_tls::init();
        let mut conn = PgConnection::establish(&format!("{base}/postgres"))
            .with_context(|| format!("connecting to {base}/postgres (set POSTAMT_BENCH_PG_URL)"))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}")).context("CREATE DATABASE")?;
        Ok(PgDatabase { base: base.to_owned(), name })
    }

    /// The server's URL. Loopback: TLS to PostgreSQL would only add CPU on both ends (libpq's
    /// default `sslmode=prefer` takes it whenever the server offers it).
    pub(crate) fn url(&self) -> String {
        format!("{}/{}?sslmode=disable", self.base, self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        match PgConnection::establish(&format!("{}/postgres", self.base)) {
            Ok(mut conn) => {
                if conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).is_err() {
                    if let Err(e) = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {}", self.name)) {
                        println!("  warning: could not drop database {}: {e}", self.name);
                    }
                }
            }
            Err(e) => println!("  warning: could not drop database {}: {e}", self.name),
        }
    }
}
