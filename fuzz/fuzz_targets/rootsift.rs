#![no_main]
//! The one fuzz binary: `FUZZ_TARGET=NAME` picks which of rootsift's fuzz targets it runs (the
//! functions of `fuzz/src/lib.rs`, listed in `rootsift_fuzz::TARGETS`). One binary instead of one
//! per target: every target links the whole library, so one build and one link serve them all.
//!
//!     FUZZ_TARGET=pem cargo fuzz run rootsift fuzz/corpus/pem

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static TARGET: OnceLock<rootsift_fuzz::Target> = OnceLock::new();

fuzz_target!(
    init: {
        let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
        match rootsift_fuzz::target(&name) {
            Some(target) => {
                let _ = TARGET.set(target);
            }
            None => {
                let names: Vec<&str> = rootsift_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
                eprintln!("set FUZZ_TARGET to one of: {}", names.join(" "));
                std::process::exit(2);
            }
        }
    },
    |data: &[u8]| {
        if let Some(target) = TARGET.get() {
            target(data);
        }
    }
);
