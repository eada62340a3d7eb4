//! End to end on loopback through the library: our client against our server, with the payload
//! checked byte for byte.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use yamux_perf::identity;
use yamux_perf::noise::NoiseError;
use yamux_perf::perf::client::{self, ClientConfig};
use yamux_perf::perf::server::{self, ServerConfig};
use yamux_perf::perf::{Payload, PerfError, Progress, Request};
use yamux_perf::transport::{Addr, Listener, TcpConfig, TransportKind};
use yamux_perf::upgrade::{ConnectionConfig, UpgradeError};

const MIB: u64 = 1 << 20;

/// A server on 127.0.0.1:0 with the given limit; dropping the sender stops it.
async fn start_server(max_download: u64) -> (Addr, oneshot::Sender<()>) {
    let connection = ConnectionConfig::new(identity::generate());
    let local = Addr::new("127.0.0.1:0".parse().unwrap(), TransportKind::Tcp);
    let listener = Listener::bind(&local, &TcpConfig::default()).unwrap();
    let addr = listener
        .local_addr()
        .unwrap()
        .with_peer(connection.identity.public().to_peer_id());
    let config = Arc::new(ServerConfig {
        connection,
        max_download,
        payload: Payload::Pattern,
        max_connections: server::DEFAULT_MAX_CONNECTIONS,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::run(vec![listener], config, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

fn client_config(server: Addr, upload: u64, download: u64) -> ClientConfig {
    ClientConfig {
        server,
        request: Request {
            upload,
            download,
            payload: Payload::Pattern,
            lazy: true,
            early_fin: false,
        },
        streams: 1,
        connections: 1,
        stagger: std::time::Duration::ZERO,
        short_flows: None,
        connection: ConnectionConfig::new(identity::generate()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_64_mib_each_way_with_payload_checked() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let progress = Arc::new(Progress::default());
    let report = client::run(&client_config(addr, 64 * MIB, 64 * MIB), progress.clone())
        .await
        .unwrap();
    assert_eq!(report.stream.upload_bytes, 64 * MIB);
    assert_eq!(report.stream.download_bytes, 64 * MIB);
    assert_eq!(
        progress
            .downloaded
            .load(std::sync::atomic::Ordering::Relaxed),
        64 * MIB
    );
    assert_eq!(Some(report.remote_peer), addr.peer);
    assert!(report.rtt.is_some(), "the server answered our RTT ping");
    assert!(report.stats.data_bytes_sent >= 64 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_concurrent_clients() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let runs = (0..6u64).map(|i| {
        let config = client_config(addr, (i + 1) * MIB, (6 - i) * MIB);
        tokio::spawn(async move { client::run(&config, Arc::default()).await.map(|r| (i, r)) })
    });
    for run in runs.collect::<Vec<_>>() {
        let (i, report) = run.await.unwrap().unwrap();
        assert_eq!(report.stream.upload_bytes, (i + 1) * MIB);
        assert_eq!(report.stream.download_bytes, (6 - i) * MIB);
    }
}

#[tokio::test]
async fn zero_byte_run_completes() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let report = client::run(&client_config(addr, 0, 0), Arc::default())
        .await
        .unwrap();
    assert_eq!(
        (report.stream.upload_bytes, report.stream.download_bytes),
        (0, 0)
    );
}

#[tokio::test]
async fn wrong_peer_id_is_rejected() {
    let (mut addr, _stop) = start_server(u64::MAX).await;
    addr.peer = Some(identity::keypair_from_seed(0).public().to_peer_id());
    let err = client::run(&client_config(addr, MIB, MIB), Arc::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PerfError::Upgrade(UpgradeError::Noise(NoiseError::PeerIdMismatch { .. }))
        ),
        "{err}"
    );
}

#[tokio::test]
async fn download_above_the_server_limit_fails_cleanly() {
    let (addr, _stop) = start_server(MIB).await;
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        client::run(&client_config(addr, 0, 2 * MIB), Arc::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(err, PerfError::Io(_)),
        "the server reset the stream: {err}"
    );
}

#[tokio::test]
async fn dialing_a_closed_port_fails() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = Addr::new(listener.local_addr().unwrap(), TransportKind::Tcp);
    drop(listener);
    let err = client::run(&client_config(addr, MIB, MIB), Arc::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PerfError::Upgrade(UpgradeError::Io(_))),
        "{err}"
    );
}

/// go opens identify on every connection and waits for the answer before its perf stream; an
/// unknown protocol must get `na` at once and leave the connection usable.
#[tokio::test]
async fn unknown_protocols_get_na_and_the_connection_stays_usable() {
    use yamux_perf::bufio::BufferedIo;
    use yamux_perf::multistream::{self, NegotiationError};

    let (addr, _stop) = start_server(u64::MAX).await;
    let config = ConnectionConfig::new(identity::generate());
    let established = yamux_perf::upgrade::dial(&addr, &config).await.unwrap();
    let stream = established.connection.open_stream().await.unwrap();
    let mut io = BufferedIo::new(stream);
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        multistream::dialer_select(&mut io, "/ipfs/id/1.0.0"),
    )
    .await
    .expect("answered promptly");
    assert!(
        matches!(answer, Err(NegotiationError::NotAvailable(ref p)) if p == "/ipfs/id/1.0.0"),
        "{answer:?}"
    );
    let stream = established.connection.open_stream().await.unwrap();
    let report = yamux_perf::perf::run_stream(
        stream,
        Request {
            upload: MIB,
            download: MIB,
            payload: Payload::Pattern,
            lazy: false,
            early_fin: false,
        },
        &Arc::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.download_bytes, MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_streams_and_connections_each_carry_the_full_request() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let mut config = client_config(addr, 2 * MIB, 3 * MIB);
    config.streams = 4;
    config.connections = 2;
    let report = client::run(&config, Arc::default()).await.unwrap();
    assert_eq!(report.streams.len(), 8);
    assert!(
        report
            .streams
            .iter()
            .all(|s| s.upload_bytes == 2 * MIB && s.download_bytes == 3 * MIB)
    );
    assert_eq!(
        (report.stream.upload_bytes, report.stream.download_bytes),
        (16 * MIB, 24 * MIB)
    );
    assert!(
        report.stats.pings_answered >= 2,
        "each connection's server pinged us: {:?}",
        report.stats
    );
}

#[tokio::test]
async fn ping_mode_runs_rounds_on_one_stream() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let config = client_config(addr, 0, 0);
    let report = client::run_ping(&config, 40).await.unwrap();
    assert_eq!(report.samples.len(), 40);
    assert!(report.samples.iter().all(|s| !s.is_zero()));
}

#[tokio::test]
async fn latency_mode_measures_one_sample_per_round_trip() {
    let (addr, _stop) = start_server(u64::MAX).await;
    let mut config = client_config(addr, 0, 0);
    let report = client::run_latency(&config, 25).await.unwrap();
    assert_eq!(report.samples.len(), 25);
    // Half-closing before the echo (one round trip less) works against our server too.
    config.request.early_fin = true;
    let report = client::run_latency(&config, 25).await.unwrap();
    assert_eq!(report.samples.len(), 25);
    assert!(report.samples.iter().all(|s| !s.is_zero()));
}
