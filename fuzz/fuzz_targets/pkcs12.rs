#![no_main]
//! Fuzz target `pkcs12`: see `rootsift_fuzz::pkcs12` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::pkcs12(data);
});
