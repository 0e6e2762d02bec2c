//! Reading zip-family archives' members within bounds, shared by the container walker (which
//! opens archives to scan their members) and the JAR signature parser (which reads `META-INF/`).
//!
//! A member is inflated in one call by `libdeflater` into a buffer of the size the central directory
//! declares (twice as fast as streaming inflate on real JARs, where inflation dominates a scan); a
//! member whose declared size is wrong falls back to streaming `flate2` with a hard cap. Every
//! member read from one top-level file is charged to one [`Budget`], so a zip bomb ends as an error
//! for its member, not as an out-of-memory kill.

use std::cell::RefCell;
use std::io::Read;

use flate2::bufread::DeflateDecoder;
use rawzip::CompressionMethod;

/// Whether `data` starts like a zip archive (a local file header, or the end record of an empty
/// archive).
pub fn is_zip(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06")
}

/// Mutable state for the scan of one top-level file: what is left of the decompression budget, and
/// what was left unopened.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Bytes that may still be decompressed.
    pub decompressed_left: u64,
    /// Archive members not opened because they are code ([`Limits::open_code_members`]).
    pub members_skipped: u64,
}

/// Decompresses one member, refusing to produce more than the member limit or the file's remaining
/// budget, whatever the header claims.
pub fn read_member(
    compressed: &[u8],
    method: CompressionMethod,
    declared: u64,
    max_member: u64,
    budget: &mut Budget,
) -> Result<Vec<u8>, String> {
    let allowed = max_member.min(budget.decompressed_left);
    let bytes = if method == CompressionMethod::STORE {
        if compressed.len() as u64 > allowed {
            return Err(too_big(allowed, max_member));
        }
        compressed.to_vec()
    } else if method == CompressionMethod::DEFLATE {
        if let Some(out) = inflate_declared(compressed, declared, allowed) {
            budget.decompressed_left -= out.len() as u64;
            return Ok(out);
        }
        let capacity = declared.min(allowed).min(compressed.len() as u64 * 8) as usize;
        let mut out = Vec::with_capacity(capacity);
        DeflateDecoder::new(compressed)
            .take(allowed + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("deflate stream is corrupt: {e}"))?;
        if out.len() as u64 > allowed {
            budget.decompressed_left = budget.decompressed_left.saturating_sub(allowed);
            return Err(too_big(allowed, max_member));
        }
        out
    } else {
        return Err(format!("compression method {method} is not supported"));
    };
    budget.decompressed_left = budget.decompressed_left.saturating_sub(bytes.len() as u64);
    Ok(bytes)
}

/// Inflates in one call into exactly `declared` bytes, if that is within `allowed` and plausible
/// (DEFLATE cannot expand more than 1032:1). `None` when the declared size turns out wrong.
fn inflate_declared(compressed: &[u8], declared: u64, allowed: u64) -> Option<Vec<u8>> {
    thread_local! {
        static INFLATER: RefCell<libdeflater::Decompressor> = RefCell::new(libdeflater::Decompressor::new());
    }
    if declared > allowed || declared > (compressed.len() as u64).saturating_mul(1032) + 1024 {
        return None;
    }
    let mut out = vec![0u8; declared as usize];
    let n = INFLATER
        .with(|d| d.borrow_mut().deflate_decompress(compressed, &mut out))
        .ok()?;
    (n as u64 == declared).then_some(out)
}

/// Whether a member is compiled code or source code, opened only on request.
pub fn is_code(name: &str) -> bool {
    const CODE: [&str; 6] = [".class", ".java", ".kt", ".scala", ".groovy", ".clj"];
    let name = name.as_bytes();
    CODE.iter().any(|ext| {
        name.len() > ext.len()
            && name[name.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
    })
}

fn too_big(allowed: u64, max_member: u64) -> String {
    if allowed < max_member {
        "decompressed-size budget for this file exhausted (zip bomb?); member not scanned"
            .to_string()
    } else {
        format!("member larger than {max_member} bytes when decompressed; not scanned")
    }
}

#[cfg(test)]
mod tests {
    use super::is_code;

    #[test]
    fn code_members_are_recognised_whatever_the_name() {
        assert!(is_code("a/B.class"));
        assert!(is_code("X.JAVA"));
        assert!(!is_code(".class"));
        assert!(!is_code("certs/ca.pem"));
        assert!(!is_code("ελ"));
        assert!(!is_code("日本語.clas"));
    }
}
