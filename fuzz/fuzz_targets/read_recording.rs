//! Arbitrary bytes through the recording reader (both formats) and the normalize
//! tool's raw view. Seed it with real recordings: see fuzz/README.md.
#![no_main]

#[allow(dead_code)] // Each target uses one of the checks.
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| checks::read_recording(bytes));
