//! `sigscan` reports: `json` (SigScan's document, its field names kept, more added), `jsonl`,
//! `table` and `wide`.
//!
//! SigScan's `fs` mode writes `{"filesystem": {"signatures": [...]}, "directories": [...]}` with
//! `path`, `digest`, `subjectname` and `countersigner` per signature; rootsift keeps those and adds
//! the format, index, nesting, signer identity, algorithms, times, the certificates carried, and the
//! verification outcome (DESIGN.md). Signatures stream; errors and the summary come at the end.

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use super::columns::{Column, Cut, write_columns};
use super::json::{ErrorJson, JsonLines, to_io};
use super::table::write_errors;
use super::text::count;
use crate::cert::rfc3339;
use crate::record::{FileError, Finding, Partial, SignatureFinding, Summary};
use crate::sign::Signer;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignatureJson<'a> {
    path: &'a str,
    digest: String,
    subjectname: Option<&'a str>,
    countersigner: Option<&'a str>,
    format: &'static str,
    index: u32,
    nested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    issuer: &'a str,
    serial_number: &'a str,
    #[serde(rename = "fingerprintSHA256")]
    fingerprint_sha256: Option<String>,
    digest_algorithm: &'a str,
    program_name: Option<&'a str>,
    program_url: Option<&'a str>,
    signing_time: Option<String>,
    timestamp_signer: Option<&'a str>,
    timestamp_kind: Option<&'static str>,
    timestamp_time: Option<String>,
    certificates: Vec<String>,
    verified: Option<bool>,
    verify_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted: Option<bool>,
    target: &'a str,
}

/// The name a report gives a signer: its certificate's subject, else `issuer / serial`.
fn signer_name(signer: &Signer) -> Option<&str> {
    signer.subject.as_deref()
}

impl<'a> SignatureJson<'a> {
    fn new(found: &'a SignatureFinding) -> Self {
        let s = &found.signature;
        let timestamp = s.timestamp.as_ref();
        SignatureJson {
            path: &found.location,
            digest: hex::encode(found.digest),
            subjectname: signer_name(&s.signer),
            countersigner: timestamp.and_then(|t| signer_name(&t.signer)),
            format: s.format.as_str(),
            index: s.index,
            nested: s.nested,
            name: s.name.as_deref(),
            issuer: &s.signer.issuer,
            serial_number: &s.signer.serial,
            fingerprint_sha256: s.signer.certificate.as_ref().map(|c| c.sha256_hex()),
            digest_algorithm: &s.digest_algorithm,
            program_name: s.program_name.as_deref(),
            program_url: s.program_url.as_deref(),
            signing_time: s.signing_time.map(rfc3339),
            timestamp_signer: timestamp.and_then(|t| signer_name(&t.signer)),
            timestamp_kind: timestamp.map(|t| t.kind.as_str()),
            timestamp_time: timestamp.and_then(|t| t.time).map(rfc3339),
            certificates: s.certificates.iter().map(|c| c.sha256_hex()).collect(),
            verified: s.verified,
            verify_error: s.verify_error.as_deref(),
            trusted: found.trusted,
            target: &found.target,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson {
    files: u64,
    bytes: u64,
    skipped: u64,
    signatures: u64,
    signed: u64,
    unsigned: u64,
    errors: u64,
    archive_members_skipped: u64,
    seconds: f64,
}

impl From<&Summary> for SummaryJson {
    fn from(s: &Summary) -> Self {
        SummaryJson {
            files: s.files,
            bytes: s.bytes,
            skipped: s.skipped,
            signatures: s.signatures,
            signed: s.signed,
            unsigned: s.unsigned,
            errors: s.errors,
            archive_members_skipped: s.archive_members_skipped,
            seconds: (s.seconds * 1000.0).round() / 1000.0,
        }
    }
}

/// SigScan's JSON document, signatures streamed.
pub struct SignaturesJson<'w> {
    out: Box<dyn Write + 'w>,
    directories: Vec<String>,
    signatures: usize,
    errors: Vec<FileError>,
}

impl<'w> SignaturesJson<'w> {
    /// Writes to `out`; `directories` are the targets as given (SigScan's `directories`).
    pub fn new(out: Box<dyn Write + 'w>, directories: Vec<String>) -> Self {
        SignaturesJson {
            out,
            directories,
            signatures: 0,
            errors: Vec::new(),
        }
    }
}

impl Reporter for SignaturesJson<'_> {
    fn certificate(&mut self, _: &Finding, _: &[String]) -> io::Result<()> {
        Ok(())
    }
    fn partial(&mut self, _: &Partial) -> io::Result<()> {
        Ok(())
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.errors.push(error.clone());
        Ok(())
    }
    fn signature(&mut self, found: &SignatureFinding) -> io::Result<()> {
        self.out.write_all(if self.signatures == 0 {
            b"{\"filesystem\":{\"signatures\":["
        } else {
            b","
        })?;
        self.signatures += 1;
        serde_json::to_writer(&mut self.out, &SignatureJson::new(found)).map_err(to_io)
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.signatures == 0 {
            self.out.write_all(b"{\"filesystem\":{\"signatures\":[")?;
        }
        self.out.write_all(b"]},\"directories\":")?;
        serde_json::to_writer(&mut self.out, &self.directories).map_err(to_io)?;
        self.out.write_all(b",\"errors\":")?;
        let errors: Vec<ErrorJson<'_>> = self.errors.iter().map(ErrorJson::from).collect();
        serde_json::to_writer(&mut self.out, &errors).map_err(to_io)?;
        self.out.write_all(b",\"summary\":")?;
        serde_json::to_writer(&mut self.out, &SummaryJson::from(summary)).map_err(to_io)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// One JSON object per line: `signature`, `error`, then `summary` (the `jsonl` of `scan`, with
/// signature records).
pub struct SignaturesJsonLines<'w>(JsonLines<'w>);

impl<'w> SignaturesJsonLines<'w> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        SignaturesJsonLines(JsonLines::new(out))
    }
}

impl Reporter for SignaturesJsonLines<'_> {
    fn certificate(&mut self, _: &Finding, _: &[String]) -> io::Result<()> {
        Ok(())
    }
    fn partial(&mut self, _: &Partial) -> io::Result<()> {
        Ok(())
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.0.line("error", ErrorJson::from(error))
    }
    fn signature(&mut self, found: &SignatureFinding) -> io::Result<()> {
        self.0.line("signature", SignatureJson::new(found))
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.0.line("summary", SummaryJson::from(summary))?;
        self.0.flush()
    }
}

/// Aligned columns, sorted by path: path, format, signer, timestamp signer, verified (`wide` adds
/// index, nesting, issuer, serial, digest algorithm, signing time and the verification error).
/// `table` on a terminal is cut to its width; `wide` never is.
pub struct SignaturesTable<'w> {
    out: Box<dyn Write + 'w>,
    wide: bool,
    width: Option<usize>,
    /// (path, index, cells): sorted by path, then signature order.
    rows: Vec<(String, u32, Vec<String>)>,
    errors: Vec<FileError>,
}

impl<'w> SignaturesTable<'w> {
    /// Writes to `out`; with `width` (a terminal's), rows of `table` are cut to fit it.
    pub fn new(out: Box<dyn Write + 'w>, wide: bool, width: Option<usize>) -> Self {
        SignaturesTable {
            out,
            wide,
            width: if wide { None } else { width },
            rows: Vec::new(),
            errors: Vec::new(),
        }
    }
}

fn verified_cell(verified: Option<bool>) -> &'static str {
    match verified {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    }
}

impl Reporter for SignaturesTable<'_> {
    fn certificate(&mut self, _: &Finding, _: &[String]) -> io::Result<()> {
        Ok(())
    }
    fn partial(&mut self, _: &Partial) -> io::Result<()> {
        Ok(())
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.errors.push(error.clone());
        Ok(())
    }
    fn signature(&mut self, found: &SignatureFinding) -> io::Result<()> {
        let s = &found.signature;
        let signer = match &s.signer.subject {
            Some(subject) => subject.clone(),
            None => format!("issuer {} serial {}", s.signer.issuer, s.signer.serial),
        };
        let timestamp = s
            .timestamp
            .as_ref()
            .and_then(|t| t.signer.subject.clone())
            .unwrap_or_else(|| "-".into());
        let mut row = vec![found.location.clone(), s.format.as_str().to_string()];
        if self.wide {
            row.extend([
                s.index.to_string(),
                if s.nested { "nested" } else { "-" }.to_string(),
                signer,
                s.signer.issuer.clone(),
                s.signer.serial.clone(),
                s.digest_algorithm.clone(),
                s.signing_time.map(rfc3339).unwrap_or_else(|| "-".into()),
                timestamp,
                verified_cell(s.verified).to_string(),
                s.verify_error.clone().unwrap_or_default(),
            ]);
        } else {
            row.extend([signer, timestamp, verified_cell(s.verified).to_string()]);
        }
        self.rows.push((found.location.clone(), s.index, row));
        Ok(())
    }
    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let header: Vec<Column> = if self.wide {
            [
                "PATH",
                "FORMAT",
                "INDEX",
                "NESTED",
                "SIGNER",
                "ISSUER",
                "SERIAL",
                "DIGEST",
                "SIGNING TIME",
                "TIMESTAMP SIGNER",
                "VERIFIED",
                "ERROR",
            ]
            .map(|name| (name, Cut::Never))
            .to_vec()
        } else {
            vec![
                ("PATH", Cut::Start),
                ("FORMAT", Cut::Never),
                ("SIGNER", Cut::End),
                ("TIMESTAMP SIGNER", Cut::End),
                ("VERIFIED", Cut::Never),
            ]
        };
        self.rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let rows: Vec<Vec<String>> = self.rows.drain(..).map(|(_, _, row)| row).collect();
        write_columns(&mut self.out, &header, &rows, self.width)?;
        if !self.errors.is_empty() {
            writeln!(self.out)?;
            write_errors(&mut self.out, &self.errors, self.width)?;
        }
        writeln!(
            self.out,
            "\nFound {} on {} signed files and members ({} signable ones unsigned), {}, in {} ({:.1} MiB) in {:.2}s",
            count(s.signatures, "signature"),
            s.signed,
            s.unsigned,
            count(s.errors, "error"),
            count(s.files, "file"),
            s.bytes as f64 / (1024.0 * 1024.0),
            s.seconds
        )?;
        self.out.flush()
    }
}
