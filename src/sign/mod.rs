//! Code-signing signatures: Authenticode in PE/EFI files, JAR signers, Linux kernel module
//! signatures — parsed, and verified where the bytes allow it.
//!
//! Every parser here is a pure function of a byte slice (the file or archive member), like the
//! certificate detectors in [`crate::detect`]: no I/O, bounded by its input, never panics on it.
//! A parser answers [`Signed`]: not a format it signs, a signable file with no signature, or the
//! signatures found — a malformed one among them with `verified: Some(false)` and the reason.

pub mod authenticode;
pub mod cms;
pub mod jar;
pub mod kmod;
pub mod verify;

pub use crate::signature::{Signature, SignatureFormat, Signer, Timestamp, TimestampKind};

/// What a signature parser makes of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// Not a file of this signing format.
    NotSignable,
    /// A file of the format, carrying no signature.
    Unsigned,
    /// The signatures found, malformed ones included.
    Signatures(Vec<Signature>),
}

/// Options every signature parser takes.
#[derive(Debug, Clone, Copy)]
pub struct SignOptions {
    /// Verify digests and signatures (`--no-verify` turns it off).
    pub verify: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions { verify: true }
    }
}

mod dispatch;
pub mod manifest;
pub mod trust;

pub use dispatch::{Signatures, needs_whole_buffer, scan};
