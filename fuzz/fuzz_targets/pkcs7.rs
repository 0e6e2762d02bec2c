#![no_main]
//! Fuzz target `pkcs7`: see `rootsift_fuzz::pkcs7` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::pkcs7(data);
});
