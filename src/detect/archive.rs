//! Zip-family archives (zip, jar, war, ear, apk, whl, nupkg, …), opened in memory.
//!
//! Each member is decompressed into memory and fed back through the whole detector stack, so an
//! archive inside an archive is opened too (`/opt/app.war!/WEB-INF/lib/x.jar!/certs/ca.der`).
//! Hostile archives are bounded three ways: nesting depth, the number of entries, and a budget of
//! decompressed bytes shared by everything inside one top-level file (a zip bomb ends as a partial,
//! not as an out-of-memory kill). The central directory is read with `rawzip` (zero-copy over the
//! buffer). Members are inflated in one call by `libdeflater` into a buffer of the size the directory
//! declares (twice as fast as streaming inflate on real JARs, where inflation dominates a scan); a
//! member whose declared size is wrong falls back to streaming `flate2` with a hard cap.
//!
//! Compiled classes and source files (`.class`, `.java`, …) hold certificates only as string
//! constants, rarely, and make up most of the bytes of real JARs; they are opened only when
//! [`Limits::open_code_members`] is set, and counted in [`Budget::members_skipped`] otherwise.

use std::cell::RefCell;
use std::io::Read;

use flate2::bufread::DeflateDecoder;
use rawzip::{CompressionMethod, ZipArchive};

use super::{Budget, Detector, FormatResult, Parser, Sink};

/// Scans every member of the zip archive in `data` (found `depth` archives deep).
pub fn scan(
    det: &Detector<'_>,
    data: &[u8],
    depth: u32,
    budget: &mut Budget,
    sink: &mut dyn Sink,
) -> FormatResult {
    let archive =
        ZipArchive::from_slice(data).map_err(|e| format!("not a readable zip archive: {e}"))?;
    if depth >= det.limits.max_archive_depth {
        sink.partial(
            0,
            Parser::Zip,
            format!(
                "archive nested more than {} levels deep; not opened",
                det.limits.max_archive_depth
            ),
        );
        return Ok(());
    }
    let mut entries = archive.entries();
    let mut count = 0usize;
    loop {
        let record = match entries.next_entry() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(e) => {
                sink.partial(
                    0,
                    Parser::Zip,
                    format!("central directory unreadable after {count} entries: {e}"),
                );
                break;
            }
        };
        count += 1;
        if count > det.limits.max_archive_entries {
            sink.partial(
                0,
                Parser::Zip,
                format!(
                    "more than {} entries; the rest were not read",
                    det.limits.max_archive_entries
                ),
            );
            break;
        }
        if record.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
        if !det.limits.open_code_members && is_code(&name) {
            budget.members_skipped += 1;
            continue;
        }
        let member = archive
            .get_entry(record.wayfinder())
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                let method = record.compression_method();
                let declared = record.uncompressed_size_hint();
                read_member(
                    entry.data(),
                    method,
                    declared,
                    det.limits.max_member_size,
                    budget,
                )
            });
        sink.enter(&name);
        match member {
            Ok(bytes) => det.scan_nested(&bytes, depth + 1, budget, sink),
            Err(reason) => sink.partial(0, Parser::Zip, reason),
        }
        sink.leave();
    }
    Ok(())
}

/// Decompresses one member, refusing to produce more than the member limit or the file's remaining
/// budget, whatever the header claims.
pub(crate) fn read_member(
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
