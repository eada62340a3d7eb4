//! The security stage: a handshake that authenticates the peer and yields the transform below
//! the muxer.
//!
//! Implemented by [`noise::Noise`](crate::noise::Noise), [`tls::Tls`](crate::tls::Tls) and
//! [`plaintext::Plaintext`](crate::plaintext::Plaintext); the pipeline ([`super`]) picks one by
//! [`Security`](crate::security::Security).

use std::future::Future;

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use tokio::io::{AsyncRead, AsyncWrite};

use super::UpgradeError;
use crate::bufio::BufferedIo;
use crate::multistream::EchoCheck;
use crate::yamux::driver::{Open, Seal};

/// What a finished security handshake leaves for the stages above it.
#[derive(Debug)]
pub struct Secured<S, O> {
    /// The peer's id: proven by the handshake (Noise, TLS), or only claimed (plaintext).
    pub remote_peer: PeerId,
    /// The muxer both sides agreed on inside the handshake (Noise extensions, TLS ALPN), or
    /// `None`: then multistream-select picks it inside the channel.
    pub muxer: Option<String>,
    /// The cipher suite the handshake agreed on (TLS: the rustls suite name, Noise: the Noise
    /// protocol name), `None` without encryption.
    pub cipher: Option<&'static str>,
    /// Seals what we send.
    pub seal: S,
    /// Opens what we receive.
    pub open: O,
    /// Bytes the dialer still has to write to finish the handshake (Noise message 3), so that a
    /// lazy muxer proposal can leave in the same write. Empty when everything is written.
    pub unsent: BytesMut,
}

/// The dialer's multistream-select proposal of the security protocol, when it is lazy
/// ([`SecurityStage::LAZY`]): `proposal` leaves in front of the handshake's first message, and
/// the listener's answer, checked by `echo`, arrives in front of the handshake's first answer.
/// Empty and [`EchoCheck::none`] when the protocol was agreed before.
#[derive(Debug, Default)]
pub struct LazyProposal {
    /// Bytes to send in front of the handshake's first message.
    pub proposal: BytesMut,
    /// The check of the answer, run before the handshake reads anything.
    pub echo: EchoCheck,
}

/// A security protocol as a stage of the upgrade: runs over the buffered stream that
/// multistream-select picked it on, and leaves the bytes behind its last message in the buffer.
pub trait SecurityStage: Sync {
    /// The multistream-select protocol id.
    const PROTOCOL_ID: &'static str;

    /// Whether the dialer pipelines its multistream-select proposals with this protocol: the
    /// protocol's with the handshake's first message, the muxer's (sealed) with its last one
    /// ([`Secured::unsent`]). Otherwise the dialer waits for each answer.
    const LAZY: bool;

    /// The protocol's one-time, per-process start-up (a crypto library seeding its random
    /// generator, say), done by [`ConnectionConfig::prepare`](super::ConnectionConfig::prepare)
    /// before the first connection so that it does not land in that connection's setup time.
    /// Nothing by default.
    fn prepare() {}

    /// The transform of outgoing bytes.
    type Seal: Seal + Unpin;
    /// The transform of incoming bytes.
    type Open: Open + Unpin;

    /// The dialer's side: `expected` is the peer dialled (from `/p2p/` in its address), if
    /// known; `muxers` are offered inside the handshake where the protocol can.
    fn outbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        lazy: LazyProposal,
        local: &Keypair,
        expected: Option<PeerId>,
        muxers: &[&str],
    ) -> impl Future<Output = Result<Secured<Self::Seal, Self::Open>, UpgradeError>> + Send
    where
        T: AsyncRead + AsyncWrite + Unpin + Send;

    /// The listener's side, after multistream-select agreed on [`Self::PROTOCOL_ID`].
    fn inbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        local: &Keypair,
        muxers: &[&str],
    ) -> impl Future<Output = Result<Secured<Self::Seal, Self::Open>, UpgradeError>> + Send
    where
        T: AsyncRead + AsyncWrite + Unpin + Send;
}
