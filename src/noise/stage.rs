//! Noise as the security stage of the upgrade ([`SecurityStage`]), and its ciphers as the
//! transform below the muxer ([`Seal`] for [`Sealer`], [`Open`] for [`Opener`]).

use bytes::BytesMut;
use libp2p_identity::{Keypair, PeerId};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{
    Handshake, LENGTH_PREFIX_LEN, MAX_PLAINTEXT_LEN, NoiseError, Opener, PROTOCOL_ID, Sealer,
    TAG_LEN, upgrade,
};
use crate::bufio::BufferedIo;
use crate::multistream;
use crate::upgrade::{LazyProposal, Secured, SecurityStage, UpgradeError};
use crate::yamux::driver::{Framing, Open, Seal};

/// libp2p Noise (`/noise`), the XX handshake of [`Handshake`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Noise;

impl SecurityStage for Noise {
    const PROTOCOL_ID: &'static str = PROTOCOL_ID;
    const LAZY: bool = true;

    type Seal = Sealer;
    type Open = Opener;

    /// Message 1 leaves behind the lazy `/noise` proposal; the answer is checked in front of
    /// message 2; message 3 is left in [`Secured::unsent`].
    async fn outbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        lazy: LazyProposal,
        local: &Keypair,
        expected: Option<PeerId>,
        muxers: &[&str],
    ) -> Result<Secured<Sealer, Opener>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut handshake = Handshake::initiator(local, expected, muxers)?;
        let LazyProposal {
            proposal: mut out,
            mut echo,
        } = lazy;
        // First flight: multistream header, `/noise`, Noise message 1.
        handshake.write_message(&mut out)?;
        io.write_all(&out).await?;
        multistream::expect_lazy_echo(io, &mut echo).await?;
        while !handshake.read_message(&mut io.read_buf)? {
            if io.fill().await? == 0 {
                return Err(NoiseError::UnexpectedEof.into());
            }
        }
        let mut unsent = BytesMut::new();
        handshake.write_message(&mut unsent)?;
        let established = handshake.into_established()?;
        Ok(Secured {
            remote_peer: established.remote_peer,
            muxer: established.muxer,
            cipher: Some(super::NOISE_PARAMS),
            seal: established.sealer,
            open: established.opener,
            unsent,
        })
    }

    async fn inbound<T>(
        &self,
        io: &mut BufferedIo<T>,
        local: &Keypair,
        muxers: &[&str],
    ) -> Result<Secured<Sealer, Opener>, UpgradeError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let handshake = Handshake::responder(local, muxers)?;
        let established = upgrade(io, handshake, BytesMut::new()).await?;
        Ok(Secured {
            remote_peer: established.remote_peer,
            muxer: established.muxer,
            cipher: Some(super::NOISE_PARAMS),
            seal: established.sealer,
            open: established.opener,
            unsent: BytesMut::new(),
        })
    }
}

impl Seal for Sealer {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> std::io::Result<()> {
        Sealer::seal(self, plaintext, out).map_err(std::io::Error::from)
    }

    fn framing(&self) -> Option<Framing> {
        Some(Framing {
            prefix: LENGTH_PREFIX_LEN,
            suffix: TAG_LEN,
            max_plaintext: MAX_PLAINTEXT_LEN,
        })
    }

    fn seal_in_place(&mut self, unit: &mut [u8]) -> std::io::Result<()> {
        Sealer::seal_in_place(self, unit).map_err(std::io::Error::from)
    }

    fn seal_pieces(&mut self, pieces: &[&[u8]], unit: &mut [u8]) -> std::io::Result<()> {
        Sealer::seal_pieces(self, pieces, unit).map_err(std::io::Error::from)
    }
}

impl Open for Opener {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> std::io::Result<()> {
        Opener::open(self, input, out)
            .map(drop)
            .map_err(std::io::Error::from)
    }

    fn open_next(&mut self, input: &mut BytesMut) -> std::io::Result<Option<BytesMut>> {
        Opener::open_next(self, input).map_err(std::io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::keypair_from_seed;
    use crate::multistream::{EchoCheck, NegotiationError};

    /// The listener side of a lazy `/noise` negotiation: multistream-select, then Noise.
    async fn noise_listener(
        io: tokio::io::DuplexStream,
        supported: &'static [&'static str],
    ) -> Result<Secured<Sealer, Opener>, UpgradeError> {
        let mut io = BufferedIo::new(io);
        multistream::listener_select(&mut io, supported).await?;
        Noise.inbound(&mut io, &keypair_from_seed(0), &[]).await
    }

    fn lazy_noise() -> LazyProposal {
        let mut proposal = BytesMut::new();
        multistream::encode_proposal(PROTOCOL_ID, &mut proposal);
        LazyProposal {
            proposal,
            echo: EchoCheck::new(PROTOCOL_ID),
        }
    }

    #[tokio::test]
    async fn lazy_dialer_strips_the_echo_before_message_2() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(noise_listener(b, &["/noise"]));
        let mut io = BufferedIo::new(a);
        let client = Noise
            .outbound(&mut io, lazy_noise(), &keypair_from_seed(1), None, &[])
            .await
            .unwrap();
        // Message 3 is the dialer's to send.
        assert!(!client.unsent.is_empty());
        io.write_all(&client.unsent).await.unwrap();
        let server = server.await.unwrap().unwrap();
        assert_eq!(
            client.remote_peer,
            keypair_from_seed(0).public().to_peer_id()
        );
        assert_eq!(
            server.remote_peer,
            keypair_from_seed(1).public().to_peer_id()
        );
        assert!(server.unsent.is_empty());
    }

    #[tokio::test]
    async fn lazy_dialer_sees_na_as_no_echo() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(noise_listener(b, &["/tls/1.0.0"]));
        let mut io = BufferedIo::new(a);
        let result = Noise
            .outbound(&mut io, lazy_noise(), &keypair_from_seed(1), None, &[])
            .await;
        assert!(matches!(
            result,
            Err(UpgradeError::Negotiation(NegotiationError::NoEcho(p))) if p == "/noise"
        ));
        drop(io);
        assert!(server.await.unwrap().is_err());
    }
}
