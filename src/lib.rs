//! rootsift: find every certificate and code-signing signature in a root filesystem.
//!
//! Data flows one way: [`source`] (where bytes come from) → [`detect`] (pure parsers) → [`cert`]
//! (the certificate model, cached by fingerprint) → [`scan`] (drives it all in parallel and streams
//! [`scan::Record`]s) → [`report`] (output formats). See `ARCHITECTURE.md`.

pub mod analyze;
pub mod analyzer;
pub mod cert;
pub mod container;
pub mod detect;
pub mod fuse;
pub mod parallel;
pub mod record;
pub mod report;
pub mod scan;
pub mod sign;
pub mod signature;
pub mod source;
pub mod zip;
