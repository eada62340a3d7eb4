//! CPU time and peak memory of a process, from Linux's `/proc`.
//!
//! Kept off the measured path: read once before and once after a run. Elsewhere than Linux the
//! readings are `None`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Clock ticks per second of `utime`/`stime` (`USER_HZ`, 100 on every mainstream Linux build;
/// `sysconf` would need unsafe code).
const TICKS_PER_SECOND: f64 = 100.0;

/// A process's resource use so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessUsage {
    /// User CPU seconds.
    pub cpu_user_s: f64,
    /// System CPU seconds.
    pub cpu_sys_s: f64,
    /// Peak resident set size in bytes (`VmHWM`).
    pub peak_rss_bytes: u64,
}

impl ProcessUsage {
    /// CPU used between two readings of the same process; the peak is the later one.
    pub fn since(&self, earlier: &ProcessUsage) -> ProcessUsage {
        ProcessUsage {
            cpu_user_s: self.cpu_user_s - earlier.cpu_user_s,
            cpu_sys_s: self.cpu_sys_s - earlier.cpu_sys_s,
            peak_rss_bytes: self.peak_rss_bytes,
        }
    }
}

/// This process's resident memory now (`VmRSS`), bytes; `None` elsewhere than Linux.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmRSS:").map(|kib| kib * 1024)
}

/// A `NAME: N kB` line of `/proc/*/status`, in KiB.
fn kib_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Reads the usage of process `pid`, or of this process with `None`.
pub fn read(pid: Option<u32>) -> Option<ProcessUsage> {
    let dir = match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}")),
        None => PathBuf::from("/proc/self"),
    };
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: skip past it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let peak_kib = kib_field(&status, "VmHWM:")?;
    Some(ProcessUsage {
        cpu_user_s: utime / TICKS_PER_SECOND,
        cpu_sys_s: stime / TICKS_PER_SECOND,
        peak_rss_bytes: peak_kib * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    /// On-CPU time of `pid`'s main thread in seconds, from `/proc/<pid>/schedstat`: the
    /// scheduler's own nanosecond count, a source independent of the tick counts `read` uses.
    fn schedstat_s(pid: u32) -> f64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
        let ns: u64 = text.split_whitespace().next().unwrap().parse().unwrap();
        ns as f64 / 1e9
    }

    fn state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.trim().chars().next()
    }

    /// Kills the child when the test ends, passing or not.
    struct Spinner(Child);

    impl Drop for Spinner {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A single-threaded child spins until the scheduler has run it for `BURN_S`, is stopped,
    /// and its reading must match the scheduler's count to within tick rounding.
    #[test]
    fn measures_the_cpu_a_child_burned() {
        const BURN_S: f64 = 0.3;
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let spinner = Spinner(child);
        let pid = spinner.0.id();
        let start = Instant::now();
        while schedstat_s(pid) < BURN_S {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the child never got {BURN_S} s of CPU"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let stopped = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(stopped.success());
        while state(pid) != Some('T') {
            assert!(start.elapsed() < Duration::from_secs(130), "SIGSTOP");
            std::thread::sleep(Duration::from_millis(5));
        }
        let burned = schedstat_s(pid);
        let usage = read(Some(pid)).expect("linux /proc");
        let cpu = usage.cpu_user_s + usage.cpu_sys_s;
        // One tick of rounding in each of utime and stime, and 5% for the kernel's scaling.
        assert!(
            (cpu - burned).abs() <= 2.0 / TICKS_PER_SECOND + burned * 0.05,
            "read {cpu} s of CPU, the scheduler counted {burned} s"
        );
        assert!(
            usage.peak_rss_bytes > 64 << 10 && usage.peak_rss_bytes < 64 << 20,
            "a shell loop's peak RSS: {} bytes",
            usage.peak_rss_bytes
        );
        drop(spinner);
        assert!(read(Some(u32::MAX)).is_none(), "no such process");
    }

    /// Peak RSS covers a buffer this process wrote to every page of.
    #[test]
    fn peak_rss_covers_a_touched_buffer() {
        const BUFFER: usize = 64 << 20;
        let buffer = std::hint::black_box(vec![1u8; BUFFER]);
        let usage = read(None).expect("linux /proc");
        assert!(
            usage.peak_rss_bytes >= BUFFER as u64,
            "peak RSS {} bytes with a {BUFFER}-byte buffer resident",
            usage.peak_rss_bytes
        );
        drop(buffer);
    }

    #[test]
    fn since_subtracts_cpu_and_keeps_the_later_peak() {
        let earlier = ProcessUsage {
            cpu_user_s: 1.0,
            cpu_sys_s: 0.5,
            peak_rss_bytes: 10,
        };
        let later = ProcessUsage {
            cpu_user_s: 3.0,
            cpu_sys_s: 0.75,
            peak_rss_bytes: 20,
        };
        assert_eq!(
            later.since(&earlier),
            ProcessUsage {
                cpu_user_s: 2.0,
                cpu_sys_s: 0.25,
                peak_rss_bytes: 20
            }
        );
    }
}
