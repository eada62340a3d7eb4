//! The driver end to end: two connections over loopback TCP or an in-memory pipe.

use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::clock::now;
use super::*;
use crate::perf::Payload;
use std::time::{Duration, Instant};

use crate::yamux::frame::{Flags, FrameType, HEADER_LEN, Header};
use crate::yamux::session::{Config, Role, Session, SessionError};

/// Starts a connection over `reader`/`writer`, without encryption.
fn spawn<R, W>(
    reader: R,
    writer: W,
    role: Role,
    config: Config,
    options: DriverOptions,
) -> Connection
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let channel = Channel {
        reader,
        writer,
        seal: Passthrough,
        open: Passthrough,
        read_buf: BytesMut::new(),
        plaintext: BytesMut::new(),
    };
    Connection::spawn(Session::new(role, config, now()), channel, options).0
}

/// Two connected yamux connections over loopback TCP, without encryption.
async fn pair(config: Config) -> (Connection, Connection) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let start = |tcp: TcpStream, role| {
        let (reader, writer) = tcp.into_split();
        spawn(
            reader,
            writer,
            role,
            config.clone(),
            DriverOptions::default(),
        )
    };
    (
        start(client.unwrap(), Role::Client),
        start(server.unwrap().0, Role::Server),
    )
}

/// `len` bytes of the perf pattern from `offset` on: streams (and directions) with different
/// offsets carry different bytes.
pub(super) fn pattern(len: usize, offset: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let at = u64::from(offset) + out.len() as u64;
        out.extend_from_slice(&Payload::Pattern.chunk(at, len - out.len()));
    }
    out
}

/// Echo-free exchange on one stream: each side writes `len` bytes, half-closes, and reads
/// the other's bytes to EOF; both directions run at once.
async fn exchange(mut stream: StreamHandle, send: Vec<u8>) -> Vec<u8> {
    let (mut received, mut write_result) = (Vec::new(), Ok(()));
    // Writes and reads interleave through the same handle, so drive them by hand.
    let mut sent = 0;
    let mut closed = false;
    let mut buf = vec![0u8; 64 * 1024];
    std::future::poll_fn(|cx| {
        loop {
            let mut progress = false;
            if sent < send.len() {
                if let Poll::Ready(r) = Pin::new(&mut stream).poll_write(cx, &send[sent..]) {
                    match r {
                        Ok(n) => sent += n,
                        Err(e) => write_result = Err(e),
                    }
                    progress = true;
                }
            } else if !closed {
                let _ = Pin::new(&mut stream).poll_shutdown(cx);
                closed = true;
                progress = true;
            }
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    if closed {
                        return Poll::Ready(());
                    }
                }
                Poll::Ready(Ok(())) => {
                    received.extend_from_slice(rb.filled());
                    progress = true;
                }
                Poll::Ready(Err(e)) => panic!("read failed: {e}"),
                Poll::Pending => {}
            }
            if write_result.is_err() {
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
    })
    .await;
    write_result.unwrap();
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_both_ways_on_one_stream() {
    let (client, server) = pair(Config::default()).await;
    let len = 16 << 20;
    let server_task = tokio::spawn(async move {
        let stream = server.accept_stream().await.unwrap();
        exchange(stream, pattern(len, 1)).await
    });
    let stream = client.open_stream().await.unwrap();
    let got = exchange(stream, pattern(len, 2)).await;
    assert!(got == pattern(len, 1), "client received corrupted data");
    assert!(
        server_task.await.unwrap() == pattern(len, 2),
        "server received corrupted data"
    );
    assert!(
        client.rtt().is_some(),
        "the session-start ping was answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams_stay_separate() {
    let (client, server) = pair(Config::default()).await;
    let streams = 16;
    let len = 1 << 20;
    let server_task = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for _ in 0..streams {
            let mut stream = server.accept_stream().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                stream.read_to_end(&mut got).await.unwrap();
                // Echo back what arrived, then close.
                stream.write_all(&got).await.unwrap();
                stream.shutdown().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let mut tasks = Vec::new();
    for i in 0..streams {
        let mut stream = client.open_stream().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let data = pattern(len, i as u8);
            stream.write_all(&data).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut got = Vec::new();
            stream.read_to_end(&mut got).await.unwrap();
            assert!(got == data, "stream {i} got another stream's bytes");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    server_task.await.unwrap();
}

#[tokio::test]
async fn close_ends_the_peer_accept_loop() {
    let (client, server) = pair(Config::default()).await;
    client.close();
    assert!(server.accept_stream().await.is_none());
    assert!(matches!(
        client.open_stream().await,
        Err(ConnectionError::Session(SessionError::Closed) | ConnectionError::Closed)
    ));
}

/// Reads one frame header from the raw end of a pipe, with tokio's clock when it arrived.
async fn next_frame(raw: &mut tokio::io::DuplexStream) -> (Header, Instant) {
    let mut header = [0u8; HEADER_LEN];
    raw.read_exact(&mut header).await.unwrap();
    (Header::decode(&header).unwrap(), now())
}

#[tokio::test(start_paused = true)]
async fn keepalive_ping_leaves_exactly_one_interval_after_the_last_inbound_frame() {
    let keepalive = Duration::from_secs(30);
    let config = Config {
        keepalive_interval: Some(keepalive),
        // Far away: only keep-alive can send the second ping.
        rtt_interval: Duration::from_secs(3600),
        ..Config::default()
    };
    let (ours, mut raw) = tokio::io::duplex(1 << 16);
    let (reader, writer) = tokio::io::split(ours);
    let start = now();
    let connection = spawn(
        reader,
        writer,
        Role::Client,
        config,
        DriverOptions::default(),
    );
    // The RTT ping at session start; answering it is the last inbound frame.
    let (ping, at) = next_frame(&mut raw).await;
    assert_eq!((ping.typ, ping.flags), (FrameType::Ping, Flags::SYN));
    assert_eq!(at, start);
    tokio::time::sleep(Duration::from_secs(7)).await;
    let answered = now();
    raw.write_all(&Header::ping(Flags::ACK, ping.length).encode())
        .await
        .unwrap();
    let (keepalive_ping, at) = next_frame(&mut raw).await;
    assert_eq!(
        (keepalive_ping.typ, keepalive_ping.flags),
        (FrameType::Ping, Flags::SYN)
    );
    assert_eq!(at - answered, keepalive);
    assert_eq!(connection.rtt(), Some(Duration::from_secs(7)));
}

#[tokio::test(start_paused = true)]
async fn write_timeout_fires_two_timeouts_after_the_peer_stopped_reading() {
    let timeout = Duration::from_secs(5);
    let options = DriverOptions {
        write_timeout: Some(timeout),
    };
    // A peer that never reads: the pipe takes 64 KiB, then the socket is full.
    let (ours, _raw) = tokio::io::duplex(1 << 16);
    let (reader, writer) = tokio::io::split(ours);
    let start = now();
    let connection = spawn(reader, writer, Role::Client, Config::default(), options);
    let mut stream = connection.open_stream().await.unwrap();
    let sender = tokio::spawn(async move {
        // Queued in full (the send buffer takes 1 MiB), but never all written.
        stream.write_all(&pattern(1 << 20, 0)).await.unwrap();
        stream
    });
    // `accept_stream` returns `None` once the connection closed.
    assert!(connection.accept_stream().await.is_none());
    // Every byte the pipe took went out at the start; the first check (one timeout in) sees
    // them, the second sees none.
    assert_eq!(now() - start, 2 * timeout);
    match connection.closed_reason() {
        Some(ConnectionError::Io(reason)) => assert!(reason.contains("write timeout"), "{reason}"),
        other => panic!("closed for {other:?}"),
    }
    let mut stream = sender.await.unwrap();
    assert!(stream.write_all(b"late").await.is_err());
}
