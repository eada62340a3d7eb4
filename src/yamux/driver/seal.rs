//! The byte transform below yamux: [`Seal`] and [`Open`] (Noise, TLS or nothing), the
//! [`Framing`] of an in-place seal, and [`Passthrough`], no transform at all.

use std::io;

use bytes::BytesMut;

/// How a [`Seal`] that can work in place frames its units on the wire: `prefix` bytes, at most
/// `max_plaintext` plaintext bytes, then `suffix` bytes (Noise: a 2-byte length, 65519 bytes, a
/// 16-byte tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// Bytes in front of each unit's plaintext.
    pub prefix: usize,
    /// Bytes behind each unit's plaintext.
    pub suffix: usize,
    /// Most plaintext bytes in one unit.
    pub max_plaintext: usize,
}

/// Encrypts outgoing plaintext (the layer below yamux).
pub trait Seal: Send + 'static {
    /// Appends the wire form of `plaintext` to `out`.
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()>;

    /// The framing of [`Seal::seal_in_place`] and [`Seal::seal_pieces`], or `None` (the
    /// default) when only [`Seal::seal`] works. With a framing the writer takes yamux frames
    /// without copying their payload and seals them unit by unit with [`Seal::seal_pieces`].
    fn framing(&self) -> Option<Framing> {
        None
    }

    /// Whether the wire form is the plaintext itself (no transform at all). The writer then
    /// sends the frames' headers and the payload straight from the streams' send buffers with
    /// vectored writes: no userspace copy of the payload. Default `false`.
    fn passthrough(&self) -> bool {
        false
    }

    /// Seals one unit in place: `unit` is [`Framing::prefix`] bytes, then the plaintext (at most
    /// [`Framing::max_plaintext`] bytes), then [`Framing::suffix`] bytes; the prefix and suffix
    /// are filled in and the plaintext is encrypted. Only called when [`Seal::framing`] is
    /// `Some`.
    fn seal_in_place(&mut self, unit: &mut [u8]) -> io::Result<()> {
        let _ = unit;
        Err(io::Error::other("this Seal does not seal in place"))
    }

    /// Seals one unit whose plaintext is the concatenation of `pieces` into `unit`, which is
    /// exactly [`Framing::prefix`] + plaintext + [`Framing::suffix`] bytes long (its contents on
    /// entry are unspecified). The default copies the pieces into place and calls
    /// [`Seal::seal_in_place`]; a cipher that can read its input from elsewhere overrides it to
    /// encrypt from the pieces in one pass.
    fn seal_pieces(&mut self, pieces: &[&[u8]], unit: &mut [u8]) -> io::Result<()> {
        let framing = self
            .framing()
            .ok_or_else(|| io::Error::other("this Seal has no framing"))?;
        let mut at = framing.prefix;
        for piece in pieces {
            unit[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        }
        debug_assert_eq!(at + framing.suffix, unit.len());
        self.seal_in_place(unit)
    }
}

/// Decrypts incoming bytes (the layer below yamux).
pub trait Open: Send + 'static {
    /// Consumes every complete unit at the front of `input`, appending plaintext to `out`.
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()>;

    /// Consumes the next complete unit at the front of `input` and returns its plaintext, or
    /// `None` when no complete unit is there. An implementation that decrypts in place returns
    /// a part of `input`'s buffer (no copy); the default one calls [`Open::open`] and returns
    /// everything available at once.
    fn open_next(&mut self, input: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        let mut out = BytesMut::new();
        self.open(input, &mut out)?;
        Ok((!out.is_empty()).then_some(out))
    }

    /// Whether the peer ended the channel inside it (TLS `close_notify`): nothing more will be
    /// opened, and readers take it as the end of the stream. Default `false` (Noise and
    /// plaintext end with the socket).
    fn is_finished(&self) -> bool {
        false
    }
}
/// No transform: yamux directly on the socket (tests, and `/plaintext` security).
#[derive(Debug, Default, Clone, Copy)]
pub struct Passthrough;

impl Seal for Passthrough {
    fn seal(&mut self, plaintext: &[u8], out: &mut BytesMut) -> io::Result<()> {
        out.extend_from_slice(plaintext);
        Ok(())
    }

    fn framing(&self) -> Option<Framing> {
        Some(Framing {
            prefix: 0,
            suffix: 0,
            max_plaintext: usize::MAX / 2,
        })
    }

    fn passthrough(&self) -> bool {
        true
    }

    fn seal_in_place(&mut self, _unit: &mut [u8]) -> io::Result<()> {
        Ok(())
    }
}

impl Open for Passthrough {
    fn open(&mut self, input: &mut BytesMut, out: &mut BytesMut) -> io::Result<()> {
        if out.is_empty() {
            std::mem::swap(input, out);
        } else {
            out.extend_from_slice(input);
            input.clear();
        }
        Ok(())
    }

    /// Everything read so far, split off the read buffer: no copy, and the buffer keeps its
    /// allocation, so the reader's pool can reclaim it once yamux and the application are done
    /// with the bytes. (The default swaps the buffer out, leaving an empty one without capacity:
    /// a fresh allocation for every read, and page faults on the receive path.)
    fn open_next(&mut self, input: &mut BytesMut) -> io::Result<Option<BytesMut>> {
        Ok((!input.is_empty()).then(|| input.split()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_open_next_splits_in_place_and_the_buffer_keeps_its_allocation() {
        let mut input = BytesMut::with_capacity(4096);
        input.extend_from_slice(b"frames");
        let unit = Passthrough.open_next(&mut input).unwrap().unwrap();
        assert_eq!(&unit[..], b"frames");
        assert!(input.is_empty());
        // The rest of the allocation is still the read buffer's, and all of it comes back once
        // the unit is gone: the reader's pool can reuse it instead of allocating.
        assert!(input.capacity() >= 4096 - 6);
        drop(unit);
        assert!(input.try_reclaim(4096));
        assert_eq!(Passthrough.open_next(&mut input).unwrap(), None);
    }
}
