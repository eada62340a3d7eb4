//! The muxer stage: takes the secured socket over once the muxer is agreed.
//!
//! [`Yamux`] starts the yamux driver. [`EchoOpen`] strips the listener's answer to a lazy muxer
//! proposal from the first plaintext, so the driver sees yamux frames from the first byte and
//! knows nothing about multistream-select.

use std::io;

use bytes::BytesMut;

use crate::multistream::EchoCheck;
use crate::transport::Socket;
use crate::yamux::driver::{self, Channel, Connection, DriverOptions, Open, Seal, Tasks};
use crate::yamux::{self, Role, Session};

/// A stream muxer as the last stage of the upgrade.
pub trait MuxerStage {
    /// The multistream-select protocol id (also what the security handshake offers inline).
    const PROTOCOL_ID: &'static str;

    /// The running muxer.
    type Muxed;

    /// Starts the muxer on `socket`, whose first bytes are the muxer's: `read_buf` holds bytes
    /// read from the socket but not opened yet, `plaintext` bytes opened but not consumed yet.
    fn start<T, S, O>(
        &self,
        role: Role,
        socket: T,
        seal: S,
        open: O,
        read_buf: BytesMut,
        plaintext: BytesMut,
    ) -> Self::Muxed
    where
        T: Socket,
        S: Seal,
        O: Open;
}

/// yamux on the tokio driver.
#[derive(Debug, Clone, Copy)]
pub struct Yamux<'a> {
    /// The session's settings.
    pub config: &'a yamux::Config,
    /// The driver's settings.
    pub driver: &'a DriverOptions,
}

impl MuxerStage for Yamux<'_> {
    const PROTOCOL_ID: &'static str = yamux::PROTOCOL_ID;

    type Muxed = (Connection, Tasks);

    fn start<T, S, O>(
        &self,
        role: Role,
        socket: T,
        seal: S,
        open: O,
        read_buf: BytesMut,
        plaintext: BytesMut,
    ) -> (Connection, Tasks)
    where
        T: Socket,
        S: Seal,
        O: Open,
    {
        let (reader, writer) = socket.into_halves();
        let channel = Channel {
            reader,
            writer,
            seal,
            open,
            read_buf,
            plaintext,
        };
        let session = Session::new(role, self.config.clone(), driver::now());
        Connection::spawn(session, channel, self.driver.clone())
    }
}

/// An [`Open`] that runs an [`EchoCheck`] on the first plaintext: the listener's answer to the
/// lazy muxer proposal, which arrives in front of its first muxer frames, is checked and removed
/// before the muxer sees anything. Once the answer is through it only forwards.
#[derive(Debug)]
pub struct EchoOpen<O> {
    inner: O,
    echo: EchoCheck,
}

impl<O> EchoOpen<O> {
    /// `inner`, with `echo` run on its first plaintext.
    pub fn new(inner: O, echo: EchoCheck) -> Self {
        Self { inner, echo }
    }
}

/// A wrong answer: the connection cannot carry the muxer.
fn no_echo(error: crate::multistream::NegotiationError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

impl<O: Open> Open for EchoOpen<O> {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()> {
        if self.echo.is_done() {
            return self.inner.open(input, out);
        }
        let start = out.len();
        self.inner.open(input, out)?;
        let mut fresh = out.split_off(start);
        self.echo.consume(&mut fresh).map_err(no_echo)?;
        out.unsplit(fresh);
        Ok(())
    }

    fn open_next(&mut self, input: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        loop {
            let Some(mut unit) = self.inner.open_next(input)? else {
                return Ok(None);
            };
            if !self.echo.is_done() {
                self.echo.consume(&mut unit).map_err(no_echo)?;
                if unit.is_empty() {
                    continue;
                }
            }
            return Ok(Some(unit));
        }
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multistream::{NegotiationError, expected_echo};
    use crate::yamux::driver::Passthrough;

    #[test]
    fn echo_open_strips_the_answer_across_units_and_then_forwards() {
        let answer = expected_echo("/yamux/1.0.0");
        let mut open = EchoOpen::new(Passthrough, EchoCheck::new("/yamux/1.0.0"));
        // The answer split over two reads, the second with the first frame bytes behind it.
        let mut input = BytesMut::from(&answer[..5]);
        assert_eq!(open.open_next(&mut input).unwrap(), None);
        let mut input = BytesMut::from(&answer[5..]);
        input.extend_from_slice(b"frame");
        assert_eq!(&open.open_next(&mut input).unwrap().unwrap()[..], b"frame");
        // Done: bytes that look like an answer are muxer bytes now.
        let mut input = BytesMut::from(&answer[..]);
        assert_eq!(
            &open.open_next(&mut input).unwrap().unwrap()[..],
            &answer[..]
        );
        let mut out = BytesMut::new();
        let mut input = BytesMut::from(&b"more"[..]);
        open.open(&mut input, &mut out).unwrap();
        assert_eq!(&out[..], b"more");
    }

    #[test]
    fn echo_open_fails_on_another_answer() {
        let mut open = EchoOpen::new(Passthrough, EchoCheck::new("/yamux/1.0.0"));
        let mut input = BytesMut::from(&expected_echo("/mplex/6.7.0")[..]);
        let error = open.open_next(&mut input).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let inner = error.into_inner().unwrap();
        assert!(matches!(
            inner.downcast_ref::<NegotiationError>(),
            Some(NegotiationError::NoEcho(protocol)) if protocol == "/yamux/1.0.0"
        ));
        let mut open = EchoOpen::new(Passthrough, EchoCheck::new("/yamux/1.0.0"));
        let mut out = BytesMut::new();
        let mut input = BytesMut::from(&b"\x13/multistream/1.0.0\n\x03na\n"[..]);
        assert!(open.open(&mut input, &mut out).is_err());
    }
}
