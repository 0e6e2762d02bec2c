#![no_main]
//! Fuzz target `jks`: see `rootsift_fuzz::jks` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::jks(data);
});
