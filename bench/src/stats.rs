//! The figures a run reports: latency percentiles from timed samples, and the process's memory
//! (peak and current resident set size, from `/proc/self/status`; Linux only, `None` elsewhere).

use std::time::Duration;

use serde::Serialize;

/// Latency percentiles of one kind of request, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// How many requests were timed.
    pub samples: usize,
    /// The median.
    pub median_ms: f64,
    /// The 90th percentile.
    pub p90_ms: f64,
    /// The 99th percentile.
    pub p99_ms: f64,
    /// The slowest.
    pub max_ms: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of `samples`; `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let last = *sorted.last()?;
        let at = |p: f64| ms(sorted[nearest_rank(p, sorted.len())]);
        Some(Self { samples: sorted.len(), median_ms: at(50.0), p90_ms: at(90.0), p99_ms: at(99.0), max_ms: ms(last) })
    }
}

/// The index of the `p`th percentile in `n` sorted samples (`n > 0`), by nearest rank.
fn nearest_rank(p: f64, n: usize) -> usize {
    let rank = (p / 100.0 * n as f64).ceil() as usize;
    rank.clamp(1, n) - 1
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of this process (server and client together), in KiB.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// The peak since the last [`reset_peak`] (or since start, if resetting is not possible).
    pub peak_kib: u64,
    /// Now.
    pub current_kib: u64,
}

impl Memory {
    /// Reads `VmHWM` and `VmRSS`; `None` where `/proc` does not have them.
    pub fn now() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        Some(Self { peak_kib: status_kib(&status, "VmHWM:")?, current_kib: status_kib(&status, "VmRSS:")? })
    }
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Memory over one phase of a run: the resident set when it began, and its peak during it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PhaseMemory {
    /// Resident at the start, in KiB (what earlier phases left behind, allocator caches included).
    pub start_kib: u64,
    /// The peak during the phase, in KiB (since start-up if the peak could not be reset).
    pub peak_kib: u64,
}

impl PhaseMemory {
    /// How far the phase raised the resident set above where it began, in KiB.
    pub fn growth_kib(&self) -> u64 {
        self.peak_kib.saturating_sub(self.start_kib)
    }
}

/// Watches the memory of one phase: [`MemoryWatch::start`] before it, [`MemoryWatch::finish`]
/// after it.
pub struct MemoryWatch {
    start: Option<Memory>,
}

impl MemoryWatch {
    /// Resets the peak and notes where the resident set stands.
    pub fn start() -> Self {
        reset_peak();
        Self { start: Memory::now() }
    }

    /// The phase's figures; `None` where `/proc` does not have them.
    pub fn finish(self) -> Option<PhaseMemory> {
        let (start, end) = (self.start?, Memory::now()?);
        Some(PhaseMemory { start_kib: start.current_kib, peak_kib: end.peak_kib })
    }
}

/// Starts a new peak (`VmHWM` := `VmRSS`), so that the next [`Memory::now`] shows the peak of
/// what happens in between. Returns whether the kernel allowed it (Linux 4.0+).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::of(&samples).expect("samples");
        assert_eq!((l.samples, l.median_ms, l.p90_ms, l.p99_ms, l.max_ms), (100, 50.0, 90.0, 99.0, 100.0));
        let one = Latency::of(&[Duration::from_millis(7)]).expect("one sample");
        assert_eq!((one.median_ms, one.p99_ms), (7.0, 7.0));
        assert!(Latency::of(&[]).is_none());
    }

    #[test]
    fn growth_never_underflows() {
        assert_eq!(PhaseMemory { start_kib: 100, peak_kib: 150 }.growth_kib(), 50);
        assert_eq!(PhaseMemory { start_kib: 100, peak_kib: 90 }.growth_kib(), 0);
    }

    #[test]
    fn status_lines() {
        let status = "Name:\tx\nVmHWM:\t   12345 kB\nVmRSS:\t  678 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(12345));
        assert_eq!(status_kib(status, "VmRSS:"), Some(678));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }
}
