//! `yamux-perf unified`: the entry point of a container image for libp2p/unified-testing's perf
//! harness (perf/run.sh, perf/lib/run-single-test.sh): one image, both roles, configured by
//! environment variables ([`UnifiedConfig`]), the listener's address exchanged through Redis.
//!
//! - The listener listens on `LISTENER_IP` (default 0.0.0.0) over `TRANSPORT`, accepting
//!   `SECURE_CHANNEL`, SETs `<TEST_KEY>_listener_multiaddr` to its full multiaddr with `/p2p/`
//!   (the address of the interface on the route to Redis when it listens on 0.0.0.0, so never a
//!   loopback address unless Redis itself is on loopback) and serves `/perf/1.0.0` until killed.
//! - The dialer polls that key (bounded), dials once, and runs the upload iterations
//!   (`UPLOAD_BYTES` up), the download iterations (`DOWNLOAD_BYTES` down) and the latency
//!   iterations (1 byte each way) one stream after the other on that connection, each timed from
//!   opening its stream to its last byte, then prints the YAML of [`stats::report`] on stdout.
//!   Logs go to stderr.

pub mod config;
pub mod stats;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;

use crate::perf::client::PerfConnection;
use crate::perf::server::{self, ServerConfig};
use crate::perf::{Payload, PerfError, Request};
use crate::transport::{Addr, AddrError, AddrSpec, Listener};
use crate::upgrade::ConnectionConfig;

pub use config::{Plan, Role, UnifiedConfig, listener_key};
pub use stats::Stats;

/// How often the dialer asks Redis for the listener's address.
const POLL: Duration = Duration::from_millis(250);
/// Dial attempts, `POLL` apart (the listener listens before it publishes, so one should do).
const DIAL_ATTEMPTS: u32 = 3;

/// Why the image could not do its part.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnifiedError {
    /// A required variable is not set.
    #[error("{0} is not set (unified-testing's perf harness sets it)")]
    Missing(&'static str),
    /// A variable has a value we cannot read.
    #[error("{var}={value:?}: expected {expected}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What it should look like.
        expected: &'static str,
    },
    /// A matrix cell this image does not serve.
    #[error("{var}={value}: not supported, {reason}")]
    Unsupported {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is supported.
        reason: &'static str,
    },
    /// Redis did not answer or refused a command.
    #[error("redis at {addr}")]
    Redis {
        /// `REDIS_ADDR`.
        addr: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// The listener did not publish its address in time.
    #[error("no listener address under {key} in Redis after {waited:?}")]
    NoListener {
        /// The key polled.
        key: String,
        /// How long the dialer waited.
        waited: Duration,
    },
    /// The published address is not one we can dial.
    #[error("listener address {value:?} under {key}: {reason}")]
    BadListenerAddress {
        /// The key read.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Finding the address to publish, or listening, failed.
    #[error("listener")]
    Io(#[from] std::io::Error),
    /// A perf iteration failed.
    #[error("{what} iteration {iteration}")]
    Perf {
        /// upload, download or latency.
        what: &'static str,
        /// 1-based.
        iteration: u32,
        /// Why.
        #[source]
        source: PerfError,
    },
    /// A measurement gave no usable value (a zero duration).
    #[error("{0}: no finite sample")]
    NoSamples(&'static str),
    /// Dialing the listener failed.
    #[error("dialing the listener at {addr} ({attempts} attempts)")]
    Dial {
        /// The address dialled.
        addr: String,
        /// How many times.
        attempts: u32,
        /// The last failure.
        #[source]
        source: PerfError,
    },
}

/// A Redis connection, retried until `wait` has passed (the Redis container may start after us).
async fn redis_connection(
    addr: &str,
    wait: Duration,
) -> Result<redis::aio::MultiplexedConnection, UnifiedError> {
    let error = |source| UnifiedError::Redis {
        addr: addr.to_string(),
        source,
    };
    let client = redis::Client::open(format!("redis://{addr}")).map_err(error)?;
    let start = Instant::now();
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(connection) => return Ok(connection),
            Err(e) if start.elapsed() >= wait => return Err(error(e)),
            Err(e) => {
                tracing::debug!("redis at {addr} not ready: {e}");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// The local address on the route to `redis_addr` (no packet is sent: a UDP socket is only
/// connected), the one the dialer can reach us at when we listen on every interface.
fn address_towards(redis_addr: &str) -> std::io::Result<IpAddr> {
    let target = redis_addr.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{redis_addr} resolves to no address"),
        )
    })?;
    let any: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(target)?;
    Ok(socket.local_addr()?.ip())
}

/// The listener: listens, publishes its address, serves until `shutdown` completes.
pub async fn listen(
    config: &UnifiedConfig,
    ip: IpAddr,
    mut connection: ConnectionConfig,
    redis_wait: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), UnifiedError> {
    connection.security = config.security;
    connection.accept = vec![config.security];
    connection.prepare();
    let listener = Listener::bind(
        &Addr::new(SocketAddr::new(ip, 0), config.transport),
        &connection.tcp,
    )?;
    let port = listener.local_addr()?.socket.port();
    let advertised = if ip.is_unspecified() {
        address_towards(&config.redis_addr)?
    } else {
        ip
    };
    let peer = connection.identity.public().to_peer_id();
    let full = Addr::new(SocketAddr::new(advertised, port), config.transport).with_peer(peer);
    let key = listener_key(&config.test_key);
    let mut redis = redis_connection(&config.redis_addr, redis_wait).await?;
    let () = redis
        .set(&key, full.to_string())
        .await
        .map_err(|source| UnifiedError::Redis {
            addr: config.redis_addr.clone(),
            source,
        })?;
    tracing::info!("listening on {full}, published under {key}");
    let server = Arc::new(ServerConfig {
        connection,
        max_download: u64::MAX,
        payload: Payload::Zeros,
        max_connections: server::DEFAULT_MAX_CONNECTIONS,
    });
    server::run(vec![listener], server, shutdown).await?;
    Ok(())
}

/// The listener's published address, polled for at most `wait`.
async fn listener_address(config: &UnifiedConfig, wait: Duration) -> Result<Addr, UnifiedError> {
    let key = listener_key(&config.test_key);
    let start = Instant::now();
    let mut redis = redis_connection(&config.redis_addr, wait).await?;
    let value = loop {
        let value: Option<String> =
            redis
                .get(&key)
                .await
                .map_err(|source| UnifiedError::Redis {
                    addr: config.redis_addr.clone(),
                    source,
                })?;
        match value {
            Some(value) => break value,
            None if start.elapsed() >= wait => {
                return Err(UnifiedError::NoListener {
                    key,
                    waited: start.elapsed(),
                });
            }
            None => tokio::time::sleep(POLL).await,
        }
    };
    let bad = |reason: String| UnifiedError::BadListenerAddress {
        key: key.clone(),
        value: value.clone(),
        reason,
    };
    let spec: AddrSpec = value.parse().map_err(|e: AddrError| bad(e.to_string()))?;
    let addr = spec.resolve().await.map_err(|e| bad(e.to_string()))?;
    if addr.transport != config.transport {
        return Err(bad(format!(
            "a {} address, but TRANSPORT is {}",
            addr.transport, config.transport
        )));
    }
    Ok(addr)
}

/// Gbit/s of `bytes` in `elapsed`.
fn gbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e9
}

/// The dialer: waits for the listener's address, dials, measures; returns the YAML.
pub async fn dial(
    config: &UnifiedConfig,
    plan: &Plan,
    mut connection: ConnectionConfig,
    wait: Duration,
) -> Result<String, UnifiedError> {
    connection.security = config.security;
    connection.prepare();
    if let Some(duration) = plan.duration {
        tracing::info!(
            "DURATION={duration}: iterations move byte counts, as the harness's reference images do"
        );
    }
    let server = listener_address(config, wait).await?;
    tracing::info!("dialing {server}");
    let mut attempt = 0;
    let perf = loop {
        attempt += 1;
        match PerfConnection::dial(&server, &connection).await {
            Ok(perf) => break perf,
            Err(source) if attempt >= DIAL_ATTEMPTS => {
                return Err(UnifiedError::Dial {
                    addr: server.to_string(),
                    attempts: attempt,
                    source,
                });
            }
            Err(e) => {
                tracing::info!("dial attempt {attempt} failed: {}", crate::error_chain(&e));
                tokio::time::sleep(POLL).await;
            }
        }
    };
    let (peer, cipher) = perf.peer();
    tracing::info!(%peer, cipher = cipher.unwrap_or("none"), "connected");
    let measure = |what: &'static str, upload: u64, download: u64, iterations: u32| {
        let perf = &perf;
        async move {
            let request = Request {
                upload,
                download,
                payload: Payload::Zeros,
                lazy: true,
                early_fin: false,
            };
            let mut samples = Vec::with_capacity(iterations as usize);
            for iteration in 1..=iterations {
                let (_, elapsed) =
                    perf.run(request)
                        .await
                        .map_err(|source| UnifiedError::Perf {
                            what,
                            iteration,
                            source,
                        })?;
                let value = if what == "latency" {
                    elapsed.as_secs_f64() * 1e3
                } else {
                    gbps(upload.max(download), elapsed)
                };
                tracing::debug!("{what} {iteration}/{iterations}: {value:.3}");
                samples.push(value);
            }
            tracing::info!("{what}: {iterations} iterations done");
            Stats::of(samples).ok_or(UnifiedError::NoSamples(what))
        }
    };
    let upload = measure("upload", plan.upload_bytes, 0, plan.upload_iterations).await?;
    let download = measure("download", 0, plan.download_bytes, plan.download_iterations).await?;
    let latency = measure("latency", 1, 1, plan.latency_iterations).await?;
    perf.close().await;
    Ok(stats::report(&upload, &download, &latency))
}
