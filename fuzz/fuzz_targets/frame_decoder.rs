#![no_main]
//! cargo-fuzz target: see `yamux_perf::fuzzing::frame_decoder`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| yamux_perf::fuzzing::frame_decoder(data));
