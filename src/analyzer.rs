//! The analyzer contract: what every analyzer (certificate detection, signature parsing, …)
//! implements, what it is handed, and where it puts what it finds.
//!
//! The container walker ([`crate::container`]) hands every buffer — a whole file, a window of a
//! large one, an archive member — to each registered [`Analyzer`] whose [`Scope`] wants it, and
//! opens zip-family archives itself, feeding their members back. An analyzer is a pure function of
//! the bytes: it never does I/O, never sees where the bytes came from, and reports through
//! [`Output`], whose implementation (the driver's) turns offsets and member names into locations.

use std::sync::Arc;

use crate::cert::Certificate;
pub use crate::record::Parser;
use crate::signature::Signature;

/// Receives the certificates and partials a detector finds. Offsets are relative to the buffer
/// being scanned (for an archive member: to the member's uncompressed bytes).
pub trait Sink {
    /// A certificate was found at `offset`.
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser);
    /// Something that starts like a certificate (or a store of them) could not be read.
    fn partial(&mut self, offset: u64, parser: Parser, reason: String);
}

/// Bounds that keep hostile input from exhausting memory or time.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How many archives deep to open (a file is depth 0, a member of it depth 1, …).
    pub max_archive_depth: u32,
    /// Total bytes that may be decompressed from one file, across all nested members.
    pub max_decompressed: u64,
    /// Largest single archive member that is decompressed into memory.
    pub max_member_size: u64,
    /// Most entries read from one archive.
    pub max_archive_entries: usize,
    /// Most bytes of base64 text accepted for one PEM block.
    pub max_pem_body: usize,
    /// Also decompress compiled classes and source files inside archives (`.class`, `.java`, …).
    pub open_code_members: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_archive_depth: 8,
            max_decompressed: 4 << 30,
            max_member_size: 512 << 20,
            max_archive_entries: 1_000_000,
            max_pem_body: 1 << 20,
            open_code_members: false,
        }
    }
}

/// Which buffers an analyzer is handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every byte: whole files, archive members, and each window of a file read piecewise; but
    /// not the bytes of an archive the walker opened (its members come instead).
    Content,
    /// Whole files and archive members only, opened archives included: what is signed is the
    /// whole.
    Whole,
}

/// Which part of a file a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// The whole file or archive member.
    Whole,
    /// The start of a file read window by window: its format can be judged, but it is not all.
    Start,
    /// A later window or data extent of such a file: only searched, its format was judged at the
    /// start.
    Continuation,
}

/// One buffer handed to an analyzer.
#[derive(Debug, Clone, Copy)]
pub struct Buffer<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// Which part of the file or member they are.
    pub piece: Piece,
}

/// Where analyzers put what they find; the walker's implementation adds the location.
pub trait Output: Sink {
    /// What follows, until the matching [`Output::leave`], is inside archive member `name` (called
    /// by the container walker only).
    fn enter(&mut self, name: &str);
    /// Back out of the member entered last.
    fn leave(&mut self);
    /// The buffer is of a signable format and carries no signature.
    fn unsigned(&mut self);
    /// The buffer carries these signatures; `digest` is the SHA-256 of the whole buffer.
    fn signatures(&mut self, digest: [u8; 32], signatures: Vec<Signature>);
}

/// One analyzer: a kind of thing looked for in every buffer.
pub trait Analyzer: Sync {
    /// Which buffers it wants.
    fn scope(&self) -> Scope;
    /// Whether a file whose first bytes are `head` must be read whole for this analyzer (rather
    /// than window by window).
    fn needs_whole(&self, head: &[u8]) -> bool;
    /// Looks at one buffer, reporting to `out`.
    fn analyze(&self, buffer: Buffer<'_>, out: &mut dyn Output);
}
