//! Which signature parser a buffer goes to, judged by its first bytes.
//!
//! Compressed kernel modules (`.ko.xz`, `.ko.zst`, `.ko.gz`, as the kernel's `modules_install`
//! and distributions such as Debian 13 write them) carry their signature inside the compressed
//! data: the module was signed, then compressed. A compressed buffer is peeked at (its first 64
//! decompressed bytes); only an ELF relocatable object is decompressed whole, up to
//! [`MAX_MODULE`], and its signature read as a module's.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::{SignOptions, Signed, authenticode, jar, kmod};
use crate::analyzer::{Analyzer, Buffer, Output, Piece, Scope};
use crate::cert::CertCache;

/// The largest decompressed kernel module read (the largest real ones are tens of MiB).
pub const MAX_MODULE: usize = 256 << 20;

const XZ: &[u8] = b"\xfd7zXZ\x00";
const ZSTD: &[u8] = b"\x28\xb5\x2f\xfd";
const GZIP: &[u8] = b"\x1f\x8b";

/// Whether a file that starts with `head` may carry a signature, so must be read whole: a PE/EFI
/// image (`MZ`), an ELF object (kernel modules), a zip (JARs), or a compressed kernel module.
pub fn needs_whole_buffer(head: &[u8]) -> bool {
    [&b"MZ"[..], b"\x7fELF", b"PK\x03\x04", XZ, ZSTD, GZIP]
        .iter()
        .any(|magic| head.starts_with(magic))
}

/// Signature parsing as one of the scan's analyzers: whole files and archive members only.
pub struct Signatures<'a> {
    /// Memo of parsed certificates, shared with the rest of the scan.
    pub cache: &'a CertCache,
    /// How to parse.
    pub options: SignOptions,
}

impl Analyzer for Signatures<'_> {
    fn scope(&self) -> Scope {
        Scope::Whole
    }

    fn needs_whole(&self, head: &[u8]) -> bool {
        needs_whole_buffer(head)
    }

    fn analyze(&self, buffer: Buffer<'_>, out: &mut dyn Output) {
        debug_assert_eq!(buffer.piece, Piece::Whole);
        match scan(buffer.data, self.cache, &self.options) {
            Signed::NotSignable => {}
            Signed::Unsigned => out.unsigned(),
            Signed::Signatures(signatures) => {
                out.signatures(Sha256::digest(buffer.data).into(), signatures)
            }
        }
    }
}

/// The signatures in one whole file or archive member.
pub fn scan(data: &[u8], cache: &CertCache, options: &SignOptions) -> Signed {
    if data.starts_with(b"MZ") {
        authenticode::scan(data, cache, options)
    } else if data.starts_with(b"\x7fELF") {
        kmod::scan(data, cache, options)
    } else if data.starts_with(b"PK\x03\x04") {
        jar::scan(data, cache, options)
    } else if let Some(module) = compressed_module(data) {
        kmod::scan(&module, cache, options)
    } else {
        Signed::NotSignable
    }
}

/// The decompressed bytes of a compressed ELF relocatable object (a kernel module), if `data`
/// is one.
fn compressed_module(data: &[u8]) -> Option<Vec<u8>> {
    let head = decompress(data, 64)?;
    let relocatable = match head.get(5) {
        Some(1) => head.get(16..18) == Some(&[1, 0][..]),
        Some(2) => head.get(16..18) == Some(&[0, 1][..]),
        _ => false,
    };
    if !head.starts_with(b"\x7fELF") || !relocatable {
        return None;
    }
    decompress(data, MAX_MODULE)
}

/// Up to `limit` decompressed bytes of an xz, zstd or gzip buffer (fewer if it ends first; none
/// if it is corrupt before that).
fn decompress(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Bounded {
        data: Vec::new(),
        limit,
    };
    if data.starts_with(XZ) {
        // Stops with an error once the bound is reached: what was written is kept.
        let result = lzma_rs::xz_decompress(&mut io::BufReader::new(data), &mut out);
        if result.is_err() && out.data.len() < limit {
            return None;
        }
    } else if data.starts_with(ZSTD) {
        let decoder = zstd::stream::read::Decoder::new(data).ok()?;
        decoder.take(limit as u64).read_to_end(&mut out.data).ok()?;
    } else if data.starts_with(GZIP) {
        flate2::read::MultiGzDecoder::new(data)
            .take(limit as u64)
            .read_to_end(&mut out.data)
            .ok()?;
    } else {
        return None;
    }
    Some(out.data)
}

/// A writer that keeps at most `limit` bytes and fails past them.
struct Bounded {
    data: Vec<u8>,
    limit: usize,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.limit - self.data.len();
        if room == 0 {
            return Err(io::Error::other("decompression bound reached"));
        }
        let n = buf.len().min(room);
        self.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compressed_relocatable_elf_objects_are_decompressed_whole() {
        let mut module =
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00".to_vec();
        module.resize(4096, 7);
        let zst = zstd::encode_all(module.as_slice(), 3).unwrap();
        assert_eq!(compressed_module(&zst).as_deref(), Some(module.as_slice()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&module).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(compressed_module(&gz).as_deref(), Some(module.as_slice()));
        // An executable (ET_EXEC) and a text file are left alone.
        let mut exec = module.clone();
        exec[16] = 2;
        assert!(compressed_module(&zstd::encode_all(exec.as_slice(), 3).unwrap()).is_none());
        assert!(compressed_module(&zstd::encode_all(&b"hello"[..], 3).unwrap()).is_none());
        // Corrupt or truncated input: nothing, never a panic.
        assert!(compressed_module(&zst[..zst.len() / 2]).is_none());
        assert!(compressed_module(b"\xfd7zXZ\x00garbage").is_none());
        assert!(needs_whole_buffer(XZ) && needs_whole_buffer(ZSTD) && needs_whole_buffer(GZIP));
    }
}
