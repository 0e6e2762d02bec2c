//! Zip-family archives (zip, jar, war, ear, apk, whl, nupkg, …), opened in memory.
//!
//! Each member is decompressed into memory and fed back through the whole detector stack, so an
//! archive inside an archive is opened too (`/opt/app.war!/WEB-INF/lib/x.jar!/certs/ca.der`).
//! Hostile archives are bounded three ways: nesting depth, the number of entries, and a budget of
//! decompressed bytes shared by everything inside one top-level file (a zip bomb ends as a partial,
//! not as an out-of-memory kill). The central directory is read with `rawzip` (zero-copy over the
//! buffer); members are inflated with `flate2`.

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
    let archive = ZipArchive::from_slice(data).map_err(|e| format!("not a readable zip archive: {e}"))?;
    if depth >= det.limits.max_archive_depth {
        sink.partial(
            0,
            Parser::Zip,
            format!("archive nested more than {} levels deep; not opened", det.limits.max_archive_depth),
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
                sink.partial(0, Parser::Zip, format!("central directory unreadable after {count} entries: {e}"));
                break;
            }
        };
        count += 1;
        if count > det.limits.max_archive_entries {
            sink.partial(
                0,
                Parser::Zip,
                format!("more than {} entries; the rest were not read", det.limits.max_archive_entries),
            );
            break;
        }
        if record.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
        let member = archive
            .get_entry(record.wayfinder())
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                let method = record.compression_method();
                let declared = record.uncompressed_size_hint();
                read_member(entry.data(), method, declared, det.limits.max_member_size, budget)
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
fn read_member(
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

fn too_big(allowed: u64, max_member: u64) -> String {
    if allowed < max_member {
        "decompressed-size budget for this file exhausted (zip bomb?); member not scanned".to_string()
    } else {
        format!("member larger than {max_member} bytes when decompressed; not scanned")
    }
}
