//! rootsift: find every certificate and code-signing signature in a root filesystem.
//!
//! Data flows one way: [`source`] (where bytes come from) → [`detect`] (pure parsers) → [`cert`]
//! (the certificate model, cached by fingerprint) → [`scan`] (drives it all in parallel and streams
//! [`scan::Record`]s) → [`report`] (output formats). See `ARCHITECTURE.md`.

#![warn(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Only `source` (mmap, the SIGBUS guard) and `fuse` (the mount's glue) may hold `unsafe`.

#[forbid(unsafe_code)]
pub mod analyze;
#[forbid(unsafe_code)]
pub mod analyzer;
#[forbid(unsafe_code)]
pub mod cert;
#[forbid(unsafe_code)]
pub mod container;
#[forbid(unsafe_code)]
pub mod detect;
pub mod fuse;
#[forbid(unsafe_code)]
pub mod parallel;
#[forbid(unsafe_code)]
pub mod record;
#[forbid(unsafe_code)]
pub mod report;
#[forbid(unsafe_code)]
pub mod scan;
#[forbid(unsafe_code)]
pub mod sign;
#[forbid(unsafe_code)]
pub mod signature;
pub mod source;
#[forbid(unsafe_code)]
pub mod zip;
