#![no_main]
//! Fuzz target `authenticode`: see `rootsift_fuzz::authenticode` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::authenticode(data);
});
