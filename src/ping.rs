//! libp2p ping (`/ipfs/ping/1.0.0`): the dialer sends 32 random bytes, the listener sends the
//! same 32 bytes back, round after round on one stream.
//!
//! It is the round trip of an established stream: no stream setup, no protocol negotiation and
//! no FIN inside the timed part, unlike the perf latency mode (a fresh stream per round, as
//! test-plans measures). That makes it the like-for-like counterpart of a ping-pong on a bare
//! TCP connection (`--stack tcp --ping`), which sends the same 32 bytes per round. go-libp2p
//! hosts serve it by default, so the same mode measures them too.
//!
//! The round loop is generic over the byte stream, so the bare-TCP ping-pong runs the very same
//! code against the echo mode of `server --stack tcp`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::bufio::BufferedIo;

/// The protocol id.
pub const PROTOCOL_ID: &str = "/ipfs/ping/1.0.0";

/// Bytes per ping, each way (the spec's fixed size).
pub const PING_SIZE: usize = 32;

/// Why a ping run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PingError {
    /// Reading or writing the stream failed (an early end included).
    #[error("ping stream failed")]
    Io(#[from] std::io::Error),
    /// The listener did not agree to `/ipfs/ping/1.0.0`.
    #[error("negotiating {PROTOCOL_ID} failed")]
    Negotiation(#[from] crate::multistream::NegotiationError),
    /// The answer was not the 32 bytes sent.
    #[error("round {round}: the answer differs from the ping")]
    Mismatch {
        /// Round number, from 0.
        round: usize,
    },
}

/// Runs `rounds` pings on `io` (the protocol already agreed); one duration per round, from the
/// write of the ping to the last byte of its answer. Bytes already read ahead (behind the
/// protocol answer) are used first.
pub async fn run<T>(io: &mut BufferedIo<T>, rounds: usize) -> Result<Vec<Duration>, PingError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        samples.push(one_round(io, round).await?);
    }
    Ok(samples)
}

/// One ping on `io` (the protocol already agreed): fresh random bytes out, the same 32 bytes
/// back; the time from the write to the last byte of the answer. `round` names it in a
/// [`PingError::Mismatch`].
pub async fn one_round<T>(io: &mut BufferedIo<T>, round: usize) -> Result<Duration, PingError>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    // The spec asks for random bytes, so a listener that answers from a cache is caught.
    let mut ping = [0u8; PING_SIZE];
    rand::fill(&mut ping[..]);
    let begin = Instant::now();
    io.get_mut().write_all(&ping).await?;
    io.fill_to(PING_SIZE).await?;
    let answer = io.read_buf.split_to(PING_SIZE);
    let rtt = begin.elapsed();
    if answer[..] != ping[..] {
        return Err(PingError::Mismatch { round });
    }
    Ok(rtt)
}

/// Serves pings on `io` (the protocol already agreed) until the dialer closes its side: every
/// complete 32 bytes go back as they are. Returns the number of pings answered; bytes short of
/// a full ping at the end are dropped, as go-libp2p does.
pub async fn serve<T>(io: &mut BufferedIo<T>) -> std::io::Result<u64>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut answered = 0;
    loop {
        while io.read_buf.len() >= PING_SIZE {
            let ping = io.read_buf.split_to(PING_SIZE);
            io.get_mut().write_all(&ping).await?;
            answered += 1;
        }
        if io.fill().await? == 0 {
            return Ok(answered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::io::duplex;

    #[tokio::test]
    async fn rounds_are_echoed_and_counted() {
        let (a, b) = duplex(1024);
        let server = tokio::spawn(async move { serve(&mut BufferedIo::new(b)).await });
        let mut io = BufferedIo::new(a);
        let samples = run(&mut io, 20).await.unwrap();
        assert_eq!(samples.len(), 20);
        drop(io);
        assert_eq!(server.await.unwrap().unwrap(), 20);
    }

    #[tokio::test]
    async fn a_wrong_answer_is_a_mismatch() {
        let (a, mut b) = duplex(1024);
        tokio::spawn(async move {
            let mut ping = [0u8; PING_SIZE];
            b.read_exact(&mut ping).await.unwrap();
            ping[7] ^= 1;
            b.write_all(&ping).await.unwrap();
        });
        let err = run(&mut BufferedIo::new(a), 1).await.unwrap_err();
        assert!(matches!(err, PingError::Mismatch { round: 0 }), "{err:?}");
    }

    #[tokio::test]
    async fn an_early_end_is_an_io_error() {
        let (a, b) = duplex(1024);
        drop(b);
        let err = run(&mut BufferedIo::new(a), 3).await.unwrap_err();
        assert!(matches!(err, PingError::Io(_)), "{err:?}");
    }

    #[tokio::test]
    async fn serve_answers_pings_split_across_reads_and_drops_a_partial_one() {
        let (mut a, b) = duplex(1024);
        let server = tokio::spawn(async move { serve(&mut BufferedIo::new(b)).await });
        let ping: Vec<u8> = (0..PING_SIZE as u8).collect();
        a.write_all(&ping[..10]).await.unwrap();
        tokio::task::yield_now().await;
        a.write_all(&ping[10..]).await.unwrap();
        a.write_all(&ping[..5]).await.unwrap();
        let mut answer = [0u8; PING_SIZE];
        a.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer[..], ping[..]);
        a.shutdown().await.unwrap();
        assert_eq!(server.await.unwrap().unwrap(), 1);
    }
}
