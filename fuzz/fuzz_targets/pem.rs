#![no_main]
//! Fuzz target `pem`: see `rootsift_fuzz::pem` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::pem(data);
});
