//! WebSocket transport end to end on loopback: ours against ours through the whole pipeline
//! (plaintext and Noise, payload checked byte for byte), large writes, and what a peer must not
//! send (text frames, unmasked client frames, a bad upgrade), each a clear error.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use yamux_perf::identity;
use yamux_perf::perf::client::{self, ClientConfig};
use yamux_perf::perf::server::{self, ServerConfig};
use yamux_perf::perf::{Payload, Progress, Request};
use yamux_perf::security::Security;
use yamux_perf::transport::ws::{self, frame};
use yamux_perf::transport::{Addr, Listener, TcpConfig, Transport, TransportKind};
use yamux_perf::upgrade::ConnectionConfig;

const MIB: u64 = 1 << 20;

async fn start_server(security: Security) -> (Addr, oneshot::Sender<()>) {
    let mut connection = ConnectionConfig::new(identity::generate());
    connection.security = security;
    connection.accept = vec![security];
    let local = Addr::new("127.0.0.1:0".parse().unwrap(), TransportKind::Ws);
    let listener = Listener::bind(&local, &connection.tcp).unwrap();
    let addr = listener
        .local_addr()
        .unwrap()
        .with_peer(connection.identity.public().to_peer_id());
    let config = Arc::new(ServerConfig {
        connection,
        max_download: u64::MAX,
        payload: Payload::Pattern,
        max_connections: server::DEFAULT_MAX_CONNECTIONS,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::run(vec![listener], config, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

async fn round_trip(security: Security) {
    let (addr, _stop) = start_server(security).await;
    assert!(addr.to_string().contains("/ws/p2p/"), "{addr}");
    let mut connection = ConnectionConfig::new(identity::generate());
    connection.security = security;
    let config = ClientConfig {
        server: addr,
        request: Request {
            upload: 16 * MIB,
            download: 16 * MIB,
            payload: Payload::Pattern,
            lazy: true,
            early_fin: false,
        },
        streams: 2,
        connections: 1,
        stagger: std::time::Duration::ZERO,
        short_flows: None,
        connection,
    };
    let report = client::run(&config, Arc::new(Progress::default()))
        .await
        .unwrap();
    assert_eq!(report.stream.upload_bytes, 32 * MIB);
    assert_eq!(report.stream.download_bytes, 32 * MIB);
    assert_eq!(Some(report.remote_peer), addr.peer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_round_trip_with_noise() {
    round_trip(Security::Noise).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_round_trip_with_plaintext() {
    round_trip(Security::Plaintext).await;
}

/// A dialed and an accepted WebSocket stream over loopback.
async fn pair() -> (ws::WsStream, ws::WsStream) {
    let tcp = TcpConfig::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let transport = ws::Ws { tcp: &tcp };
    let (client, server) = tokio::join!(transport.dial(at), accept_one(&listener, &tcp));
    (client.unwrap(), server)
}

#[tokio::test]
async fn writes_larger_than_64_kib_survive_both_ways() {
    let (mut client, mut server) = pair().await;
    let data: Vec<u8> = (0..3 * MIB as usize + 12_345)
        .map(|i| (i % 251) as u8)
        .collect();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        client.write_all(&sent).await.unwrap();
        client.flush().await.unwrap();
        let mut back = vec![0; sent.len()];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(back, sent);
        client.shutdown().await.unwrap();
        let mut rest = Vec::new();
        // The server's close answers ours: end of stream.
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
    let mut got = vec![0; data.len()];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got, data);
    server.write_all(&got).await.unwrap();
    server.flush().await.unwrap();
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).await.unwrap();
    assert!(
        rest.is_empty(),
        "the client's close is the end of the stream"
    );
    server.shutdown().await.unwrap();
    writer.await.unwrap();
}

/// Accepts one connection on `listener` and runs the server's upgrade on it.
async fn accept_one(listener: &TcpListener, tcp: &TcpConfig) -> ws::WsStream {
    let (accepted, _) = listener.accept().await.unwrap();
    ws::Ws { tcp }.accept(accepted).await.unwrap()
}

/// Opens a raw TCP connection to a WebSocket server and does the upgrade by hand.
async fn raw_client(at: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(at).await.unwrap();
    let (handshake, request) = ws::handshake::ClientHandshake::new(&at.to_string(), [9; 16]);
    tcp.write_all(&request).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert_eq!(handshake.response(&head), Ok(Some(head.len())));
    tcp
}

async fn server_error_after(frame_bytes: &[u8]) -> std::io::Error {
    let tcp = TcpConfig::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let (mut raw, mut server) = tokio::join!(raw_client(at), accept_one(&listener, &tcp));
    raw.write_all(frame_bytes).await.unwrap();
    let mut buf = [0; 16];
    tokio::time::timeout(Duration::from_secs(5), server.read(&mut buf))
        .await
        .expect("no hang")
        .unwrap_err()
}

#[tokio::test]
async fn text_frames_are_rejected() {
    let mut wire = Vec::new();
    let mut header = [0; frame::MAX_HEADER];
    let n = frame::encode_header(frame::Opcode::Text, 2, Some([1, 2, 3, 4]), &mut header);
    wire.extend_from_slice(&header[..n]);
    let mut payload = *b"hi";
    frame::apply_mask(&mut payload, [1, 2, 3, 4], 0);
    wire.extend_from_slice(&payload);
    let error = server_error_after(&wire).await;
    assert!(error.to_string().contains("text frame"), "{error}");
}

#[tokio::test]
async fn unmasked_client_frames_are_rejected() {
    let error = server_error_after(&[0x82, 0x02, b'h', b'i']).await;
    assert!(error.to_string().contains("unmasked"), "{error}");
}

/// A masked frame from a client, as bytes.
fn client_frame(opcode: frame::Opcode, payload: &[u8]) -> Vec<u8> {
    let key = [0xA1, 0xB2, 0xC3, 0xD4];
    let mut header = [0; frame::MAX_HEADER];
    let n = frame::encode_header(opcode, payload.len() as u64, Some(key), &mut header);
    let mut wire = header[..n].to_vec();
    let start = wire.len();
    wire.extend_from_slice(payload);
    frame::apply_mask(&mut wire[start..], key, 0);
    wire
}

#[tokio::test]
async fn pings_are_answered_and_a_close_ends_the_stream() {
    let tcp = TcpConfig::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let (mut raw, mut server) = tokio::join!(raw_client(at), accept_one(&listener, &tcp));
    let mut wire = client_frame(frame::Opcode::Ping, b"abc");
    wire.extend(client_frame(frame::Opcode::Binary, b"x"));
    raw.write_all(&wire).await.unwrap();
    let mut byte = [0];
    server.read_exact(&mut byte).await.unwrap();
    assert_eq!(&byte, b"x", "the ping is not part of the byte stream");
    // The pong goes out with the writer's next flush, unmasked, echoing the payload.
    server.flush().await.unwrap();
    let mut pong = [0; 5];
    raw.read_exact(&mut pong).await.unwrap();
    assert_eq!(pong, [0x8A, 0x03, b'a', b'b', b'c']);
    raw.write_all(&client_frame(frame::Opcode::Close, &[0x03, 0xE9]))
        .await
        .unwrap();
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    // Shutting down answers the close with the peer's code (1001), then FIN.
    server.shutdown().await.unwrap();
    let mut close = Vec::new();
    raw.read_to_end(&mut close).await.unwrap();
    assert_eq!(close, [0x88, 0x02, 0x03, 0xE9]);
}

#[tokio::test]
async fn a_bad_upgrade_gets_400_and_an_error() {
    let tcp = TcpConfig::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let (raw, accepted) = tokio::join!(TcpStream::connect(at), listener.accept());
    let mut raw = raw.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let error = ws::Ws { tcp: &tcp }
        .accept(accepted.unwrap().0)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Upgrade"), "{error}");
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
}
