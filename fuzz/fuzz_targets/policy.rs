#![no_main]
//! Fuzz target `policy`: see `rootsift_fuzz::policy` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::policy(data);
});
