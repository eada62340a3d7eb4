//! Fuzz target bodies, shared by the cargo-fuzz targets in `fuzz/` and by the corpus replay and
//! property tests that run in `cargo test`.
//!
//! Each function takes arbitrary bytes, drives one parser or state machine with them and panics
//! only when an invariant breaks (a panic inside the code under test is a finding too).
//!
//! - [`frame_decoder`]: the yamux 12-byte header codec.
//! - [`session`]: two sans-IO yamux sessions wired together, driven by an interpreted list of
//!   API calls, partial deliveries, injected peer bytes and clock steps.
//! - [`multistream`]: message framing and both negotiation roles over an in-memory stream.
//! - [`noise_transport`]: the length-prefixed transport message reader
//!   ([`Opener`](crate::noise::Opener)).
//! - [`noise_handshake`]: the handshake message reader and the payload decoder and verifier.

mod frame;
mod multistream;
mod noise;
#[cfg(test)]
mod seeds;
mod session;

pub use frame::frame_decoder;
pub use multistream::multistream;
pub use noise::{noise_handshake, noise_transport};
pub use session::session;

/// The names of the targets, which are also the folder names of their seed corpora under
/// `fuzz/corpus/`.
pub const TARGETS: [&str; 5] = [
    "frame_decoder",
    "session",
    "multistream",
    "noise_transport",
    "noise_handshake",
];

/// Runs the target called `name` (one of [`TARGETS`]) on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "frame_decoder" => frame_decoder(data),
        "session" => session(data),
        "multistream" => multistream(data),
        "noise_transport" => noise_transport(data),
        "noise_handshake" => noise_handshake(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

/// A cursor over the fuzz input; reads past the end give zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The committed seed corpora, replayed through the same functions the fuzz targets call.
    #[test]
    fn seed_corpora_replay_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for target in TARGETS {
            let dir = root.join(target);
            let mut count = 0;
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                run(target, &data);
                count += 1;
            }
            assert!(count > 0, "no seeds for {target}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        #[test]
        fn fuzz_smoke_frame_decoder(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            frame_decoder(&data);
        }

        #[test]
        fn fuzz_smoke_session(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            session(&data);
        }

        #[test]
        fn fuzz_smoke_multistream(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            multistream(&data);
        }

        #[test]
        fn fuzz_smoke_noise_transport(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            noise_transport(&data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn fuzz_smoke_noise_handshake(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            noise_handshake(&data);
        }
    }
}
