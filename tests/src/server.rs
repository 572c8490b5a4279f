//! Starting and stopping the real `postamt` binary.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::http::Api;

/// Environment variables the binary reads; removed from the inherited environment so that a
/// developer's shell cannot change what a test starts.
const BINARY_ENV: &[&str] = &[
    "POSTAMT_BIND",
    "POSTAMT_DATA_DIR",
    "DATABASE_URL",
    "POSTAMT_SECRET_KEY",
    "POSTAMT_ADMIN_PASSWORD",
    "POSTAMT_ADMIN_PASSWORD_FILE",
    "POSTAMT_STATIC_DIR",
    "POSTAMT_LOG_FORMAT",
    "POSTAMT_EHLO_NAME",
    "POSTAMT_SHUTDOWN_GRACE_SECONDS",
];

/// How long a start may take until the `Postamt listening on` line (migrations, argon2 in a
/// debug build, a busy 2-core machine running other tests).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// What the binary is started with. It always binds `127.0.0.1:0` (a free port).
#[derive(Clone, Debug)]
pub struct Launch {
    data_dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
}

impl Launch {
    /// A start with `--data-dir <data_dir>` and nothing else configured.
    pub fn new(data_dir: &Path) -> Self {
        Launch { data_dir: data_dir.to_path_buf(), args: Vec::new(), env: Vec::new() }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// `--database-url <url>`.
    pub fn database_url(self, url: &str) -> Self {
        self.arg("--database-url").arg(url)
    }

    /// The admin password through `POSTAMT_ADMIN_PASSWORD` (so it shows in no process list).
    pub fn admin_password(self, password: &str) -> Self {
        self.env("POSTAMT_ADMIN_PASSWORD", password)
    }

    /// The encryption key through `POSTAMT_SECRET_KEY`.
    pub fn secret_key(self, key: &str) -> Self {
        self.env("POSTAMT_SECRET_KEY", key)
    }

    /// `--static-dir <dir>`.
    pub fn static_dir(self, dir: &Path) -> Self {
        self.arg("--static-dir").arg(dir)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Starts the binary and waits for its `Postamt listening on http://…` line; panics with
    /// everything it printed when it exits or stays silent instead.
    pub fn start(&self) -> Postamt {
        let bin = crate::postamt_bin();
        std::fs::create_dir_all(&self.data_dir).expect("create the data dir");
        let mut cmd = Command::new(&bin);
        cmd.arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            // Relative defaults (./data) must never reach the work tree.
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in BINARY_ENV {
            cmd.env_remove(key);
        }
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdout = Output::capture(child.stdout.take().expect("piped stdout"));
        let stderr = Output::capture(child.stderr.take().expect("piped stderr"));

        let start = Instant::now();
        let url = loop {
            if let Some(url) = stdout
                .lines()
                .iter()
                .find_map(|l| l.strip_prefix("Postamt listening on ").map(|u| u.trim().to_string()))
            {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                stdout.wait_closed(Duration::from_secs(5));
                stderr.wait_closed(Duration::from_secs(5));
                panic!(
                    "postamt exited with {status} before it was ready\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    stdout.text(),
                    stderr.text()
                );
            }
            if start.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "postamt printed no `Postamt listening on` line within {START_TIMEOUT:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    stdout.text(),
                    stderr.text()
                );
            }
            stdout.wait_change(Duration::from_millis(200));
        };
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "the listening line names an unexpected address: {url}"
        );
        Postamt { child: Some(child), url: url.trim_end_matches('/').to_string(), stdout, stderr }
    }
}

/// A running `postamt` process; killed when dropped.
pub struct Postamt {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`, from the binary's own listening line.
    pub url: String,
    stdout: Arc<Output>,
    stderr: Arc<Output>,
}

impl Postamt {
    /// An HTTP client for this instance.
    pub fn api(&self) -> Api {
        Api::new(&self.url)
    }

    /// Everything printed to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything printed to stderr (the logs) so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The password from a `Generated admin password: <password>` line, if one was printed.
    pub fn generated_password(&self) -> Option<String> {
        generated_password(&self.stdout.text())
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit (then SIGKILL): how it
    /// ended, how long that took and what it printed, read to the end.
    pub fn terminate(mut self, within: Duration) -> Terminated {
        let mut child = self.child.take().expect("running");
        let sent = Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).stderr(Stdio::null()).status();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if sent.elapsed() < within => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let took = sent.elapsed();
        self.stdout.wait_closed(Duration::from_secs(5));
        self.stderr.wait_closed(Duration::from_secs(5));
        Terminated { status, took, stdout: self.stdout.text(), stderr: self.stderr.text() }
    }

    /// Stops the process (SIGTERM, then SIGKILL after 15 s) and returns what it printed:
    /// `(stdout, stderr)`, read to the end.
    pub fn stop(mut self) -> (String, String) {
        let mut child = self.child.take().expect("running");
        // std has no SIGTERM and the workspace forbids unsafe code: ask kill(1).
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
        self.stdout.wait_closed(Duration::from_secs(5));
        self.stderr.wait_closed(Duration::from_secs(5));
        (self.stdout.text(), self.stderr.text())
    }
}

impl Drop for Postamt {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- postamt at {} stdout ---\n{}\n--- postamt stderr (last 60 lines) ---\n{}",
                self.url,
                self.stdout.text(),
                tail(&self.stderr.text(), 60)
            );
        }
    }
}

/// How a process ended after SIGTERM ([`Postamt::terminate`]).
#[derive(Debug)]
pub struct Terminated {
    /// `None`: it had to be killed.
    pub status: Option<std::process::ExitStatus>,
    /// From SIGTERM to its exit.
    pub took: Duration,
    pub stdout: String,
    pub stderr: String,
}

/// The password from a `Generated admin password: <password>` line.
pub fn generated_password(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        line.split_once("Generated admin password:").map(|(_, pw)| pw.trim().to_string()).filter(|pw| !pw.is_empty())
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Lines read from a child's pipe by a background thread.
struct Output {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Output {
    fn capture(pipe: impl Read + Send + 'static) -> Arc<Output> {
        let out = Arc::new(Output { state: Mutex::new((Vec::new(), false)), changed: Condvar::new() });
        let writer = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        writer.state.lock().expect("output lock").0.push(line);
                        writer.changed.notify_all();
                    }
                }
            }
            writer.state.lock().expect("output lock").1 = true;
            writer.changed.notify_all();
        });
        out
    }

    fn lines(&self) -> Vec<String> {
        self.state.lock().expect("output lock").0.clone()
    }

    fn text(&self) -> String {
        self.lines().join("\n")
    }

    fn wait_change(&self, timeout: Duration) {
        let guard = self.state.lock().expect("output lock");
        let _ = self.changed.wait_timeout(guard, timeout);
    }

    fn wait_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut guard = self.state.lock().expect("output lock");
        while !guard.1 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            guard = self.changed.wait_timeout(guard, deadline - now).expect("output lock").0;
        }
    }
}
