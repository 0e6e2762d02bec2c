#![no_main]
//! Fuzz target `cms`: see `rootsift_fuzz::cms` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::cms(data);
});
