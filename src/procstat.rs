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
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(ProcessUsage {
        cpu_user_s: utime / TICKS_PER_SECOND,
        cpu_sys_s: stime / TICKS_PER_SECOND,
        peak_rss_bytes: peak_kib * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let before = read(None).expect("linux /proc");
        // Burn a little CPU so the reading can move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = read(None).unwrap();
        assert!(
            after.peak_rss_bytes > 1 << 20,
            "a test binary uses more than 1 MiB"
        );
        let used = after.since(&before);
        assert!(used.cpu_user_s >= 0.0 && used.cpu_sys_s >= 0.0);
        assert!(read(Some(u32::MAX)).is_none(), "no such process");
    }
}
