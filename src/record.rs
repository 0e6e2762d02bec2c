//! The record model: what a scan finds, one [`Record`] at a time, and its [`Summary`].
//!
//! Sources, analyzers and the driver produce these; inventories, analyses and reports consume them.
//! The model depends only on the certificate and signature models, never on where bytes came from or
//! on how the scan ran, so everything above the driver can depend on it alone.

use std::sync::Arc;

use crate::cert::Certificate;
use crate::signature::Signature;

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

/// A certificate found at one location.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Where: a path inside the target, archive members after `!/`.
    pub location: String,
    /// The target (as resolved) this was found under.
    pub target: Arc<str>,
    /// Byte offset of the certificate (or its PEM block) in the file or member.
    pub offset: u64,
    /// Which detector found it.
    pub parser: Parser,
    /// The certificate.
    pub cert: Arc<Certificate>,
    /// In an image: the layer the file came from.
    pub layer: Option<LayerOf>,
}

/// Which image layer a finding's file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerOf {
    /// The layer's digest as the image's manifest names it.
    pub digest: Arc<str>,
    /// Whether a later layer deleted or replaced the file (only with `--all-layers`): the
    /// container never sees it.
    pub shadowed: bool,
}

/// Something that looked like a certificate (or a store) and could not be read.
#[derive(Debug, Clone)]
pub struct Partial {
    /// Where, as for [`Finding::location`].
    pub location: String,
    /// The target this was found under.
    pub target: Arc<str>,
    /// Byte offset in the file or member.
    pub offset: u64,
    /// Which detector gave up.
    pub parser: Parser,
    /// Why.
    pub reason: String,
    /// In an image: the layer the file came from.
    pub layer: Option<LayerOf>,
}

/// A file or directory that could not be read at all.
#[derive(Debug, Clone)]
pub struct FileError {
    /// Where.
    pub location: String,
    /// The target this was met under.
    pub target: Arc<str>,
    /// What went wrong.
    pub error: String,
}

/// A code-signing signature on a file or archive member.
#[derive(Debug, Clone)]
pub struct SignatureFinding {
    /// Where, as for [`Finding::location`].
    pub location: String,
    /// The target this was found under.
    pub target: Arc<str>,
    /// SHA-256 of the whole file or member that carries the signature.
    pub digest: [u8; 32],
    /// The signature.
    pub signature: Signature,
    /// Whether the signer chains to `--trust-roots` (`None` when no roots were given).
    pub trusted: Option<bool>,
}

/// One result of a scan, in the order the scan produced it.
#[derive(Debug, Clone)]
pub enum Record {
    /// A certificate.
    Certificate(Finding),
    /// A partial.
    Partial(Partial),
    /// An unreadable file.
    Error(FileError),
    /// A code-signing signature (only when [`ScanOptions::signatures`] asks for them).
    Signature(Box<SignatureFinding>),
}

/// Totals of a finished scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Regular files read.
    pub files: u64,
    /// Bytes read (data extents only for sparse files).
    pub bytes: u64,
    /// Entries not read: symlinks, FIFOs, sockets, devices.
    pub skipped: u64,
    /// Certificate findings (occurrences).
    pub certificates: u64,
    /// Distinct certificates.
    pub unique_certificates: u64,
    /// Partials.
    pub partials: u64,
    /// Errors.
    pub errors: u64,
    /// Archive members of compiled or source code left unopened (see `Limits::open_code_members`).
    pub archive_members_skipped: u64,
    /// Targets that could not be scanned at all (an image layer that failed to fetch or verify).
    pub failed_targets: u64,
    /// Signatures found.
    pub signatures: u64,
    /// Files and members of a signable format that carry at least one signature.
    pub signed: u64,
    /// Files and members of a signable format that carry none.
    pub unsigned: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}
