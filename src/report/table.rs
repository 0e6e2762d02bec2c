//! `table` and `wide`: aligned columns for people, sorted by location. Certificates first (Paranoia's
//! columns), then partials and errors, then one summary line. In images, a file a later layer
//! hid (`--all-layers`) is marked `(shadowed)`, and `wide` adds the layer (its digest's first 12
//! hex digits, as docker shows them). `table` on a terminal is cut to its width; `wide` never is.

use std::io::{self, Write};

use super::Reporter;
use super::columns::{Column, Cut, write_columns};
use super::text::count;
use crate::cert::rfc3339;
use crate::record::{FileError, Finding, Partial, Summary};

/// Collects rows and prints them aligned at the end.
pub struct Table<'w> {
    out: Box<dyn Write + 'w>,
    wide: bool,
    /// The terminal's width, to cut rows to (`table` on a terminal only).
    width: Option<usize>,
    certificates: Vec<Vec<String>>,
    /// Whether some finding came from an image layer (`wide` then shows a LAYER column).
    layers: bool,
    partials: Vec<Partial>,
    errors: Vec<FileError>,
}

impl<'w> Table<'w> {
    /// Writes to `out`; `wide` adds issuer, serial, validity start, key, signature algorithm, offset.
    /// With `width` (a terminal's), rows of `table` are cut to fit it; `wide` ignores it.
    pub fn new(out: Box<dyn Write + 'w>, wide: bool, width: Option<usize>) -> Self {
        Table {
            out,
            wide,
            width: if wide { None } else { width },
            certificates: Vec::new(),
            layers: false,
            partials: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl Reporter for Table<'_> {
    fn certificate(&mut self, f: &Finding, also_at: &[String]) -> io::Result<()> {
        let c = &f.cert;
        let mut location = f.location.clone();
        if !also_at.is_empty() {
            location.push_str(&format!(" (+{} more)", also_at.len()));
        }
        if f.layer.as_ref().is_some_and(|l| l.shadowed) {
            location.push_str(" (shadowed)");
        }
        let mut row = vec![location, f.parser.to_string(), c.subject.clone()];
        if self.wide {
            let layer = f.layer.as_ref().map_or("", |l| &l.digest);
            self.layers |= !layer.is_empty();
            let short = layer
                .split_once(':')
                .map_or(layer, |(_, hex)| &hex[..hex.len().min(12)]);
            row.extend([
                c.issuer.clone(),
                c.serial.clone(),
                rfc3339(c.not_before),
                rfc3339(c.not_after),
                format!("{} {}", c.public_key_algorithm, c.public_key_bits),
                c.signature_algorithm.clone(),
                f.offset.to_string(),
                short.to_string(),
            ]);
        } else {
            row.push(rfc3339(c.not_after));
        }
        row.push(c.sha256_hex());
        self.certificates.push(row);
        Ok(())
    }
    fn partial(&mut self, p: &Partial) -> io::Result<()> {
        self.partials.push(p.clone());
        Ok(())
    }
    fn error(&mut self, e: &FileError) -> io::Result<()> {
        self.errors.push(e.clone());
        Ok(())
    }
    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let mut header: Vec<Column> = if self.wide {
            [
                "FILE LOCATION",
                "PARSER",
                "SUBJECT",
                "ISSUER",
                "SERIAL",
                "NOT BEFORE",
                "NOT AFTER",
                "KEY",
                "SIGNATURE",
                "OFFSET",
                "LAYER",
                "SHA-256",
            ]
            .map(|name| (name, Cut::Never))
            .to_vec()
        } else {
            vec![
                ("FILE LOCATION", Cut::Start),
                ("PARSER", Cut::Never),
                ("SUBJECT", Cut::End),
                ("NOT AFTER", Cut::Never),
                ("SHA-256", Cut::Last),
            ]
        };
        if self.wide && !self.layers {
            // Not an image: no LAYER column.
            let at = header.len() - 2;
            header.remove(at);
            for row in &mut self.certificates {
                row.remove(at);
            }
        }
        self.certificates.sort();
        write_columns(&mut self.out, &header, &self.certificates, self.width)?;
        if !self.partials.is_empty() {
            writeln!(self.out)?;
            write_partials(&mut self.out, &self.partials, self.width)?;
        }
        if !self.errors.is_empty() {
            writeln!(self.out)?;
            write_errors(&mut self.out, &self.errors, self.width)?;
        }
        writeln!(
            self.out,
            "\nFound {} ({} unique), {}, {} in {} ({:.1} MiB) in {:.2}s",
            count(s.certificates, "certificate"),
            s.unique_certificates,
            count(s.partials, "partial"),
            count(s.errors, "error"),
            count(s.files, "file"),
            s.bytes as f64 / (1024.0 * 1024.0),
            s.seconds
        )?;
        if s.archive_members_skipped > 0 {
            writeln!(
                self.out,
                "{} of compiled or source code not opened (--open-code-members opens them)",
                count(s.archive_members_skipped, "archive member"),
            )?;
        }
        self.out.flush()
    }
}

/// The partials as a table sorted by location.
pub(crate) fn write_partials(
    out: &mut dyn Write,
    partials: &[Partial],
    width: Option<usize>,
) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = partials
        .iter()
        .map(|p| {
            vec![
                p.location.clone(),
                p.parser.to_string(),
                p.offset.to_string(),
                p.reason.clone(),
            ]
        })
        .collect();
    rows.sort();
    let header = [
        ("PARTIAL", Cut::Start),
        ("PARSER", Cut::Never),
        ("OFFSET", Cut::Never),
        ("REASON", Cut::End),
    ];
    write_columns(out, &header, &rows, width)
}

/// The unreadable files as a table sorted by location.
pub(crate) fn write_errors(
    out: &mut dyn Write,
    errors: &[FileError],
    width: Option<usize>,
) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = errors
        .iter()
        .map(|e| vec![e.location.clone(), e.error.clone()])
        .collect();
    rows.sort();
    let header = [("ERROR", Cut::Start), ("MESSAGE", Cut::End)];
    write_columns(out, &header, &rows, width)
}
