//! The environment contract of libp2p/unified-testing's perf images (perf/lib/run-single-test.sh
//! and its reference images), parsed and checked before anything starts.

use std::net::IpAddr;

use crate::security::Security;
use crate::transport::TransportKind;

use super::UnifiedError;

/// What one container does.
#[derive(Debug, Clone, PartialEq)]
pub struct UnifiedConfig {
    /// Listener or dialer (`IS_DIALER`).
    pub role: Role,
    /// `REDIS_ADDR`, `host:port`.
    pub redis_addr: String,
    /// `TEST_KEY`: 8 hex digits that namespace the Redis keys.
    pub test_key: String,
    /// `TRANSPORT`.
    pub transport: TransportKind,
    /// `SECURE_CHANNEL`.
    pub security: Security,
    /// `DEBUG`: debug logging on stderr.
    pub debug: bool,
}

/// The role and its own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Listens on `LISTENER_IP` (default 0.0.0.0), publishes its address, serves until killed.
    Listener {
        /// The IP to listen on.
        ip: IpAddr,
    },
    /// Dials the published address and runs the measurements.
    Dialer(Plan),
}

/// The dialer's measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `UPLOAD_BYTES` (default 1 GiB) per upload iteration.
    pub upload_bytes: u64,
    /// `DOWNLOAD_BYTES` (default 1 GiB) per download iteration.
    pub download_bytes: u64,
    /// `UPLOAD_ITERATIONS` (default 10).
    pub upload_iterations: u32,
    /// `DOWNLOAD_ITERATIONS` (default 10).
    pub download_iterations: u32,
    /// `LATENCY_ITERATIONS` (default 100): 1 byte each way.
    pub latency_iterations: u32,
    /// `DURATION` (the harness's `durationPerIteration`), seconds: accepted and logged; the
    /// iterations move byte counts, as the harness's reference images do.
    pub duration: Option<f64>,
}

/// The Redis key under which the listener publishes its multiaddr.
pub fn listener_key(test_key: &str) -> String {
    format!("{test_key}_listener_multiaddr")
}

const GIB: u64 = 1 << 30;

/// The choice `value` names among `choices`, or the refusal of a cell we do not serve.
fn choice<T: Copy>(
    name: &'static str,
    value: String,
    choices: &[(&str, T)],
    reason: &'static str,
) -> Result<T, UnifiedError> {
    match choices.iter().find(|(text, _)| *text == value) {
        Some((_, choice)) => Ok(*choice),
        None => Err(UnifiedError::Unsupported {
            var: name,
            value,
            reason,
        }),
    }
}

impl UnifiedConfig {
    /// Reads the contract's variables through `var` (the process environment in the binary).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, UnifiedError> {
        let required = |name: &'static str| var(name).ok_or(UnifiedError::Missing(name));
        let invalid =
            |name: &'static str, value: &str, expected: &'static str| UnifiedError::Invalid {
                var: name,
                value: value.to_string(),
                expected,
            };
        let boolean = |name: &'static str, value: &str| match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(invalid(name, value, "true or false")),
        };
        let is_dialer = boolean("IS_DIALER", &required("IS_DIALER")?)?;
        let debug = match var("DEBUG") {
            Some(v) if !v.is_empty() => boolean("DEBUG", &v)?,
            _ => false,
        };
        let redis_addr = required("REDIS_ADDR")?;
        match redis_addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {}
            _ => {
                return Err(invalid(
                    "REDIS_ADDR",
                    &redis_addr,
                    "host:port, e.g. perf-redis:6379",
                ));
            }
        }
        let test_key = required("TEST_KEY")?;
        if test_key.len() != 8 || !test_key.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid(
                "TEST_KEY",
                &test_key,
                "8 hex digits, e.g. a1b2c3d4",
            ));
        }
        let transport = choice(
            "TRANSPORT",
            required("TRANSPORT")?,
            &[("tcp", TransportKind::Tcp), ("ws", TransportKind::Ws)],
            "this image serves tcp and ws",
        )?;
        let security = choice(
            "SECURE_CHANNEL",
            required("SECURE_CHANNEL")?,
            &[("noise", Security::Noise), ("tls", Security::Tls)],
            "this image serves noise and tls",
        )?;
        let muxer = required("MUXER")?;
        if muxer != "yamux" {
            return Err(UnifiedError::Unsupported {
                var: "MUXER",
                value: muxer,
                reason: "this image serves yamux",
            });
        }
        let role = if is_dialer {
            let count = |name: &'static str, default: u64, min: u64| match var(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ if min == 0 => Err(invalid(name, &v, "a byte count")),
                    _ => Err(invalid(name, &v, "a count from 1 to 4294967295")),
                },
            };
            let iterations = |name: &'static str, default: u64| {
                count(name, default, 1).and_then(|n| {
                    u32::try_from(n)
                        .map_err(|_| invalid(name, &n.to_string(), "at most 4294967295"))
                })
            };
            let duration = match var("DURATION") {
                None => None,
                Some(v) => match v.parse::<f64>() {
                    Ok(d) if d.is_finite() && d >= 0.0 => Some(d),
                    _ => return Err(invalid("DURATION", &v, "seconds, e.g. 20")),
                },
            };
            Role::Dialer(Plan {
                upload_bytes: count("UPLOAD_BYTES", GIB, 0)?,
                download_bytes: count("DOWNLOAD_BYTES", GIB, 0)?,
                upload_iterations: iterations("UPLOAD_ITERATIONS", 10)?,
                download_iterations: iterations("DOWNLOAD_ITERATIONS", 10)?,
                latency_iterations: iterations("LATENCY_ITERATIONS", 100)?,
                duration,
            })
        } else {
            let ip = var("LISTENER_IP").unwrap_or_else(|| "0.0.0.0".into());
            Role::Listener {
                ip: ip
                    .parse()
                    .map_err(|_| invalid("LISTENER_IP", &ip, "an IP address, e.g. 0.0.0.0"))?,
            }
        };
        Ok(Self {
            role,
            redis_addr,
            test_key,
            transport,
            security,
            debug,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<UnifiedConfig, UnifiedError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        UnifiedConfig::from_env(|k| map.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("REDIS_ADDR", "perf-redis:6379"),
        ("TEST_KEY", "a1b2c3d4"),
        ("TRANSPORT", "tcp"),
        ("SECURE_CHANNEL", "noise"),
        ("MUXER", "yamux"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = BASE.to_vec();
        for (k, val) in extra {
            v.retain(|(key, _)| key != k);
            v.push((k, val));
        }
        v
    }

    #[test]
    fn a_dialer_takes_the_defaults_of_the_reference_images() {
        let c = env(&with(&[("IS_DIALER", "true")])).unwrap();
        assert_eq!(
            c.role,
            Role::Dialer(Plan {
                upload_bytes: GIB,
                download_bytes: GIB,
                upload_iterations: 10,
                download_iterations: 10,
                latency_iterations: 100,
                duration: None,
            })
        );
        assert_eq!(
            (c.transport, c.security, c.debug),
            (TransportKind::Tcp, Security::Noise, false)
        );
        let c = env(&with(&[
            ("IS_DIALER", "true"),
            ("UPLOAD_BYTES", "1048576"),
            ("DOWNLOAD_ITERATIONS", "3"),
            ("DURATION", "20"),
            ("TRANSPORT", "ws"),
            ("SECURE_CHANNEL", "tls"),
            ("DEBUG", "true"),
        ]))
        .unwrap();
        let Role::Dialer(plan) = &c.role else {
            panic!()
        };
        assert_eq!(
            (plan.upload_bytes, plan.download_iterations, plan.duration),
            (1 << 20, 3, Some(20.0))
        );
        assert_eq!(
            (c.transport, c.security, c.debug),
            (TransportKind::Ws, Security::Tls, true)
        );
    }

    #[test]
    fn a_listener_listens_on_listener_ip() {
        let c = env(&with(&[("IS_DIALER", "false")])).unwrap();
        assert_eq!(
            c.role,
            Role::Listener {
                ip: "0.0.0.0".parse().unwrap()
            }
        );
        let c = env(&with(&[
            ("IS_DIALER", "false"),
            ("LISTENER_IP", "10.0.0.2"),
        ]))
        .unwrap();
        assert_eq!(
            c.role,
            Role::Listener {
                ip: "10.0.0.2".parse().unwrap()
            }
        );
        assert_eq!(listener_key("a1b2c3d4"), "a1b2c3d4_listener_multiaddr");
    }

    #[test]
    fn missing_bad_and_unsupported_values_are_named() {
        let err =
            |pairs: &[(&'static str, &'static str)]| env(&with(pairs)).unwrap_err().to_string();
        assert!(
            env(BASE)
                .unwrap_err()
                .to_string()
                .contains("IS_DIALER is not set")
        );
        assert!(err(&[("IS_DIALER", "yes")]).contains("IS_DIALER=\"yes\": expected true or false"));
        assert!(err(&[("IS_DIALER", "true"), ("TEST_KEY", "xyz")]).contains("TEST_KEY"));
        assert!(err(&[("IS_DIALER", "true"), ("REDIS_ADDR", "redis")]).contains("host:port"));
        assert!(
            err(&[("IS_DIALER", "true"), ("UPLOAD_ITERATIONS", "0")]).contains("UPLOAD_ITERATIONS")
        );
        assert!(err(&[("IS_DIALER", "true"), ("DOWNLOAD_BYTES", "1GiB")]).contains("a byte count"));
        assert!(err(&[("IS_DIALER", "false"), ("LISTENER_IP", "any")]).contains("LISTENER_IP"));
        let quic = err(&[("IS_DIALER", "true"), ("TRANSPORT", "quic-v1")]);
        assert!(
            quic.contains("TRANSPORT=quic-v1") && quic.contains("tcp and ws"),
            "{quic}"
        );
        assert!(err(&[("IS_DIALER", "true"), ("MUXER", "mplex")]).contains("serves yamux"));
        assert!(
            err(&[("IS_DIALER", "true"), ("SECURE_CHANNEL", "null")]).contains("noise and tls")
        );
    }
}
