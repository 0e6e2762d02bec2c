#![no_main]
//! Fuzz target `der`: see `rootsift_fuzz::der` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::der(data);
});
