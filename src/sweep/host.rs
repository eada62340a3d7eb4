//! Where a result comes from: the machine (from /proc) and the host's socket-buffer caps. The
//! git revision of the binary is [`crate::build_info::git_revision`].
//!
//! Every field is optional: on a machine without /proc the results are still written, just with
//! less context.

use crate::results::Machine;

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Limits of this host that change what a case's settings mean, read once and passed to the
/// sweep's expansion (which stays a function of the file and these facts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// `net.core.wmem_max`: Linux caps SO_SNDBUF requests there.
    pub wmem_max: Option<u64>,
    /// `net.core.rmem_max`: Linux caps SO_RCVBUF requests there.
    pub rmem_max: Option<u64>,
}

impl HostFacts {
    /// The facts of this host (each `None` where /proc does not say).
    pub fn read() -> Self {
        let cap = |name: &str| {
            read_trimmed(&format!("/proc/sys/net/core/{name}")).and_then(|v| v.parse().ok())
        };
        Self {
            wmem_max: cap("wmem_max"),
            rmem_max: cap("rmem_max"),
        }
    }
}

/// The machine this process runs on.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kib| kib * 1024);
    let load_average = read_trimmed("/proc/loadavg")
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()));
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        hostname: read_trimmed("/proc/sys/kernel/hostname"),
        memory_bytes,
        load_average,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let m = machine();
        assert!(m.cores >= 1);
        if cfg!(target_os = "linux") {
            assert!(m.kernel.is_some());
            assert!(m.memory_bytes.unwrap_or(0) > 1 << 20);
        }
    }
}
