//! Output formats. Each format is a [`Reporter`] fed records as the scan produces them.
//!
//! `json` and `jsonl` stream certificates as they arrive (nothing is held back but partials and
//! errors, which `json` must place after the certificates); `table` and `wide` sort by location and
//! so hold the rows until the end; `pem` writes each certificate as it comes. [`Unique`] folds
//! repeated certificates into one entry with all their locations, for `--unique`. Every text
//! format writes strings from the tree through [`text::printable`].

mod columns;
pub mod cyclonedx;
pub mod inspect;
mod inspect_context;
mod json;
mod pem;
pub mod sarif;
mod signatures;
mod table;
pub mod text;

use std::collections::HashMap;
use std::io::{self, Write};

use crate::record::{FileError, Finding, Partial, Record, SignatureFinding, Summary};

pub use inspect_context::InspectContext;
pub use json::{Json, JsonLines};
pub use pem::Pem;
pub use signatures::{SignaturesJson, SignaturesJsonLines, SignaturesTable};
pub use table::Table;

/// The output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns: location, parser, subject, expiry, SHA-256; then partials and errors.
    Table,
    /// The table with issuer, serial, validity start, key and signature algorithm, offset.
    Wide,
    /// One JSON document, Paranoia's field names plus more (see DESIGN.md).
    Json,
    /// One JSON object per line, streamed: certificates, partials, errors, then the summary.
    JsonLines,
    /// The certificates as PEM, each preceded by `#` comment lines naming where it was found.
    Pem,
}

/// Receives a scan's results and writes them in one format.
pub trait Reporter {
    /// A certificate at `finding.location`, and (with `--unique`) every other place it was found.
    fn certificate(&mut self, finding: &Finding, also_at: &[String]) -> io::Result<()>;
    /// A partial.
    fn partial(&mut self, partial: &Partial) -> io::Result<()>;
    /// An unreadable file.
    fn error(&mut self, error: &FileError) -> io::Result<()>;
    /// A code-signing signature (`sigscan`); the certificate formats ignore them.
    fn signature(&mut self, _signature: &SignatureFinding) -> io::Result<()> {
        Ok(())
    }
    /// The scan is over.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
    /// Any record, handed to the method for its kind.
    fn record(&mut self, record: &Record) -> io::Result<()> {
        match record {
            Record::Certificate(f) => self.certificate(f, &[]),
            Record::Partial(p) => self.partial(p),
            Record::Error(e) => self.error(e),
            Record::Signature(s) => self.signature(s),
        }
    }
}

/// Makes the reporter for `format` writing to `out`; `width` is the terminal's when `out` is one
/// (`table` cuts its rows to it).
pub fn reporter<'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    width: Option<usize>,
) -> Box<dyn Reporter + 'w> {
    match format {
        Format::Table => Box::new(Table::new(out, false, width)),
        Format::Wide => Box::new(Table::new(out, true, width)),
        Format::Json => Box::new(Json::new(out)),
        Format::JsonLines => Box::new(JsonLines::new(out)),
        Format::Pem => Box::new(Pem::new(out)),
    }
}

/// Folds findings of the same certificate into one, listing every location; passes the rest on.
pub struct Unique<'w> {
    inner: Box<dyn Reporter + 'w>,
    order: Vec<(Finding, Vec<String>)>,
    index: HashMap<[u8; 32], usize>,
}

impl<'w> Unique<'w> {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Reporter + 'w>) -> Unique<'w> {
        Unique {
            inner,
            order: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl Reporter for Unique<'_> {
    fn certificate(&mut self, finding: &Finding, _also_at: &[String]) -> io::Result<()> {
        match self.index.get(&finding.cert.sha256) {
            Some(&i) => self.order[i].1.push(finding.location.clone()),
            None => {
                self.index.insert(finding.cert.sha256, self.order.len());
                self.order.push((finding.clone(), Vec::new()));
            }
        }
        Ok(())
    }
    fn partial(&mut self, partial: &Partial) -> io::Result<()> {
        self.inner.partial(partial)
    }
    fn error(&mut self, error: &FileError) -> io::Result<()> {
        self.inner.error(error)
    }
    fn signature(&mut self, signature: &SignatureFinding) -> io::Result<()> {
        self.inner.signature(signature)
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        for (finding, also_at) in std::mem::take(&mut self.order) {
            self.inner.certificate(&finding, &also_at)?;
        }
        self.inner.finish(summary)
    }
}
