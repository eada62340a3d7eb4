//! The committed seed corpora under `fuzz/corpus/`, and the test that writes them.

use bytes::BytesMut;

use super::noise::fuzz_identity;
use crate::multistream;
use crate::noise::{Handshake, Sealer, cipher::KEY_LEN};
use crate::yamux::frame::{Flags, Header, go_away};

/// Writes the seed corpora under `fuzz/corpus/` (run once by hand with `--ignored`; the
/// files are committed).
#[test]
#[ignore = "writes the committed seed corpora"]
fn write_seed_corpora() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };

    let headers = [
        Header::window_update(1, Flags::SYN, 0),
        Header::window_update(1, Flags::ACK, 16 * 1024 * 1024),
        Header::data(1, Flags::NONE, 19),
        Header::window_update(1, Flags::FIN, 0),
        Header::window_update(3, Flags::RST, 2),
        Header::ping(Flags::SYN, 7),
        Header::ping(Flags::ACK, 7),
        Header::go_away(go_away::NORMAL),
        Header::go_away(go_away::PROTOCOL_ERROR),
    ];
    let all: Vec<u8> = headers.iter().flat_map(|h| h.encode()).collect();
    write("frame_decoder", "reference_headers", &all);

    // Session scripts: op byte = kind << 1 | side (0 = client, 1 = server).
    let op = |kind: u8, side: u8| (kind << 1) | side;
    let mut transfer = vec![0u8]; // flags: 256 KiB max window, 1 inbound stream, autotune
    transfer.push(op(0, 0)); // client opens stream 1
    for _ in 0..4 {
        transfer.extend([op(1, 0), 0, 0x40, 0x00]); // client writes 16 KiB
        transfer.extend([op(6, 0), 0x10, 0x00]); // client transmits
        transfer.extend([op(7, 1), 0x04, 0x00]); // server receives 8 KiB
        transfer.extend([op(11, 1)]); // server takes events (accepts stream 1)
        transfer.extend([op(2, 1), 0, 0x80, 0x00]); // server reads
        transfer.extend([op(6, 1), 0x10, 0x00, op(7, 0), 0x10, 0x00]); // updates back
    }
    transfer.extend([op(1, 1), 0, 0x10, 0x00]); // server answers 4 KiB
    transfer.extend([op(3, 1), 0]); // and half-closes
    transfer.extend([op(6, 1), 0x10, 0x00, op(7, 0), 0x10, 0x00]);
    transfer.extend([op(2, 0), 0, 0x80, 0x00, op(2, 0), 0, 0x80, 0x00]);
    transfer.extend([op(9, 0), 0x27, 0x10]); // 40 s later: pings due
    transfer.extend([op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00]);
    transfer.extend([op(10, 0), 0]); // client GoAway
    transfer.extend([op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00]);
    write("session", "transfer_and_close", &transfer);

    let mut many = vec![0x1cu8]; // 8 inbound streams at most
    for _ in 0..12 {
        many.extend([op(0, 1), op(1, 1), 0xff, 0x01, 0x00]);
    }
    many.extend([op(6, 1), 0xff, 0xff, op(7, 0), 0xff, 0xff, op(11, 0)]);
    many.extend([
        op(4, 0),
        3,
        9,
        op(5, 0),
        1,
        op(6, 0),
        0x01,
        0x00,
        op(7, 1),
        0x01,
        0x00,
    ]);
    write("session", "stream_limit_reset_detach", &many);

    let mut hostile = vec![0u8, op(0, 0), op(6, 0), 0x01, 0x00, op(7, 1), 0x01, 0x00];
    let mut garbage = Vec::new();
    garbage.extend(Header::data(1, Flags::NONE, 300_000).encode());
    garbage.extend(Header::window_update(1, Flags::NONE, u32::MAX).encode());
    hostile.extend([op(8, 0), garbage.len() as u8]);
    hostile.extend(&garbage);
    write("session", "hostile_window", &hostile);

    // multistream: a listener given a lazy proposal, one given `ls` and a bad id first, a
    // dialer given the echo.
    let mut listener = vec![0x00u8];
    let mut out = BytesMut::new();
    multistream::encode_proposal("/noise", &mut out);
    listener.extend(&out);
    write("multistream", "listener_noise", &listener);
    let mut out = BytesMut::new();
    multistream::encode_message(multistream::HEADER, &mut out);
    multistream::encode_message("ls", &mut out);
    multistream::encode_message("/tls/1.0.0", &mut out);
    multistream::encode_message("/perf/1.0.0", &mut out);
    let mut listener = vec![0x03u8];
    listener.extend(&out);
    write("multistream", "listener_na_then_perf", &listener);
    let mut dialer = vec![0x47u8];
    dialer.extend(multistream::expected_echo("/yamux/1.0.0"));
    write("multistream", "dialer_echo", &dialer);
    let mut dialer_na = vec![0x40u8];
    let mut out = BytesMut::new();
    multistream::encode_message(multistream::HEADER, &mut out);
    multistream::encode_message("na", &mut out);
    dialer_na.extend(&out);
    write("multistream", "dialer_na", &dialer_na);

    // Noise transport: sealed messages from another key (rejected), and plaintexts.
    let mut sealer = Sealer::new(&[1; KEY_LEN]);
    let mut wire = BytesMut::new();
    sealer.seal(b"hello yamux", &mut wire).unwrap();
    sealer.seal(b"", &mut wire).unwrap();
    let mut foreign = vec![0x02u8];
    foreign.extend(&wire);
    write("noise_transport", "foreign_key_messages", &foreign);
    let mut plain = vec![0x85u8];
    plain.extend(b"first message\0second\0\0fourth after an empty one");
    write("noise_transport", "roundtrip_messages", &plain);
    let mut big = vec![0xffu8];
    big.extend(std::iter::repeat_n(0xabu8, 70_000));
    write("noise_transport", "roundtrip_split_max", &big);

    // Noise handshake: a real message 1, and a real payload signed over a static key.
    let mut initiator = Handshake::initiator(fuzz_identity(), None, &["/yamux/1.0.0"]).unwrap();
    let mut message1 = BytesMut::new();
    initiator.write_message(&mut message1).unwrap();
    let mut m1 = vec![0x01u8];
    m1.extend(&message1);
    write("noise_handshake", "message1", &m1);
    let remote_static = [0x5au8; 32];
    let mut signed = b"noise-libp2p-static-key:".to_vec();
    signed.extend_from_slice(&remote_static);
    let payload = crate::noise::payload::NoiseHandshakePayload {
        identity_key: fuzz_identity().public().encode_protobuf(),
        identity_sig: fuzz_identity().sign(&signed).unwrap(),
        extensions: Some(crate::noise::payload::NoiseExtensions {
            webtransport_certhashes: Vec::new(),
            stream_muxers: vec!["/yamux/1.0.0".into()],
        }),
    };
    let mut p = vec![0x00u8];
    p.extend(remote_static);
    p.extend(prost::Message::encode_to_vec(&payload));
    assert!(crate::noise::handshake::verify_payload(&p[33..], &remote_static).is_ok());
    write("noise_handshake", "signed_payload", &p);
}
