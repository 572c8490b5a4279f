// ---------------------------------------------------------------------------------------------
// CPU and memory from /proc

use std::fmt::Write as _;
use std::time::Instant;

/// CPU seconds of processes and of the machine at one moment.
pub(crate) struct Usage {
    at: Instant,
    server: f64,
    sink: f64,
    client: f64,
    postgres: f64,
    machine: (u64, u64),
}

impl Usage {
    pub(crate) fn take(server_pid: u32, sink_pid: u32) -> Usage {
        Usage {
            at: Instant::now(),
            server: proc_cpu(server_pid),
            sink: proc_cpu(sink_pid),
            client: proc_cpu(std::process::id()),
            postgres: postgres_cpu(),
            machine: machine_cpu(),
        }
    }

    pub(crate) fn describe(&self, after: &Usage) -> String {
        let wall = after.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let used = |a: f64, b: f64| (b - a) / wall;
        let mut out = format!(
            "postamt {:.2} cores, bench client {:.2}",
            used(self.server, after.server),
            used(self.client, after.client)
        );
        if after.sink > 0.0 {
            let _ = write!(out, ", smtp-sink {:.2}", used(self.sink, after.sink));
        }
        let pg = used(self.postgres, after.postgres);
        if pg > 0.005 {
            let _ = write!(out, ", postgres (all backends) {pg:.2}");
        }
        let busy = after.machine.0.saturating_sub(self.machine.0) as f64;
        let total = after.machine.1.saturating_sub(self.machine.1) as f64;
        if total > 0.0 {
            let _ = write!(out, "; whole machine {:.2} of {} cores busy", cores() as f64 * busy / total, cores());
        }
        out
    }
}

const CLOCK_TICKS: f64 = 100.0;

fn stat_cpu(stat: &str) -> Option<f64> {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS)
}

fn proc_cpu(pid: u32) -> f64 {
    if pid == 0 {
        return 0.0;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(stat_cpu).unwrap_or(0.0)
}

fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .filter_map(|stat| stat_cpu(&stat))
        .sum()
}

/// (busy, total) jiffies of all CPUs.
fn machine_cpu() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return (0, 0) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

pub(crate) fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
