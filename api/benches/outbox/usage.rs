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
    /// Jiffies of all CPUs: busy (without steal), stolen, total.
    machine: [u64; 3],
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
        let (busy, stolen) = self.machine_share(after);
        let _ = write!(out, "; whole machine {busy:.2} of {} cores busy, {stolen:.2} stolen by the host", cores());
        out
    }

    /// Cores busy in this machine and cores the hypervisor gave to other guests ("steal")
    /// between `self` and `after`. Stolen time is why the same run's figures move by up to
    /// 1.8 x on this machine: it is time the machine's processes wanted and did not get.
    pub(crate) fn machine_share(&self, after: &Usage) -> (f64, f64) {
        let delta = |i: usize| after.machine[i].saturating_sub(self.machine[i]) as f64;
        let total = delta(2);
        if total == 0.0 {
            return (0.0, 0.0);
        }
        let cores = cores() as f64;
        (cores * delta(0) / total, cores * delta(1) / total)
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

/// [busy without steal, steal, total] jiffies of all CPUs (`/proc/stat`: user nice system
/// idle iowait irq softirq steal).
fn machine_cpu() -> [u64; 3] {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return [0; 3] };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    let (idle, steal) = (field(3) + field(4), field(7));
    [total.saturating_sub(idle + steal), steal, total]
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
