//! `table` and `wide`: aligned columns for people, sorted by location. Certificates first (Paranoia's
//! columns), then partials and errors, then one summary line. In images, a file a later layer
//! hid (`--all-layers`) is marked `(shadowed)`, and `wide` adds the layer (its digest's first 12
//! hex digits, as docker shows them).

use std::io::{self, Write};

use super::Reporter;
use crate::cert::rfc3339;
use crate::scan::{FileError, Finding, Partial, Summary};

/// Collects rows and prints them aligned at the end.
pub struct Table<'w> {
    out: Box<dyn Write + 'w>,
    wide: bool,
    certificates: Vec<Vec<String>>,
    /// Whether some finding came from an image layer (`wide` then shows a LAYER column).
    layers: bool,
    partials: Vec<Partial>,
    errors: Vec<FileError>,
}

impl<'w> Table<'w> {
    /// Writes to `out`; `wide` adds issuer, serial, validity start, key, signature algorithm, offset.
    pub fn new(out: Box<dyn Write + 'w>, wide: bool) -> Self {
        Table {
            out,
            wide,
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
        let mut header: Vec<&str> = if self.wide {
            vec![
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
        } else {
            vec!["FILE LOCATION", "PARSER", "SUBJECT", "NOT AFTER", "SHA-256"]
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
        write_columns(&mut self.out, &header, &self.certificates)?;
        if !self.partials.is_empty() {
            writeln!(self.out)?;
            write_partials(&mut self.out, &self.partials)?;
        }
        if !self.errors.is_empty() {
            writeln!(self.out)?;
            write_errors(&mut self.out, &self.errors)?;
        }
        writeln!(
            self.out,
            "\nFound {} certificates ({} unique), {} partials, {} errors in {} files ({:.1} MiB) in {:.2}s",
            s.certificates,
            s.unique_certificates,
            s.partials,
            s.errors,
            s.files,
            s.bytes as f64 / (1024.0 * 1024.0),
            s.seconds
        )?;
        if s.archive_members_skipped > 0 {
            writeln!(
                self.out,
                "{} archive members of compiled or source code were not opened (--open-code-members opens them)",
                s.archive_members_skipped
            )?;
        }
        self.out.flush()
    }
}

/// The partials as a table sorted by location.
pub(crate) fn write_partials(out: &mut dyn Write, partials: &[Partial]) -> io::Result<()> {
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
    write_columns(out, &["PARTIAL", "PARSER", "OFFSET", "REASON"], &rows)
}

/// The unreadable files as a table sorted by location.
pub(crate) fn write_errors(out: &mut dyn Write, errors: &[FileError]) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = errors
        .iter()
        .map(|e| vec![e.location.clone(), e.error.clone()])
        .collect();
    rows.sort();
    write_columns(out, &["ERROR", "MESSAGE"], &rows)
}

pub(crate) fn write_columns(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let cells: Vec<&str> = cells.collect();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                writeln!(out, "{cell}")?;
            } else {
                write!(
                    out,
                    "{cell}{:pad$}  ",
                    "",
                    pad = widths[i] - cell.chars().count()
                )?;
            }
        }
        Ok(())
    };
    line(out, &mut header.iter().copied())?;
    for row in rows {
        line(out, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}
