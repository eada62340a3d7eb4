//! The Noise targets: the transport message reader and the handshake parsers.

use std::sync::OnceLock;

use bytes::BytesMut;

use crate::noise::{Handshake, Opener, Sealer, cipher::KEY_LEN};

/// The transport message reader. The first byte picks the read chunking; then either (high bit
/// clear) the rest is taken as ciphertext from a peer, which must decrypt to nothing (no valid
/// tag can be forged) and be rejected or kept as a partial message, or (high bit set) the rest is
/// plaintext that is sealed, cut in arbitrary pieces and opened again, which must give it back.
pub fn noise_transport(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    const KEY: [u8; KEY_LEN] = [0x42; KEY_LEN];
    let chunk = usize::from(mode & 0x7f) * 97 + 1;
    let mut opener = Opener::new(&KEY);
    let mut input = BytesMut::new();
    let mut out = BytesMut::new();
    if mode & 0x80 == 0 {
        for piece in rest.chunks(chunk) {
            input.extend_from_slice(piece);
            match opener.open(&mut input, &mut out) {
                Ok(n) => assert_eq!(n, 0, "forged message decrypted"),
                Err(_) => return,
            }
        }
        assert!(out.is_empty());
        assert_eq!(opener.nonce(), 0);
    } else {
        let mut sealer = Sealer::new(&KEY);
        let mut wire = BytesMut::new();
        // Several messages of varied sizes: split the plaintext where a byte is 0 (at most 16
        // messages: each costs a seal and an open).
        let mut expected = Vec::new();
        for part in rest.splitn(16, |&b| b == 0) {
            sealer.seal(part, &mut wire).expect("seal");
            expected.extend_from_slice(part);
        }
        for piece in wire.chunks(chunk) {
            input.extend_from_slice(piece);
            opener.open(&mut input, &mut out).expect("open own message");
        }
        assert!(input.is_empty(), "bytes left after the last message");
        assert_eq!(&out[..], &expected[..]);
        assert_eq!(opener.nonce(), sealer.nonce());
    }
}

pub(super) fn fuzz_identity() -> &'static libp2p_identity::Keypair {
    static KEY: OnceLock<libp2p_identity::Keypair> = OnceLock::new();
    KEY.get_or_init(|| {
        libp2p_identity::Keypair::ed25519_from_bytes([7u8; 32]).expect("valid ed25519 secret")
    })
}

/// The handshake parsers. The first byte picks the mode:
/// - even: the rest is `remote static key (32 bytes) ‖ payload`, checked by the payload decoder
///   and verifier ([`crate::noise::handshake::verify_payload`]); a payload that verifies must
///   name a key that really signed that static key;
/// - odd: the rest is what an initiator sends as message 1, read by a fresh responder (the
///   2-byte length framing, the `e` token and the empty-payload rule).
pub fn noise_handshake(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let (remote_static, payload) = rest.split_at(rest.len().min(32));
        if let Ok((key, _muxers)) = crate::noise::handshake::verify_payload(payload, remote_static)
        {
            // Only possible with a real signature: the seed corpus has one.
            let mut signed = b"noise-libp2p-static-key:".to_vec();
            signed.extend_from_slice(remote_static);
            let decoded =
                <crate::noise::payload::NoiseHandshakePayload as prost::Message>::decode(payload)
                    .expect("a verified payload decodes");
            assert!(key.verify(&signed, &decoded.identity_sig));
        }
    } else {
        let mut responder =
            Handshake::responder(fuzz_identity(), &["/yamux/1.0.0"]).expect("responder");
        let mut buf = BytesMut::from(rest);
        let before = buf.len();
        match responder.read_message(&mut buf) {
            Ok(true) => {
                assert!(buf.len() < before);
                assert!(responder.is_my_turn());
                let mut out = BytesMut::new();
                responder.write_message(&mut out).expect("message 2");
            }
            Ok(false) => assert_eq!(buf.len(), before, "an incomplete message consumed bytes"),
            Err(_) => {}
        }
    }
}
