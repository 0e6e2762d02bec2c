#![no_main]
//! Fuzz target `kmod`: see `rootsift_fuzz::kmod` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::kmod(data);
});
