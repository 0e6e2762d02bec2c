#![no_main]
//! Fuzz target `manifest`: see `rootsift_fuzz::manifest` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::manifest(data);
});
