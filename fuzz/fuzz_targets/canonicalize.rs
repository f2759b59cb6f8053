//! Arbitrary JSON through the RFC 8785 canonicaliser and the request hash.
#![no_main]

#[allow(dead_code)] // Each target uses one of the checks.
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| checks::canonicalize(bytes));
