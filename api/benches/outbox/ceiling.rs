// ---------------------------------------------------------------------------------------------
// 1. Ceiling: smtp-source -> smtp-sink

use crate::report::thousands;
use crate::server::{Proc, Sink};
use crate::usage::Usage;
use crate::{err_string, Figures, Settings};
use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";

pub(crate) fn ceiling_pass(s: &Settings, sink: &Sink, figures: &mut Figures, when: &str) {
    println!("\n== Ceiling: smtp-source -> smtp-sink ({when})");
    let before = Usage::take(0, 0);
    match ceiling(s.ceiling_messages, sink.port) {
        Ok((rate, elapsed)) => {
            let (busy, stolen) = before.machine_share(&Usage::take(0, 0));
            println!(
                "  smtp-source -d -s 4 -l 2048 -m {}: {:.2} s, {} messages/s ({busy:.2} cores busy, {stolen:.2} stolen by the host)",
                s.ceiling_messages,
                elapsed.as_secs_f64(),
                thousands(rate)
            );
            figures.ceiling.push(rate);
        }
        Err(e) => {
            println!("  failed: {e:#}");
            figures.ceiling_error.get_or_insert_with(|| err_string(&e));
        }
    }
}

/// `smtp-source` with 4 parallel sessions, each reusing its connection (`-d`), 2 KB bodies.
fn ceiling(messages: u32, port: u16) -> Result<(f64, Duration)> {
    let started = Instant::now();
    let child = Command::new(SMTP_SOURCE)
        .args(["-d", "-s", "4", "-l", "2048", "-m", &messages.to_string()])
        .args(["-M", "bench.example.org", "-f", "bench@example.org", "-t", "rcpt@example.org"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {SMTP_SOURCE} (is Debian's postfix installed?)"))?;
    let mut proc = Proc::new("smtp-source", child);
    let status = proc.wait_for(Duration::from_secs(180))?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("smtp-source exited with {status}: {}", proc.stderr_text());
    }
    Ok((f64::from(messages) / elapsed.as_secs_f64(), elapsed))
}
