//! JAR manifests and signature files (`META-INF/MANIFEST.MF`, `META-INF/NAME.SF`), as the JAR File
//! Specification defines them: sections of `Name: value` lines separated by blank lines, long
//! values continued on lines that start with one space, any of CRLF, LF or CR as line ends.
//!
//! Signing digests cover raw bytes, so every section keeps the exact bytes it was read from
//! (its lines and the blank line that ends it): an `.SF` file's per-entry digest is of the
//! manifest section's bytes, its `*-Digest-Manifest-Main-Attributes` of the main section's.

/// One section of a manifest or signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// The section's attributes, in order, continuation lines joined (names as written).
    pub attributes: Vec<(String, String)>,
    /// The exact bytes of the section, with the blank line that ends it (when there is one).
    pub raw: &'a [u8],
}

impl Section<'_> {
    /// The value of the first attribute named `name` (case-insensitive, as the spec has it).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Name:` of an individual section.
    pub fn name(&self) -> Option<&str> {
        self.get("Name")
    }

    /// Every `ALG-Digest` (or `ALG-SUFFIX`) attribute: (`SHA-256`, base64 value).
    pub fn digests<'s>(&'s self, suffix: &'s str) -> impl Iterator<Item = (&'s str, &'s str)> + 's {
        self.attributes.iter().filter_map(move |(n, v)| {
            let alg = n.len().checked_sub(suffix.len()).and_then(|at| {
                n.get(at..)
                    .filter(|s| s.eq_ignore_ascii_case(suffix))
                    .and_then(|_| n.get(..at))
            })?;
            (!alg.is_empty()).then_some((alg, v.as_str()))
        })
    }
}

/// A parsed manifest or signature file: the main section, then the individual sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest<'a> {
    /// The main attributes (the first section).
    pub main: Section<'a>,
    /// The individual sections, in file order.
    pub sections: Vec<Section<'a>>,
}

impl<'a> Manifest<'a> {
    /// Parses `data`. Never fails: lines that are not `Name: value` are ignored, as Java's reader
    /// does for blank-prefixed garbage; a missing final blank line is tolerated.
    pub fn parse(data: &'a [u8]) -> Manifest<'a> {
        let mut sections = Vec::new();
        let mut start = 0;
        let mut attributes: Vec<(String, String)> = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let (line, next) = next_line(data, at);
            if line.is_empty() {
                // A blank line ends the section (several blank lines end it once).
                if !attributes.is_empty() || sections.is_empty() {
                    sections.push(Section {
                        attributes: std::mem::take(&mut attributes),
                        raw: &data[start..next],
                    });
                }
                start = next;
            } else if let Some(rest) = line.strip_prefix(b" ") {
                if let Some((_, value)) = attributes.last_mut() {
                    value.push_str(&String::from_utf8_lossy(rest));
                }
            } else if let Some(colon) = line.windows(2).position(|w| w == b": ") {
                attributes.push((
                    String::from_utf8_lossy(&line[..colon]).into_owned(),
                    String::from_utf8_lossy(&line[colon + 2..]).into_owned(),
                ));
            }
            at = next;
        }
        if !attributes.is_empty() || sections.is_empty() {
            sections.push(Section {
                attributes,
                raw: &data[start..],
            });
        }
        let mut sections = sections.into_iter();
        let main = sections.next().unwrap_or(Section {
            attributes: Vec::new(),
            raw: &[],
        });
        Manifest {
            main,
            sections: sections.filter(|s| s.name().is_some()).collect(),
        }
    }

    /// The individual section for entry `name`.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name() == Some(name))
    }
}

/// The line starting at `at` (without its line end) and where the next one starts.
fn next_line(data: &[u8], at: usize) -> (&[u8], usize) {
    let rest = &data[at..];
    match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        None => (rest, data.len()),
        Some(end) => {
            let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            (&rest[..end], at + end + skip)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // What jarsigner writes (CRLF, a 72-byte line continued, two entries).
    const MANIFEST: &[u8] = b"Manifest-Version: 1.0\r\nCreated-By: 17.0.15 (Debian)\r\n\r\nName: a/very/long/path/to/some/resource/that/needs/a/continuation/line.t\r\n xt\r\nSHA-256-Digest: AAAA\r\n\r\nName: b.txt\r\nSHA-256-Digest: BBBB\r\n\r\n";

    #[test]
    fn sections_keep_their_bytes_and_join_continuations() {
        let m = Manifest::parse(MANIFEST);
        assert_eq!(m.main.get("manifest-version"), Some("1.0"));
        assert_eq!(
            m.main.raw,
            b"Manifest-Version: 1.0\r\nCreated-By: 17.0.15 (Debian)\r\n\r\n"
        );
        assert_eq!(m.sections.len(), 2);
        let long = "a/very/long/path/to/some/resource/that/needs/a/continuation/line.txt";
        assert_eq!(m.sections[0].name(), Some(long));
        assert!(m.sections[0].raw.starts_with(b"Name: a/very"));
        assert!(m.sections[0].raw.ends_with(b"AAAA\r\n\r\n"));
        assert_eq!(
            m.section("b.txt").map(|s| s.raw),
            Some(&b"Name: b.txt\r\nSHA-256-Digest: BBBB\r\n\r\n"[..])
        );
        let digests: Vec<_> = m.sections[1].digests("-Digest").collect();
        assert_eq!(digests, [("SHA-256", "BBBB")]);
        let raw_total: usize = std::iter::once(&m.main)
            .chain(&m.sections)
            .map(|s| s.raw.len())
            .sum();
        assert_eq!(raw_total, MANIFEST.len(), "sections cover the file");
    }

    #[test]
    fn odd_line_ends_and_truncations_never_panic() {
        for cut in 0..MANIFEST.len() {
            let m = Manifest::parse(&MANIFEST[..cut]);
            assert!(m.sections.len() <= 2);
        }
        let lf = Manifest::parse(b"Manifest-Version: 1.0\n\nName: x\nSHA1-Digest: Zm9v\n");
        assert_eq!(
            lf.section("x").and_then(|s| s.get("SHA1-Digest")),
            Some("Zm9v")
        );
        let cr = Manifest::parse(b"Manifest-Version: 1.0\r\rName: x\rMD5-Digest: Zm9v\r\r");
        assert_eq!(
            cr.sections[0].digests("-digest").next(),
            Some(("MD5", "Zm9v"))
        );
    }
}
