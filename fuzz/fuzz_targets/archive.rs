#![no_main]
//! Fuzz target `archive`: see `rootsift_fuzz::archive` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::archive(data);
});
