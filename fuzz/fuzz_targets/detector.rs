#![no_main]
//! Fuzz target `detector`: see `rootsift_fuzz::detector` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::detector(data);
});
