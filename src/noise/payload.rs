//! The libp2p Noise handshake payload (protobuf, proto2).
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/noise/README.md#the-libp2p-handshake-payload>.
//! Written by hand with `prost` derives instead of a build script. Unknown fields (such as the
//! removed early-data field 3) are skipped on decode, as protobuf requires.

/// What a peer sends, encrypted, in handshake messages 2 (responder) and 3 (initiator).
#[derive(Clone, PartialEq, prost::Message)]
pub struct NoiseHandshakePayload {
    /// The sender's libp2p identity public key, protobuf-encoded (`PublicKey { Type, Data }`).
    #[prost(bytes = "vec", tag = "1")]
    pub identity_key: Vec<u8>,
    /// The identity key's signature over `"noise-libp2p-static-key:"` followed by the sender's
    /// 32-byte X25519 Noise static public key.
    #[prost(bytes = "vec", tag = "2")]
    pub identity_sig: Vec<u8>,
    /// Optional extensions; absent when the sender has none to announce.
    #[prost(message, optional, tag = "4")]
    pub extensions: Option<NoiseExtensions>,
}

/// Extensions of the handshake payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NoiseExtensions {
    /// Certificate hashes, only used by WebTransport (never set by this crate).
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub webtransport_certhashes: Vec<Vec<u8>>,
    /// The sender's stream muxers in order of preference, for early muxer negotiation.
    #[prost(string, repeated, tag = "2")]
    pub stream_muxers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn encodes_like_the_spec_vector() {
        let payload = NoiseHandshakePayload {
            identity_key: vec![0xaa; 2],
            identity_sig: vec![0xbb; 1],
            extensions: Some(NoiseExtensions {
                webtransport_certhashes: vec![],
                stream_muxers: vec!["/yamux/1.0.0".into()],
            }),
        };
        assert_eq!(
            hex::encode(payload.encode_to_vec()),
            "0a02aaaa1201bb220e120c2f79616d75782f312e302e30"
        );
    }

    #[test]
    fn no_extensions_means_no_field_4() {
        let payload = NoiseHandshakePayload {
            identity_key: vec![1],
            identity_sig: vec![2],
            extensions: None,
        };
        assert_eq!(hex::encode(payload.encode_to_vec()), "0a0101120102");
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // Field 3 (the removed early-data field) and field 1000, between known fields.
        let bytes = hex::decode("0a01011a03ffffffc03e01120102").unwrap();
        let decoded = NoiseHandshakePayload::decode(&bytes[..]).unwrap();
        assert_eq!(decoded.identity_key, [1]);
        assert_eq!(decoded.identity_sig, [2]);
        assert!(decoded.extensions.is_none());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(NoiseHandshakePayload::decode(&[0x0a, 0x05, 0x01][..]).is_err());
        // Invalid UTF-8 in a muxer name.
        let bytes = hex::decode("22031201ff").unwrap();
        assert!(NoiseHandshakePayload::decode(&bytes[..]).is_err());
    }
}
