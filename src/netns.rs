//! Test hosts in network namespaces: a server host and a client host, each its own Linux network
//! namespace, joined by a veth pair, with an optional `tbf` rate limit on both ends (the sweep's
//! `hosts = "netns"`). TCP then runs over a real path (a 1500-byte MTU, a qdisc, two network
//! stacks) instead of one loopback socket pair, and every process is started inside its host with
//! `ip netns exec` (which execs the command, so its pid, CPU time and RSS are its own).
//!
//! Built with iproute2 (`ip netns`, `ip link … type veth`, `tc qdisc … tbf`), which needs root
//! (CAP_SYS_ADMIN and CAP_NET_ADMIN); without it [`Testbed::create`] says so. The namespaces are
//! named `ypf-<pid>-<n>-server|client` and deleted when the [`Testbed`] is dropped (the veth pair
//! goes with them); ones left behind by a process that no longer runs are deleted on the next
//! create.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::results::{TbfInfo, TestbedHost, TestbedInfo};

/// The server host's address on the veth pair.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The client host's address on the veth pair.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// The veth pair's MTU (Ethernet's, as on a real path).
pub const MTU: u32 = 1500;
/// The smallest token bucket: a TSO/GSO segment of 64 KiB must fit, twice over.
const MIN_BURST: u64 = 128 << 10;

const PREFIX: &str = "ypf-";

/// One of the two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Where the server runs.
    Server,
    /// Where the client (and its relay) runs.
    Client,
}

/// Why the hosts could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetnsError {
    /// Not root.
    #[error(
        "test hosts in network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); this process \
         runs as uid {0}: run it as root, or use hosts = \"loopback\" (without --netns)"
    )]
    NotRoot(u32),
    /// iproute2 could not be run.
    #[error("running `{command}` (iproute2's ip and tc are needed): {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A step failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// The link between the two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkShape {
    /// `tbf` rate on each end (each direction), bits per second; `None` for the veth's own speed.
    pub rate_bits_per_second: Option<u64>,
    /// Bytes `tbf` queues waiting for tokens (its `limit`).
    pub queue_bytes: u64,
}

/// Two hosts and the link between them; deleted when dropped.
#[derive(Debug)]
pub struct Testbed {
    info: TestbedInfo,
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn run(args: &[&str]) -> Result<String, NetnsError> {
    let command = args.join(" ");
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|source| NetnsError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(NetnsError::Failed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The `tbf` bucket for a rate: 4 ms of it, and at least 128 KiB (a 64 KiB segment, twice).
pub fn burst_bytes(rate_bits_per_second: u64) -> u64 {
    (rate_bits_per_second / 8 / 250).max(MIN_BURST)
}

/// Deletes namespaces of ours whose process is gone (a sweep killed with SIGKILL).
fn delete_stale() {
    let Ok(list) = run(&["ip", "netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = run(&["ip", "netns", "delete", name]);
        }
    }
}

impl Testbed {
    /// Makes the two hosts and the link between them.
    pub fn create(shape: &LinkShape) -> Result<Self, NetnsError> {
        if let Some(uid) = effective_uid().filter(|&uid| uid != 0) {
            return Err(NetnsError::NotRoot(uid));
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        delete_stale();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let name = |side: &str| format!("{PREFIX}{pid}-{n}-{side}");
        let host = |side: &str, ip: Ipv4Addr| TestbedHost {
            namespace: name(side),
            address: ip.to_string(),
            interface: format!("veth-{side}"),
        };
        let tbf = shape.rate_bits_per_second.map(|rate| TbfInfo {
            rate_bits_per_second: rate,
            burst_bytes: burst_bytes(rate),
            limit_bytes: shape.queue_bytes,
        });
        let testbed = Testbed {
            info: TestbedInfo {
                server: host("server", SERVER_IP),
                client: host("client", CLIENT_IP),
                mtu: MTU,
                tbf,
            },
        };
        // From here on, a failure drops the testbed, which deletes what was made.
        testbed.build()?;
        Ok(testbed)
    }

    fn build(&self) -> Result<(), NetnsError> {
        let (s, c) = (&self.info.server, &self.info.client);
        for host in [s, c] {
            run(&["ip", "netns", "add", &host.namespace])?;
        }
        let mtu = MTU.to_string();
        run(&[
            "ip",
            "link",
            "add",
            &s.interface,
            "mtu",
            &mtu,
            "netns",
            &s.namespace,
            "type",
            "veth",
            "peer",
            "name",
            &c.interface,
            "mtu",
            &mtu,
            "netns",
            &c.namespace,
        ])?;
        for host in [s, c] {
            let ns = host.namespace.as_str();
            let cidr = format!("{}/30", host.address);
            run(&["ip", "-n", ns, "addr", "add", &cidr, "dev", &host.interface])?;
            run(&["ip", "-n", ns, "link", "set", &host.interface, "up"])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
            if let Some(tbf) = &self.info.tbf {
                let rate = format!("{}bit", tbf.rate_bits_per_second);
                let burst = tbf.burst_bytes.to_string();
                let limit = tbf.limit_bytes.max(tbf.burst_bytes).to_string();
                run(&[
                    "tc",
                    "-n",
                    ns,
                    "qdisc",
                    "add",
                    "dev",
                    &host.interface,
                    "root",
                    "tbf",
                    "rate",
                    &rate,
                    "burst",
                    &burst,
                    "limit",
                    &limit,
                ])?;
            }
        }
        Ok(())
    }

    fn host(&self, side: Side) -> &TestbedHost {
        match side {
            Side::Server => &self.info.server,
            Side::Client => &self.info.client,
        }
    }

    /// The address of a host on the link.
    pub fn ip(&self, side: Side) -> IpAddr {
        IpAddr::V4(match side {
            Side::Server => SERVER_IP,
            Side::Client => CLIENT_IP,
        })
    }

    /// `command` run inside a host: `ip netns exec <namespace> command…`.
    pub fn wrap(&self, side: Side, command: &[String]) -> Vec<String> {
        let mut wrapped = vec![
            "ip".to_string(),
            "netns".into(),
            "exec".into(),
            self.host(side).namespace.clone(),
        ];
        wrapped.extend(command.iter().cloned());
        wrapped
    }

    /// What a result records about the hosts.
    pub fn info(&self) -> &TestbedInfo {
        &self.info
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for host in [&self.info.server, &self.info.client] {
            if let Err(e) = run(&["ip", "netns", "delete", &host.namespace]) {
                // Absent already (a failed create) is fine; anything else is worth a line.
                tracing::debug!("deleting {}: {e}", host.namespace);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_4_ms_and_at_least_two_segments() {
        assert_eq!(burst_bytes(100_000_000), MIN_BURST);
        assert_eq!(burst_bytes(10_000_000_000), 5_000_000);
    }

    #[test]
    fn commands_run_inside_their_host() {
        let testbed = Testbed {
            info: TestbedInfo {
                server: TestbedHost {
                    namespace: "ypf-0-0-server".into(),
                    address: SERVER_IP.to_string(),
                    interface: "veth-server".into(),
                },
                client: TestbedHost {
                    namespace: "ypf-0-0-client".into(),
                    address: CLIENT_IP.to_string(),
                    interface: "veth-client".into(),
                },
                mtu: MTU,
                tbf: None,
            },
        };
        let wrapped = testbed.wrap(Side::Client, &["yamux-perf".into(), "client".into()]);
        assert_eq!(
            wrapped,
            [
                "ip",
                "netns",
                "exec",
                "ypf-0-0-client",
                "yamux-perf",
                "client"
            ]
        );
        assert_eq!(testbed.ip(Side::Server).to_string(), "10.77.0.1");
        // Dropping it deletes namespaces that do not exist: no panic.
    }
}
