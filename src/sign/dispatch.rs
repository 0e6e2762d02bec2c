//! Which signature parser a buffer goes to, judged by its first bytes.

use super::{SignOptions, Signed, authenticode, jar, kmod};
use crate::cert::CertCache;

/// Whether a file that starts with `head` may carry a signature, so must be read whole: a PE/EFI
/// image (`MZ`), an ELF object (kernel modules) or a zip (JARs).
pub fn needs_whole_buffer(head: &[u8]) -> bool {
    head.starts_with(b"MZ") || head.starts_with(b"\x7fELF") || head.starts_with(b"PK\x03\x04")
}

/// The signatures in one whole file or archive member.
pub fn scan(data: &[u8], cache: &CertCache, options: &SignOptions) -> Signed {
    if data.starts_with(b"MZ") {
        authenticode::scan(data, cache, options)
    } else if data.starts_with(b"\x7fELF") {
        kmod::scan(data, cache, options)
    } else if data.starts_with(b"PK\x03\x04") {
        jar::scan(data, cache, options)
    } else {
        Signed::NotSignable
    }
}
