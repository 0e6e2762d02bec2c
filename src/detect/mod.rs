//! Certificate detectors: pure functions from bytes to findings.
//!
//! [`Detector::scan`] looks at one buffer (a file's contents or an archive member), decides what it
//! is by its content (never by its name), and reports every certificate and every partial to a
//! [`Sink`]. Structured formats (zip family, JKS/JCEKS, PKCS#12, PKCS#7, a lone DER certificate) are
//! parsed as such; everything else is searched for PEM blocks (also inside base64) and for DER
//! certificates embedded anywhere. Archive members are fed back through [`Detector::scan_nested`]
//! with a depth limit and a decompressed-size budget. Nothing in here does I/O.

pub mod archive;
pub(crate) mod ber;
pub mod der;
pub mod jks;
pub mod pem;
pub mod pkcs12;
pub mod pkcs7;

use std::sync::Arc;

use crate::cert::{CertCache, Certificate, der_object_len};

/// Which detector found a certificate or a partial; serialised as the `parser` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Parser {
    /// A PEM block (`CERTIFICATE`, `TRUSTED CERTIFICATE`, `X509 CERTIFICATE`).
    Pem,
    /// A PEM block found inside base64 text (kubeconfig `certificate-authority-data`).
    Base64Pem,
    /// A bare DER certificate, as a whole file or embedded in a binary.
    Der,
    /// A PKCS#7 / CMS SignedData bundle (`.p7b`, `.p7c`, PEM `PKCS7`).
    Pkcs7,
    /// A PKCS#12 store.
    Pkcs12,
    /// A Java KeyStore.
    Jks,
    /// A Java JCEKS store.
    Jceks,
    /// A zip-family archive (zip, jar, war, ear, apk, whl, nupkg).
    Zip,
}

impl Parser {
    /// The name written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Parser::Pem => "pem",
            Parser::Base64Pem => "base64-pem",
            Parser::Der => "der",
            Parser::Pkcs7 => "pkcs7",
            Parser::Pkcs12 => "pkcs12",
            Parser::Jks => "jks",
            Parser::Jceks => "jceks",
            Parser::Zip => "zip",
        }
    }
}

impl std::fmt::Display for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives what detectors find. Offsets are relative to the buffer being scanned (for an archive
/// member: to the member's uncompressed bytes).
pub trait Sink {
    /// A certificate was found at `offset`.
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser);
    /// Something that starts like a certificate (or a store of them) could not be read.
    fn partial(&mut self, offset: u64, parser: Parser, reason: String);
    /// What follows, until the matching [`Sink::leave`], is inside archive member `name`.
    fn enter(&mut self, name: &str);
    /// Back out of the member entered last.
    fn leave(&mut self);
    /// Every buffer the detectors take up as a unit — a file, an archive member — before they
    /// look into it (the signature scan hooks in here). Does nothing by default.
    fn buffer(&mut self, _data: &[u8]) {}
    /// Whether certificates are wanted. When not, the detectors only open archives, to hand their
    /// members to [`Sink::buffer`].
    fn wants_certificates(&self) -> bool {
        true
    }
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

/// Passwords tried on PKCS#12 stores, in order, before a store is reported as a partial.
pub const DEFAULT_PKCS12_PASSWORDS: [&str; 2] = ["", "changeit"];

/// What a structured parser returns when the bytes are not the format it was asked to read; the
/// dispatcher reports it as a partial and falls back to the generic PEM/DER search.
pub type FormatResult = Result<(), String>;

/// Mutable state for the scan of one top-level file: what is left of the decompression budget, and
/// what was left unopened.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Bytes that may still be decompressed.
    pub decompressed_left: u64,
    /// Archive members not opened because they are code ([`Limits::open_code_members`]).
    pub members_skipped: u64,
}

/// The detectors with their shared configuration: the certificate cache, the limits and the
/// PKCS#12 passwords to try.
pub struct Detector<'a> {
    /// Memo of parsed certificates.
    pub cache: &'a CertCache,
    /// Bounds on archives and blocks.
    pub limits: &'a Limits,
    /// Passwords tried on PKCS#12 stores.
    pub passwords: &'a [String],
}

/// What a buffer is, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Jks,
    Jceks,
    Pkcs12,
    Pkcs7,
    /// One DER object of this many bytes, followed by nothing but line ends or zero padding.
    SingleDer(usize),
    Other,
}

const OID_PKCS7_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];
const OID_PKCS7_SIGNED_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];

/// Length of the BER/DER header at the start of `data` (tag byte included), definite or indefinite.
fn header_len(data: &[u8]) -> Option<usize> {
    match *data.get(1)? {
        b if b <= 0x80 => Some(2),
        b => Some(2 + usize::from(b & 0x7f)),
    }
}

fn sniff(data: &[u8]) -> Format {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if data.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return Format::Jks;
    }
    if data.starts_with(&[0xce, 0xce, 0xce, 0xce]) {
        return Format::Jceks;
    }
    if data.first() != Some(&0x30) {
        return Format::Other;
    }
    let inner = header_len(data)
        .and_then(|h| data.get(h..))
        .unwrap_or_default();
    // PFX: SEQUENCE { version INTEGER 3, authSafe ContentInfo { id-data, … }, … }
    if let Some(auth_safe) = inner.strip_prefix(&[0x02, 0x01, 0x03][..])
        && auth_safe.first() == Some(&0x30)
        && header_len(auth_safe)
            .and_then(|h| auth_safe.get(h..))
            .is_some_and(|ci| ci.starts_with(OID_PKCS7_DATA))
    {
        return Format::Pkcs12;
    }
    if inner.starts_with(OID_PKCS7_SIGNED_DATA) {
        return Format::Pkcs7;
    }
    if let Some(len) = der_object_len(data)
        && data[len..].iter().all(|&b| matches!(b, 0 | b'\r' | b'\n'))
    {
        return Format::SingleDer(len);
    }
    Format::Other
}

/// Whether a file that starts with `head` must be scanned whole (an archive or a store, whose parts
/// refer to each other), rather than window by window.
pub fn needs_whole_buffer(head: &[u8]) -> bool {
    !matches!(sniff(head), Format::Other | Format::SingleDer(_))
}

/// Whether a DER object has the shape of a v2/v3 certificate: `SEQUENCE { SEQUENCE { [0] { 2 } …`.
/// Keys, CRLs and other lone DER files do not, so a parse failure on them is not a partial.
fn looks_like_certificate(data: &[u8]) -> bool {
    let tbs = header_len(data)
        .and_then(|h| data.get(h..))
        .unwrap_or_default();
    tbs.first() == Some(&0x30)
        && header_len(tbs)
            .and_then(|h| tbs.get(h..))
            .is_some_and(|v| v.starts_with(&[0xa0, 0x03, 0x02, 0x01]))
}

impl Detector<'_> {
    /// Scans one top-level buffer (a whole file), with a fresh decompression budget, which is
    /// returned to tell what was used and skipped.
    pub fn scan(&self, data: &[u8], sink: &mut dyn Sink) -> Budget {
        let mut budget = Budget {
            decompressed_left: self.limits.max_decompressed,
            members_skipped: 0,
        };
        self.scan_nested(data, 0, &mut budget, sink);
        budget
    }

    /// Scans a buffer found `depth` archives deep, charging decompression to `budget`.
    ///
    /// A structured format that parses is trusted to have reported everything in it. One that does
    /// not parse becomes a partial, and the buffer is then searched like any other, so a damaged
    /// store still yields the certificates that can be seen in it.
    pub fn scan_nested(&self, data: &[u8], depth: u32, budget: &mut Budget, sink: &mut dyn Sink) {
        sink.buffer(data);
        if !sink.wants_certificates() {
            if sniff(data) == Format::Zip {
                // Members that cannot be read matter only to the certificate scan.
                let _ = archive::scan(self, data, depth, budget, sink);
            }
            return;
        }
        let structured = match sniff(data) {
            Format::Zip => Some((Parser::Zip, archive::scan(self, data, depth, budget, sink))),
            Format::Jks => Some((Parser::Jks, jks::scan(self, data, sink))),
            Format::Jceks => Some((Parser::Jceks, jks::scan(self, data, sink))),
            Format::Pkcs12 => Some((Parser::Pkcs12, pkcs12::scan(self, data, sink))),
            Format::Pkcs7 => Some((Parser::Pkcs7, pkcs7::scan(self, data, sink))),
            Format::SingleDer(len) => match self.cache.get_or_parse(&data[..len]) {
                Ok(cert) => {
                    sink.certificate(cert, 0, Parser::Der);
                    Some((Parser::Der, Ok(())))
                }
                Err(e) if looks_like_certificate(data) => Some((Parser::Der, Err(e.to_string()))),
                Err(_) => None,
            },
            Format::Other => None,
        };
        match structured {
            Some((_, Ok(()))) => return,
            Some((parser, Err(reason))) => sink.partial(0, parser, reason),
            None => {}
        }
        self.search(data, sink);
    }

    /// The generic search for PEM (plain and base64-wrapped) and embedded DER, run window by window
    /// so each window is searched by both while it is still in the CPU cache.
    pub fn search(&self, data: &[u8], sink: &mut dyn Sink) {
        const WINDOW: usize = 256 << 10;
        let mut pem = pem::PemSearch::new(data, 0);
        let mut der = der::DerSearch::default();
        let mut limit = 0;
        while limit < data.len() {
            limit = (limit + WINDOW).min(data.len());
            pem.advance(self, sink, limit);
            der.advance(self, data, sink, limit);
        }
    }
}

/// Where [`Relocated`] puts what it passes on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placement {
    /// Offsets move by this much (a part of a buffer scanned on its own).
    Shift(u64),
    /// Everything is reported at this one offset (bytes that were decoded from there).
    Pin(u64),
}

/// Passes findings on with their offsets moved, and optionally under another parser name.
pub(crate) struct Relocated<'s> {
    pub(crate) inner: &'s mut dyn Sink,
    pub(crate) at: Placement,
    pub(crate) parser: Option<Parser>,
}

impl Relocated<'_> {
    fn place(&self, offset: u64) -> u64 {
        match self.at {
            Placement::Shift(by) => offset + by,
            Placement::Pin(at) => at,
        }
    }
}

impl Sink for Relocated<'_> {
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser) {
        let offset = self.place(offset);
        self.inner
            .certificate(cert, offset, self.parser.unwrap_or(parser));
    }
    fn partial(&mut self, offset: u64, parser: Parser, reason: String) {
        let offset = self.place(offset);
        self.inner
            .partial(offset, self.parser.unwrap_or(parser), reason);
    }
    fn enter(&mut self, name: &str) {
        self.inner.enter(name);
    }
    fn leave(&mut self) {
        self.inner.leave();
    }
}

/// A sink that only counts, for benchmarks, fuzzing and quick checks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountingSink {
    /// Certificates reported.
    pub certificates: usize,
    /// Partials reported.
    pub partials: usize,
    /// Archive members entered.
    pub members: usize,
}

impl Sink for CountingSink {
    fn certificate(&mut self, _cert: Arc<Certificate>, _offset: u64, _parser: Parser) {
        self.certificates += 1;
    }
    fn partial(&mut self, _offset: u64, _parser: Parser, _reason: String) {
        self.partials += 1;
    }
    fn enter(&mut self, _name: &str) {
        self.members += 1;
    }
    fn leave(&mut self) {}
}

#[cfg(test)]
pub(crate) mod testing;
