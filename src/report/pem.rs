//! `pem`: the certificates themselves, ready for `openssl` or a trust store, each preceded by
//! comment lines saying where it was found and what it is (OpenSSL ignores text outside blocks).

use std::io::{self, Write};

use base64::Engine as _;

use super::Reporter;
use super::text::printable;
use crate::record::{FileError, Finding, Partial, Summary};

/// Writes PEM blocks.
pub struct Pem<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> Pem<'w> {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Pem { out }
    }
}

impl Reporter for Pem<'_> {
    fn certificate(&mut self, finding: &Finding, also_at: &[String]) -> io::Result<()> {
        // Comment lines hold text from the tree: escaped, a name cannot end the comment and forge
        // a block or a line.
        writeln!(self.out, "# {}", printable(&finding.location))?;
        for location in also_at {
            writeln!(self.out, "# {}", printable(location))?;
        }
        writeln!(self.out, "# subject: {}", printable(&finding.cert.subject))?;
        writeln!(self.out, "# sha256: {}", finding.cert.sha256_hex())?;
        writeln!(self.out, "-----BEGIN CERTIFICATE-----")?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&finding.cert.der);
        for line in b64.as_bytes().chunks(64) {
            self.out.write_all(line)?;
            self.out.write_all(b"\n")?;
        }
        writeln!(self.out, "-----END CERTIFICATE-----")
    }
    fn partial(&mut self, _partial: &Partial) -> io::Result<()> {
        Ok(())
    }
    fn error(&mut self, _error: &FileError) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.out.flush()
    }
}
