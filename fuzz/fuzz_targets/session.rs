#![no_main]
//! cargo-fuzz target: see `yamux_perf::testing::fuzz::session`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| yamux_perf::testing::fuzz::session(data));
