//! Benchmark support for `recfuse bench`: repeated timings with min / median / max,
//! peak memory, a description of the machine, and a seeded synthetic data generator
//! ([`synthetic`]) for the scale benchmark.
//!
//! Nothing here knows about the GUI; the sub-command itself lives in `cli::bench`.

use std::time::Instant;

use serde::Serialize;

/// Seconds of repeated runs of one piece of work, with summary statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Timing {
    /// Untimed runs before the timed ones.
    pub warmup: usize,
    /// Seconds of each timed run, in run order.
    pub seconds: Vec<f64>,
    /// Fastest run.
    pub min_s: f64,
    /// Median run (mean of the two middle runs for an even count).
    pub median_s: f64,
    /// Slowest run.
    pub max_s: f64,
}

impl Timing {
    /// Summarises the given run times (an empty list gives zeros).
    pub(crate) fn from_seconds(warmup: usize, seconds: Vec<f64>) -> Self {
        let mut sorted = seconds.clone();
        sorted.sort_by(f64::total_cmp);
        Self {
            warmup,
            min_s: sorted.first().copied().unwrap_or(0.0),
            median_s: median_sorted(&sorted),
            max_s: sorted.last().copied().unwrap_or(0.0),
            seconds,
        }
    }

    /// "min / median / max" in a unit chosen for the median (µs, ms or s).
    pub(crate) fn describe(&self) -> String {
        let (scale, unit) = unit_for(self.median_s);
        format!(
            "{:.prec$} / {:.prec$} / {:.prec$} {unit}",
            self.min_s * scale,
            self.median_s * scale,
            self.max_s * scale,
            prec = precision_for(self.median_s * scale)
        )
    }
}

/// Median of an ascending slice (0 when empty).
pub(super) fn median_sorted(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or(0.0),
        n => (sorted.get(n / 2 - 1).copied().unwrap_or(0.0) + sorted.get(n / 2).copied().unwrap_or(0.0)) / 2.0,
    }
}

fn unit_for(seconds: f64) -> (f64, &'static str) {
    if seconds < 1e-3 {
        (1e6, "µs")
    } else if seconds < 1.0 {
        (1e3, "ms")
    } else {
        (1.0, "s")
    }
}

fn precision_for(value: f64) -> usize {
    if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    }
}

/// Runs `work` `warmup` times untimed, then `reps` times (at least once) timed. The
/// result of each run is passed through [`std::hint::black_box`] so the work is not
/// optimised away.
pub(super) fn time_reps<T>(warmup: usize, reps: usize, mut work: impl FnMut() -> T) -> Timing {
    for _ in 0..warmup {
        std::hint::black_box(work());
    }
    let mut seconds = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let start = Instant::now();
        let out = work();
        seconds.push(start.elapsed().as_secs_f64());
        drop(std::hint::black_box(out));
    }
    Timing::from_seconds(warmup, seconds)
}

/// Like [`time_reps`], for work that needs fresh state each run: `setup` is not timed.
pub(super) fn time_reps_with_setup<S, T>(
    warmup: usize,
    reps: usize,
    mut setup: impl FnMut() -> S,
    mut work: impl FnMut(S) -> T,
) -> Timing {
    for _ in 0..warmup {
        let s = setup();
        std::hint::black_box(work(s));
    }
    let mut seconds = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let s = setup();
        let start = Instant::now();
        let out = work(s);
        seconds.push(start.elapsed().as_secs_f64());
        drop(std::hint::black_box(out));
    }
    Timing::from_seconds(warmup, seconds)
}

/// Peak resident memory of this process so far (`VmHWM`), in bytes; `None` where
/// `/proc/self/status` is not available.
pub(super) fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&status, "VmHWM:").map(|kib| kib * 1024)
}

/// CPU seconds (user + system, every thread) this process has used so far; `None` where
/// `/proc/self/stat` is not available. Linux reports them in USER_HZ = 100 ticks a second.
pub(crate) fn cpu_seconds() -> Option<f64> {
    parse_stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in seconds.
pub(super) fn parse_stat_cpu(stat: &str) -> Option<f64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((tick(11)? + tick(12)?) as f64 / 100.0)
}

/// The value in kB of a `/proc/self/status` line such as `VmHWM:   123456 kB`.
pub(super) fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| line.strip_prefix(key)).and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Bytes as MiB for reports.
pub(super) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What the numbers were measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MachineInfo {
    /// CPU model name (`/proc/cpuinfo`), "unknown" elsewhere.
    pub cpu: String,
    /// Logical cores available to this process.
    pub cores: usize,
    /// Threads of the rayon pool the engine uses.
    pub rayon_threads: usize,
    /// Total memory (`/proc/meminfo`), in MiB.
    pub memory_mib: Option<u64>,
    /// GPUs seen by the NVIDIA driver (`/proc/driver/nvidia/gpus`), or "none".
    pub gpu: String,
    /// Operating system and architecture.
    pub os: String,
    /// Whether this binary was built with optimisations.
    pub release_build: bool,
}

impl MachineInfo {
    /// Describes the current machine.
    pub(crate) fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cpu: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".to_owned()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rayon_threads: rayon::current_num_threads(),
            memory_mib: parse_status_kib(&meminfo, "MemTotal:").map(|k| k / 1024),
            gpu: nvidia_gpus().unwrap_or_else(|| "none".to_owned()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            release_build: !cfg!(debug_assertions),
        }
    }

    /// One line for reports.
    pub(crate) fn describe(&self) -> String {
        let memory = self.memory_mib.map(|m| format!(", {:.1} GiB RAM", m as f64 / 1024.0)).unwrap_or_default();
        format!(
            "{} × {} cores (rayon {}){memory}, GPU: {}, {}, {} build",
            self.cpu,
            self.cores,
            self.rayon_threads,
            self.gpu,
            self.os,
            if self.release_build { "release" } else { "debug (timings not meaningful)" }
        )
    }
}

/// The first `model name` of a `/proc/cpuinfo` text.
pub(super) fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn nvidia_gpus() -> Option<String> {
    let dir = std::fs::read_dir("/proc/driver/nvidia/gpus").ok()?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("information")).ok())
        .filter_map(|info| info.lines().find_map(|l| l.strip_prefix("Model:")).map(|m| m.trim().to_owned()))
        .collect();
    names.sort();
    (!names.is_empty()).then(|| names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_summary() {
        let t = Timing::from_seconds(1, vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((t.min_s, t.median_s, t.max_s), (1.0, 2.5, 10.0));
        assert_eq!(t.seconds, vec![3.0, 1.0, 2.0, 10.0]);
        let t = Timing::from_seconds(0, vec![0.002, 0.001, 0.003]);
        assert_eq!(t.median_s, 0.002);
        assert_eq!(t.describe(), "1.00 / 2.00 / 3.00 ms");
        assert_eq!(Timing::from_seconds(0, Vec::new()).median_s, 0.0);
    }

    #[test]
    fn time_reps_runs_warmup_and_reps() {
        let mut calls = 0;
        let t = time_reps(2, 3, || {
            calls += 1;
            calls
        });
        assert_eq!(calls, 5);
        assert_eq!(t.seconds.len(), 3);
        let t = time_reps(0, 0, || ());
        assert_eq!(t.seconds.len(), 1, "at least one timed run");
    }

    #[test]
    fn proc_parsing() {
        let status = "Name:\trecfuse\nVmPeak:\t  2000 kB\nVmHWM:\t   1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM:"), Some(1234));
        assert_eq!(parse_status_kib(status, "VmSwap:"), None);
        let cpuinfo = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: x\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(cpu_model("processor: 0\n"), None);
        assert!(peak_memory_bytes().is_none_or(|b| b > 0));
    }
}
