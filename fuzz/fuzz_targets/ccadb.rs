#![no_main]
//! Fuzz target `ccadb`: see `rootsift_fuzz::ccadb` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::ccadb(data);
});
