//! `json` (one document, streamed) and `jsonl` (one object per line).
//!
//! Field names keep Paranoia's (`fileLocation`, `owner`, `parser`, `signature`, `notBefore`,
//! `notAfter`, `fingerprintSHA1`, `fingerprintSHA256`) so existing `jq` pipelines work; the rest are
//! additions (DESIGN.md fixes them).

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use crate::cert::rfc3339;
use crate::record::{FileError, Finding, Partial, Summary};

#[derive(Serialize)]
pub(crate) struct CertificateJson<'a> {
    #[serde(rename = "fileLocation")]
    file_location: &'a str,
    owner: &'a str,
    parser: &'static str,
    signature: &'a str,
    #[serde(rename = "notBefore")]
    not_before: String,
    #[serde(rename = "notAfter")]
    not_after: String,
    #[serde(rename = "fingerprintSHA1")]
    fingerprint_sha1: String,
    #[serde(rename = "fingerprintSHA256")]
    fingerprint_sha256: String,
    issuer: &'a str,
    #[serde(rename = "serialNumber")]
    serial_number: &'a str,
    version: u32,
    #[serde(rename = "isCA")]
    is_ca: bool,
    #[serde(rename = "selfSigned")]
    self_signed: bool,
    #[serde(rename = "publicKeyAlgorithm")]
    public_key_algorithm: &'a str,
    #[serde(rename = "publicKeyBits")]
    public_key_bits: u32,
    #[serde(rename = "signatureAlgorithm")]
    signature_algorithm: &'a str,
    offset: u64,
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    shadowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<Vec<&'a str>>,
}

impl<'a> CertificateJson<'a> {
    pub(crate) fn new(f: &'a Finding, also_at: &'a [String]) -> Self {
        let c = &f.cert;
        CertificateJson {
            file_location: &f.location,
            owner: &c.subject,
            parser: f.parser.as_str(),
            signature: &c.signature,
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            fingerprint_sha1: c.sha1_hex(),
            fingerprint_sha256: c.sha256_hex(),
            issuer: &c.issuer,
            serial_number: &c.serial,
            version: c.version,
            is_ca: c.is_ca,
            self_signed: c.self_signed,
            public_key_algorithm: &c.public_key_algorithm,
            public_key_bits: c.public_key_bits,
            signature_algorithm: &c.signature_algorithm,
            offset: f.offset,
            target: &f.target,
            layer: f.layer.as_ref().map(|l| &*l.digest),
            shadowed: f.layer.as_ref().is_some_and(|l| l.shadowed),
            locations: (!also_at.is_empty()).then(|| {
                std::iter::once(f.location.as_str())
                    .chain(also_at.iter().map(String::as_str))
                    .collect()
            }),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct PartialJson<'a> {
    #[serde(rename = "fileLocation")]
    file_location: &'a str,
    parser: &'static str,
    reason: &'a str,
    offset: u64,
    target: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    shadowed: bool,
}

impl<'a> From<&'a Partial> for PartialJson<'a> {
    fn from(p: &'a Partial) -> Self {
        PartialJson {
            file_location: &p.location,
            parser: p.parser.as_str(),
            reason: &p.reason,
            offset: p.offset,
            target: &p.target,
            layer: p.layer.as_ref().map(|l| &*l.digest),
            shadowed: p.layer.as_ref().is_some_and(|l| l.shadowed),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ErrorJson<'a> {
    #[serde(rename = "fileLocation")]
    file_location: &'a str,
    error: &'a str,
    target: &'a str,
}

impl<'a> From<&'a FileError> for ErrorJson<'a> {
    fn from(e: &'a FileError) -> Self {
        ErrorJson {
            file_location: &e.location,
            error: &e.error,
            target: &e.target,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SummaryJson {
    files: u64,
    bytes: u64,
    skipped: u64,
    certificates: u64,
    #[serde(rename = "uniqueCertificates")]
    unique_certificates: u64,
    partials: u64,
    errors: u64,
    #[serde(rename = "archiveMembersSkipped")]
    archive_members_skipped: u64,
    seconds: f64,
}

impl From<&Summary> for SummaryJson {
    fn from(s: &Summary) -> Self {
        SummaryJson {
            files: s.files,
            bytes: s.bytes,
            skipped: s.skipped,
            certificates: s.certificates,
            unique_certificates: s.unique_certificates,
            partials: s.partials,
            errors: s.errors,
            archive_members_skipped: s.archive_members_skipped,
            seconds: (s.seconds * 1000.0).round() / 1000.0,
        }
    }
}

/// The I/O error inside a serializer error keeps its kind (a closed pipe stays `BrokenPipe`).
pub(crate) fn to_io(e: serde_json::Error) -> io::Error {
    io::Error::from(e)
}

/// One JSON document: certificates streamed, then partials, errors and the summary.
pub struct Json<'w> {
    out: Box<dyn Write + 'w>,
    certificates: usize,
    partials: Vec<Partial>,
    errors: Vec<FileError>,
}

impl<'w> Json<'w> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Json {
            out,
            certificates: 0,
            partials: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl Reporter for Json<'_> {
    fn certificate(&mut self, finding: &Finding, also_at: &[String]) -> io::Result<()> {
        self.out.write_all(if self.certificates == 0 {
            b"{\"certificates\":["
        } else {
            b","
        })?;
        self.certificates += 1;
        serde_json::to_writer(&mut self.out, &CertificateJson::new(finding, also_at)).map_err(to_io)
    }
    fn partial(&mut self, partial: &Partial) -> io::Result<()> {
        self.partials.push(partial.clone());
        Ok(())
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.errors.push(error.clone());
        Ok(())
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.out.write_all(if self.certificates == 0 {
            b"{\"certificates\":["
        } else {
            b""
        })?;
        self.out.write_all(b"],\"partials\":")?;
        let partials: Vec<PartialJson<'_>> = self.partials.iter().map(PartialJson::from).collect();
        serde_json::to_writer(&mut self.out, &partials).map_err(to_io)?;
        self.out.write_all(b",\"errors\":")?;
        let errors: Vec<ErrorJson<'_>> = self.errors.iter().map(ErrorJson::from).collect();
        serde_json::to_writer(&mut self.out, &errors).map_err(to_io)?;
        self.out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut self.out, &SummaryJson::from(summary)).map_err(to_io)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

#[derive(Serialize)]
struct Tagged<T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: T,
}

/// One JSON object per line, each with a `type`: `certificate`, `partial`, `error`, `summary`.
pub struct JsonLines<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> JsonLines<'w> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        JsonLines { out }
    }

    /// Writes one object of type `kind`.
    pub(crate) fn line<T: Serialize>(&mut self, kind: &'static str, body: T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &Tagged { kind, body }).map_err(to_io)?;
        self.out.write_all(b"\n")
    }

    /// Flushes what was written.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Reporter for JsonLines<'_> {
    fn certificate(&mut self, finding: &Finding, also_at: &[String]) -> io::Result<()> {
        self.line("certificate", CertificateJson::new(finding, also_at))
    }
    fn partial(&mut self, partial: &Partial) -> io::Result<()> {
        self.line("partial", PartialJson::from(partial))
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.line("error", ErrorJson::from(error))
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.line("summary", SummaryJson::from(summary))?;
        self.out.flush()
    }
}
