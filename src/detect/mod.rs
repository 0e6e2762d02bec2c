//! Certificate detectors: pure functions from bytes to findings.
//!
//! [`Detector::scan`] looks at one buffer (a file's contents or an archive member), decides what it
//! is by its content (never by its name), and reports every certificate and every partial to a
//! [`Sink`]. Structured formats (JKS/JCEKS, PKCS#12, PKCS#7, a lone DER certificate) are parsed as
//! such; everything else is searched for PEM blocks (also inside base64) and for DER certificates
//! embedded anywhere. [`Detector`] is the scan's certificate [`Analyzer`]; zip-family archives are
//! opened by the container walker ([`crate::container`]), which hands their members back. Nothing
//! in here does I/O.

pub(crate) mod ber;
pub mod der;
pub mod jks;
pub mod pem;
pub mod pkcs12;
pub mod pkcs7;

pub use crate::analyzer::{Limits, Parser, Sink};

use crate::analyzer::{Analyzer, Buffer, Output, Piece, Scope};

use std::sync::Arc;

use crate::cert::{CertCache, Certificate, der_object_len};

/// Passwords tried on PKCS#12 stores, in order, before a store is reported as a partial.
pub const DEFAULT_PKCS12_PASSWORDS: [&str; 2] = ["", "changeit"];

/// What a structured parser returns when the bytes are not the format it was asked to read; the
/// dispatcher reports it as a partial and falls back to the generic PEM/DER search.
pub type FormatResult = Result<(), String>;

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
    /// Scans one buffer (a whole file, the start of a large one, an archive member) for
    /// certificates; archives are the container walker's ([`crate::container`]).
    ///
    /// A structured format that parses is trusted to have reported everything in it. One that does
    /// not parse becomes a partial, and the buffer is then searched like any other, so a damaged
    /// store still yields the certificates that can be seen in it.
    pub fn scan(&self, data: &[u8], sink: &mut dyn Sink) {
        let structured = match sniff(data) {
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
            // Reaches here only when the walker could not open it: searched like any other.
            Format::Zip | Format::Other => None,
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

/// Certificate detection as one of the scan's analyzers: every byte, windows included.
impl Analyzer for Detector<'_> {
    fn scope(&self) -> Scope {
        Scope::Content
    }

    fn needs_whole(&self, head: &[u8]) -> bool {
        needs_whole_buffer(head)
    }

    fn analyze(&self, buffer: Buffer<'_>, out: &mut dyn Output) {
        match buffer.piece {
            Piece::Whole | Piece::Start => self.scan(buffer.data, out),
            Piece::Continuation => self.search(buffer.data, out),
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
}

/// An output that only counts, for benchmarks, fuzzing and quick checks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountingSink {
    /// Certificates reported.
    pub certificates: usize,
    /// Partials reported.
    pub partials: usize,
    /// Archive members entered.
    pub members: usize,
    /// Signatures reported.
    pub signatures: usize,
}

impl Sink for CountingSink {
    fn certificate(&mut self, _cert: Arc<Certificate>, _offset: u64, _parser: Parser) {
        self.certificates += 1;
    }
    fn partial(&mut self, _offset: u64, _parser: Parser, _reason: String) {
        self.partials += 1;
    }
}

impl Output for CountingSink {
    fn enter(&mut self, _name: &str) {
        self.members += 1;
    }
    fn leave(&mut self) {}
    fn unsigned(&mut self) {}
    fn signatures(&mut self, _digest: [u8; 32], signatures: Vec<crate::signature::Signature>) {
        self.signatures += signatures.len();
    }
}

#[cfg(test)]
pub(crate) mod testing;
