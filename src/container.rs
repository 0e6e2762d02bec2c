//! The container walker: hands a file's bytes to every registered analyzer, and opens zip-family
//! archives (zip, jar, war, ear, apk, whl, nupkg, …) in memory to do the same with each member,
//! recursively (`/opt/app.war!/WEB-INF/lib/x.jar!/certs/ca.der`).
//!
//! Hostile archives are bounded three ways: nesting depth, the number of entries, and a budget of
//! decompressed bytes shared by everything inside one top-level file ([`crate::zip::Budget`]). The
//! central directory is read with `rawzip` (zero-copy over the buffer). Compiled classes and source
//! files (`.class`, `.java`, …) hold certificates only as string constants, rarely, and make up most
//! of the bytes of real JARs; they are opened only when [`Limits::open_code_members`] is set, and
//! counted in [`Budget::members_skipped`] otherwise.
//!
//! What cannot be opened is reported as a partial of the `zip` parser, and a buffer that starts
//! like a zip but is not one is then handed to the analyzers like any other.

use rawzip::{ZipArchive, ZipSliceArchive};

use crate::analyzer::{Analyzer, Buffer, Limits, Output, Parser, Piece, Scope};
use crate::zip::{Budget, is_code, is_zip, read_member};

/// The analyzers to run and the bounds to keep.
#[derive(Clone, Copy)]
pub struct Walker<'a> {
    /// Every analyzer, in the order they are handed each buffer.
    pub analyzers: &'a [Box<dyn Analyzer + 'a>],
    /// Bounds on archives.
    pub limits: &'a Limits,
}

impl Walker<'_> {
    /// Whether a file that starts with `head` must be read whole (an archive, or a format one of
    /// the analyzers reads whole), rather than window by window.
    pub fn needs_whole(&self, head: &[u8]) -> bool {
        is_zip(head) || self.analyzers.iter().any(|a| a.needs_whole(head))
    }

    /// Walks one piece of a top-level file, with a fresh decompression budget, which is returned to
    /// tell what was used and skipped. A [`Piece::Continuation`] is only handed to the analyzers
    /// that want every byte.
    pub fn walk(&self, buffer: Buffer<'_>, out: &mut dyn Output) -> Budget {
        let mut budget = Budget {
            decompressed_left: self.limits.max_decompressed,
            members_skipped: 0,
        };
        if buffer.piece == Piece::Continuation {
            self.content(buffer, out);
        } else {
            self.nested(buffer, 0, &mut budget, out);
        }
        budget
    }

    /// Hands a buffer found `depth` archives deep to the analyzers; opens it if it is an archive.
    fn nested(&self, buffer: Buffer<'_>, depth: u32, budget: &mut Budget, out: &mut dyn Output) {
        if buffer.piece == Piece::Whole {
            for analyzer in self.analyzers {
                if analyzer.scope() == Scope::Whole {
                    analyzer.analyze(buffer, out);
                }
            }
        }
        if is_zip(buffer.data) {
            match ZipArchive::from_slice(buffer.data) {
                Ok(archive) => return self.members(&archive, depth, budget, out),
                Err(e) => out.partial(0, Parser::Zip, format!("not a readable zip archive: {e}")),
            }
        }
        self.content(buffer, out);
    }

    /// Hands a buffer to the analyzers that want every byte.
    fn content(&self, buffer: Buffer<'_>, out: &mut dyn Output) {
        for analyzer in self.analyzers {
            if analyzer.scope() == Scope::Content {
                analyzer.analyze(buffer, out);
            }
        }
    }

    /// Walks every member of an archive found `depth` archives deep.
    fn members(
        &self,
        archive: &ZipSliceArchive<&[u8]>,
        depth: u32,
        budget: &mut Budget,
        out: &mut dyn Output,
    ) {
        let limits = self.limits;
        if depth >= limits.max_archive_depth {
            out.partial(
                0,
                Parser::Zip,
                format!(
                    "archive nested more than {} levels deep; not opened",
                    limits.max_archive_depth
                ),
            );
            return;
        }
        let mut entries = archive.entries();
        let mut count = 0usize;
        loop {
            let record = match entries.next_entry() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(e) => {
                    out.partial(
                        0,
                        Parser::Zip,
                        format!("central directory unreadable after {count} entries: {e}"),
                    );
                    break;
                }
            };
            count += 1;
            if count > limits.max_archive_entries {
                out.partial(
                    0,
                    Parser::Zip,
                    format!(
                        "more than {} entries; the rest were not read",
                        limits.max_archive_entries
                    ),
                );
                break;
            }
            if record.is_dir() {
                continue;
            }
            let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
            if !limits.open_code_members && is_code(&name) {
                budget.members_skipped += 1;
                continue;
            }
            let member = archive
                .get_entry(record.wayfinder())
                .map_err(|e| e.to_string())
                .and_then(|entry| {
                    read_member(
                        entry.data(),
                        record.compression_method(),
                        record.uncompressed_size_hint(),
                        limits.max_member_size,
                        budget,
                    )
                });
            out.enter(&name);
            match member {
                Ok(bytes) => {
                    let member = Buffer {
                        data: &bytes,
                        piece: Piece::Whole,
                    };
                    self.nested(member, depth + 1, budget, out);
                }
                Err(reason) => out.partial(0, Parser::Zip, reason),
            }
            out.leave();
        }
    }
}
