//! A server under test as a child process of its own: started on a loopback port, timed from
//! spawn to its first good answer, measured through `/proc` (resident set of the process and its
//! children, such as gunicorn's workers), and stopped with SIGTERM (then SIGKILL).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::StatusCode;
use serde::Serialize;
use tokio::process::{Child, Command};

use crate::load::{self, Call, Target};

/// How long a server may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server.
pub struct Server {
    /// Its name in reports.
    pub name: &'static str,
    /// Where and how to reach it.
    pub target: Target,
    /// From spawn to the first 200 on the readiness probe.
    pub ready_in: Duration,
    child: Child,
}

/// Resident memory of a process tree, in KiB.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TreeMemory {
    /// Sum of the processes' current resident sets.
    pub rss_kib: u64,
    /// Sum of the processes' peaks (`VmHWM`).
    pub peak_kib: u64,
}

/// A free loopback port (bound, read and released: a server started right after gets it).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    listener.local_addr().context("the listener has no address")
}

impl Server {
    /// Spawns `command` (its output going to `log`), then polls `probe` on `target` until it
    /// answers 200.
    pub async fn start(
        name: &'static str,
        mut command: Command,
        target: Target,
        probe: &str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone().context("cannot share the log file")?;
        command.stdin(Stdio::null()).stdout(out).stderr(err).kill_on_drop(true);
        let start = Instant::now();
        let mut child = command.spawn().with_context(|| format!("cannot start {name}"))?;
        loop {
            if let Ok(answer) = load::once(&target, Call::get(probe.to_owned())).await
                && answer.status == StatusCode::OK
            {
                break;
            }
            if let Some(status) = child.try_wait().context("cannot watch the server")? {
                anyhow::bail!("{name} exited ({status}) before answering; see {}", log.display());
            }
            anyhow::ensure!(start.elapsed() < START_TIMEOUT, "{name} did not answer within {START_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Self { name, target, ready_in: start.elapsed(), child })
    }

    /// The resident memory of the server and every process under it.
    pub fn memory(&self) -> TreeMemory {
        let Some(pid) = self.child.id() else { return TreeMemory::default() };
        let mut total = TreeMemory::default();
        for pid in tree(pid) {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                total.rss_kib += kib(&status, "VmRSS:");
                total.peak_kib += kib(&status, "VmHWM:");
            }
        }
        total
    }

    /// CPU time (user and system) the server and every process under it have used so far, in
    /// seconds. Less sensitive than rates to what else the machine runs: time stolen by other
    /// work is not counted.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(pid) = self.child.id() else { return 0.0 };
        tree(pid)
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
            .map(|s| cpu_ticks(&s))
            .sum::<u64>() as f64
            / CLOCK_TICKS
    }

    /// SIGTERM, then SIGKILL if it has not exited within five seconds.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // The `kill` command keeps this crate free of unsafe code and of a libc binding.
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await;
        }
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                status.with_context(|| format!("cannot wait for {}", self.name))?;
            }
            Err(_) => self.child.kill().await.with_context(|| format!("cannot kill {}", self.name))?,
        }
        Ok(())
    }
}

/// `pid` and all its descendants, from `/proc/*/stat`.
fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            if let Some(ppid) = parent_of(&stat) {
                parents.push((child, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        i += 1;
    }
    found
}

/// The parent process id (field 4) of a `/proc/PID/stat` line.
pub fn parent_of(stat: &str) -> Option<u32> {
    // The command name (field 2) is in parentheses and may hold spaces: read after it.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
}

/// CPU seconds of a database cluster's processes: `postmaster` and every process under it, plus
/// what its exited children used (cutime and cstime of the postmaster, which reaps them): a
/// backend that ended during a workload still counts for it.
pub fn cluster_cpu_seconds(postmaster: u32) -> f64 {
    let live: u64 = tree(postmaster)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .map(|s| cpu_ticks(&s))
        .sum();
    let reaped = std::fs::read_to_string(format!("/proc/{postmaster}/stat")).map_or(0, |s| reaped_ticks(&s));
    (live + reaped) as f64 / CLOCK_TICKS
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ: 100 on every Linux architecture that
/// matters here).
const CLOCK_TICKS: f64 = 100.0;

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks.
fn cpu_ticks(stat: &str) -> u64 {
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    // After the command name: field 3 (state) is the first; utime and stime are fields 14, 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// cutime + cstime (fields 16, 17) of a `/proc/PID/stat` line: the CPU time of the process's
/// exited and reaped children, in clock ticks.
fn reaped_ticks(stat: &str) -> u64 {
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(16) + field(17)
}

fn kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_figures() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!((kib(status, "VmRSS:"), kib(status, "VmHWM:"), kib(status, "VmSwap:")), (1024, 2048, 0));
    }

    #[test]
    fn reads_cpu_ticks_after_the_command_name() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 1 0 5 0 0";
        assert_eq!(cpu_ticks(stat), 280);
        assert_eq!(reaped_ticks(stat), 0);
        assert_eq!(parent_of(stat), Some(1));
        let reaped = "42 (postgres) S 1 42 42 0 -1 4194304 100 0 0 0 250 30 7 5 20 0 1 0 5 0 0";
        assert_eq!((cpu_ticks(reaped), reaped_ticks(reaped)), (280, 12));
        assert_eq!(cpu_ticks("garbage"), 0);
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn this_process_is_its_own_tree() {
        let me = std::process::id();
        assert_eq!(tree(me).first(), Some(&me));
    }
}
