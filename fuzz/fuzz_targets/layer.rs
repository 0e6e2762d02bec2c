#![no_main]
//! Fuzz target `layer`: see `rootsift_fuzz::layer` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::layer(data);
});
