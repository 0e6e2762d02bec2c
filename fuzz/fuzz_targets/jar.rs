#![no_main]
//! Fuzz target `jar`: see `rootsift_fuzz::jar` (fuzz/src/lib.rs) for what it runs and checks.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rootsift_fuzz::jar(data);
});
