//! The history of Mozilla's root store, compiled in, and CCADB's list of removed roots on top.
//!
//! The embedded data (`data/mozilla-roots.tsv`, made by `scripts/mozilla-history.py`) reads every
//! release of PyPI's `certifi`, whose `cacert.pem` is the set of roots Mozilla trusts for TLS server
//! authentication. For every root any release carried it records the first and last release that
//! carried it and, when the newest release no longer does, the first release without it. So
//! "removed" here means removed from Mozilla's trust for TLS servers, dated by the certifi release
//! that first left it out (days to months after Mozilla's own change). See the script's
//! documentation for the caveats (certifi kept a few roots longer than Mozilla did).
//!
//! Mozilla's own record of removals is CCADB's "Removed CA Certificate Report" CSV, the file Jetstack
//! Paranoia downloads; [`MozillaData::with_ccadb_csv`] merges one on top of the embedded data.
//!
//! Lookups are by the SHA-256 of the certificate's DER, as found.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The embedded history, as the script wrote it.
const EMBEDDED_TSV: &str = include_str!("../../data/mozilla-roots.tsv");

/// The columns of the embedded TSV, in order.
const COLUMNS: [&str; 10] = [
    "sha256",
    "sha1",
    "first_release",
    "first_date",
    "last_release",
    "last_date",
    "removed_release",
    "removed_date",
    "absent",
    "subject",
];

/// What Mozilla's root store says of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MozillaStatus<'a> {
    /// In the newest release the data knows.
    Included {
        /// The subject as the data records it.
        subject: &'a str,
    },
    /// Carried once, not any more.
    Removed {
        /// The subject as the data records it.
        subject: &'a str,
        /// When it was removed (`YYYY-MM-DD`), or what the CCADB CSV says instead of a date.
        removed: &'a str,
        /// The first release (certifi version) without it, when known.
        release: Option<&'a str>,
        /// Mozilla's comment (CCADB CSV), when known.
        comment: Option<&'a str>,
    },
    /// Never carried.
    Unknown,
}

/// When the certifi releases carried one root (embedded data only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History<'a> {
    /// The first release that carried it (certifi version).
    pub first_release: &'a str,
    /// That release's date (`YYYY-MM-DD`).
    pub first_date: &'a str,
    /// The last release that carried it (the newest release, when it is still included).
    pub last_release: &'a str,
    /// That release's date (`YYYY-MM-DD`).
    pub last_date: &'a str,
}

/// Why a CCADB CSV could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MozillaDataError {
    /// The header has no column of that name.
    #[error("CCADB CSV line {line}: no \"{column}\" column in the header")]
    MissingColumn {
        /// The column looked for.
        column: &'static str,
        /// The header's line (1 unless blank lines precede it).
        line: u64,
    },
    /// A fingerprint that is not 32 bytes of hex.
    #[error(
        "CCADB CSV line {line}: bad SHA-256 fingerprint {value:?} (want 64 hex digits; colons and spaces are allowed)"
    )]
    BadFingerprint {
        /// The record's line.
        line: u64,
        /// The cell as found.
        value: String,
    },
    /// Not CSV, or records of differing lengths.
    #[error("CCADB CSV line {line}: unreadable: {source}")]
    Csv {
        /// Where the reader stopped.
        line: u64,
        /// What the CSV reader said.
        #[source]
        source: csv::Error,
    },
    /// No header line at all.
    #[error("CCADB CSV is empty (no header line)")]
    Empty,
}

/// What the data knows of one root.
#[derive(Debug, Clone)]
struct Root {
    subject: Box<str>,
    /// Embedded history; `None` for a root only a CCADB CSV names.
    history: Option<EmbeddedHistory>,
    /// `None` while included.
    removed: Option<Removal>,
}

#[derive(Debug, Clone)]
struct EmbeddedHistory {
    first_release: Box<str>,
    first_date: Box<str>,
    last_release: Box<str>,
    last_date: Box<str>,
}

#[derive(Debug, Clone)]
struct Removal {
    removed: Box<str>,
    release: Option<Box<str>>,
    comment: Option<Box<str>>,
}

/// The history of Mozilla's root store.
#[derive(Debug, Clone, Default)]
pub struct MozillaData {
    roots: HashMap<[u8; 32], Root>,
    /// The SHA-256 of every included root, sorted.
    included: Vec<[u8; 32]>,
    newest_release: String,
    newest_date: String,
    oldest_release: String,
    oldest_date: String,
    releases: usize,
    /// Roots a merged CCADB CSV marked removed; `None` when no CSV was merged.
    ccadb_removed: Option<usize>,
    source: String,
}

impl MozillaData {
    /// The data compiled into the binary.
    pub fn embedded() -> &'static MozillaData {
        static DATA: OnceLock<MozillaData> = OnceLock::new();
        DATA.get_or_init(|| parse_tsv(EMBEDDED_TSV).0)
    }

    /// What the data says of the certificate with this SHA-256 fingerprint.
    pub fn status(&self, sha256: &[u8; 32]) -> MozillaStatus<'_> {
        let Some(root) = self.roots.get(sha256) else {
            return MozillaStatus::Unknown;
        };
        match &root.removed {
            None => MozillaStatus::Included {
                subject: &root.subject,
            },
            Some(r) => MozillaStatus::Removed {
                subject: &root.subject,
                removed: &r.removed,
                release: r.release.as_deref(),
                comment: r.comment.as_deref(),
            },
        }
    }

    /// When the certifi releases carried this root, if the embedded data knows it.
    pub fn history(&self, sha256: &[u8; 32]) -> Option<History<'_>> {
        let h = self.roots.get(sha256)?.history.as_ref()?;
        Some(History {
            first_release: &h.first_release,
            first_date: &h.first_date,
            last_release: &h.last_release,
            last_date: &h.last_date,
        })
    }

    /// The SHA-256 fingerprints of every root the newest release includes, in ascending order.
    pub fn included(&self) -> impl Iterator<Item = &[u8; 32]> + '_ {
        self.included.iter()
    }

    /// The date of the newest release the data knows (`YYYY-MM-DD`).
    pub fn date(&self) -> &str {
        &self.newest_date
    }

    /// The newest release the data knows (a certifi version, `2026.10.18`).
    pub fn newest_release(&self) -> &str {
        &self.newest_release
    }

    /// One line saying where the data comes from (for `rootsift version` and reports).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many roots the data knows: included and removed.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// True when the data knows no root at all.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// This data with every root of a CCADB "Removed CA Certificate Report" CSV marked removed.
    ///
    /// Columns are found by their header names: `SHA-256 Fingerprint` (required; any case, colons
    /// and spaces allowed), and if present `Removal Bug No. or Date` (becomes `removed`),
    /// `Comments` (becomes `comment`) and a name (`Root Certificate Name`, `Common Name or
    /// Certificate Name` or `Certificate Subject Common Name`), used as the subject of a root the
    /// embedded data never saw (`unknown` without one). A record whose fingerprint cell is empty is
    /// skipped; a record naming a root twice counts once. The CSV's
    /// word wins over the embedded data: a root the newest release still carries becomes removed.
    pub fn with_ccadb_csv(&self, csv_bytes: &[u8]) -> Result<MozillaData, MozillaDataError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(csv_bytes);
        let mut record = csv::ByteRecord::new();
        let line_of = |pos: Option<&csv::Position>, fallback: u64| {
            pos.map_or(fallback, |p| record_line(csv_bytes, p.byte()))
        };
        let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::ByteRecord, last: u64| {
            reader
                .read_byte_record(record)
                .map_err(|source| MozillaDataError::Csv {
                    line: line_of(source.position(), last + 1),
                    source,
                })
        };

        if !read(&mut reader, &mut record, 0)? {
            return Err(MozillaDataError::Empty);
        }
        let header_line = line_of(record.position(), 1);
        let names: Vec<String> = record
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_owned()
            })
            .collect();
        let column = |wanted: &str| names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
        let fingerprint_col =
            column("SHA-256 Fingerprint").ok_or(MozillaDataError::MissingColumn {
                column: "SHA-256 Fingerprint",
                line: header_line,
            })?;
        let removed_col = column("Removal Bug No. or Date");
        let comment_col = column("Comments");
        let name_col = [
            "Root Certificate Name",
            "Common Name or Certificate Name",
            "Certificate Subject Common Name",
        ]
        .into_iter()
        .find_map(column);

        let mut out = self.clone();
        let mut marked = std::collections::HashSet::new();
        let mut last_line = header_line;
        while read(&mut reader, &mut record, last_line)? {
            let line = line_of(record.position(), last_line + 1);
            last_line = line;
            let cell = |col: Option<usize>| -> Option<String> {
                let text = String::from_utf8_lossy(record.get(col?)?);
                let text = text.trim();
                (!text.is_empty()).then(|| text.to_owned())
            };
            let Some(fingerprint) = cell(Some(fingerprint_col)) else {
                continue;
            };
            let sha256 =
                parse_fingerprint(&fingerprint).ok_or(MozillaDataError::BadFingerprint {
                    line,
                    value: fingerprint.clone(),
                })?;
            let removed_text = cell(removed_col);
            let comment = cell(comment_col);
            let name = cell(name_col);
            let root = out.roots.entry(sha256).or_insert_with(|| Root {
                subject: name.map_or_else(|| "unknown".into(), String::into_boxed_str),
                history: None,
                removed: None,
            });
            let embedded = root.removed.take();
            let removed = removed_text
                .map(String::into_boxed_str)
                .or_else(|| embedded.as_ref().map(|r| r.removed.clone()))
                .unwrap_or_else(|| "unknown".into());
            root.removed = Some(Removal {
                removed,
                release: embedded.and_then(|r| r.release),
                comment: comment.map(String::into_boxed_str),
            });
            marked.insert(sha256);
        }
        out.ccadb_removed = Some(out.ccadb_removed.unwrap_or(0) + marked.len());
        out.finish();
        Ok(out)
    }

    /// Recompute what depends on the roots: the included list and the source line.
    fn finish(&mut self) {
        self.included = self
            .roots
            .iter()
            .filter(|(_, r)| r.removed.is_none())
            .map(|(k, _)| *k)
            .collect();
        self.included.sort_unstable();
        let mut source = format!(
            "Mozilla's root store for TLS server authentication as carried by certifi (PyPI): {} releases, {} ({}) to {} ({}); {} roots, {} included",
            self.releases,
            self.oldest_release,
            self.oldest_date,
            self.newest_release,
            self.newest_date,
            self.roots.len(),
            self.included.len(),
        );
        if let Some(n) = self.ccadb_removed {
            source.push_str(&format!(
                "; plus a CCADB Removed CA Certificate Report CSV ({n} roots marked removed)"
            ));
        }
        self.source = source;
    }
}

/// The 1-based line on which the record at `byte` starts. The csv crate's own line count is off
/// after CRLF and blank lines, and its byte offset can point at the terminator before the record,
/// so skip line ends first and count the newlines before the record.
fn record_line(bytes: &[u8], byte: u64) -> u64 {
    let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    1 + memchr::memchr_iter(b'\n', &bytes[..start]).count() as u64
}

/// 64 hex digits, any case, with colons and whitespace ignored.
fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: String = text
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits.as_bytes(), &mut out).ok()?;
    Some(out)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// One data row, checked.
fn parse_row(line: &str) -> Result<([u8; 32], Root), String> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != COLUMNS.len() {
        return Err(format!("{} fields, want {}", f.len(), COLUMNS.len()));
    }
    let [
        sha256,
        sha1,
        first_release,
        first_date,
        last_release,
        last_date,
        removed_release,
        removed_date,
        absent,
        subject,
    ] = f[..]
    else {
        return Err("wrong number of fields".into());
    };
    if !is_lower_hex(sha256, 64) {
        return Err(format!("bad sha256 {sha256:?}"));
    }
    if !is_lower_hex(sha1, 40) {
        return Err(format!("bad sha1 {sha1:?}"));
    }
    for (name, v) in [
        ("first_release", first_release),
        ("last_release", last_release),
    ] {
        if v.is_empty() || v == "-" || v.contains(char::is_whitespace) {
            return Err(format!("bad {name} {v:?}"));
        }
    }
    for (name, v) in [("first_date", first_date), ("last_date", last_date)] {
        if !is_date(v) {
            return Err(format!("bad {name} {v:?}"));
        }
    }
    if first_date > last_date {
        return Err(format!(
            "first_date {first_date} after last_date {last_date}"
        ));
    }
    let removed = match (removed_release, removed_date) {
        ("-", "-") => None,
        (rel, date) if !rel.is_empty() && rel != "-" && is_date(date) => {
            if date < last_date {
                return Err(format!("removed_date {date} before last_date {last_date}"));
            }
            Some(Removal {
                removed: date.into(),
                release: Some(rel.into()),
                comment: None,
            })
        }
        (rel, date) => return Err(format!("bad removal {rel:?} {date:?}")),
    };
    if absent.is_empty() {
        return Err("empty absent (want - or versions)".into());
    }
    if subject.is_empty() {
        return Err("empty subject".into());
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(sha256, &mut key).map_err(|e| e.to_string())?;
    Ok((
        key,
        Root {
            subject: subject.into(),
            history: Some(EmbeddedHistory {
                first_release: first_release.into(),
                first_date: first_date.into(),
                last_release: last_release.into(),
                last_date: last_date.into(),
            }),
            removed,
        },
    ))
}

/// Parse the TSV; bad rows and header problems are skipped and described in the second value
/// (empty for a sound file). Never panics.
fn parse_tsv(text: &str) -> (MozillaData, Vec<String>) {
    let mut data = MozillaData::default();
    let mut problems = Vec::new();
    let mut header_seen = false;
    let mut previous: Option<[u8; 32]> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.split_once(':') {
                let value = value.trim().to_owned();
                match key.trim() {
                    "newest-release" => data.newest_release = value,
                    "newest-date" => data.newest_date = value,
                    "oldest-release" => data.oldest_release = value,
                    "oldest-date" => data.oldest_date = value,
                    "releases" => match value.parse() {
                        Ok(v) => data.releases = v,
                        Err(_) => problems.push(format!("line {n}: bad release count {value:?}")),
                    },
                    _ => {}
                }
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            if line.split('\t').ne(COLUMNS) {
                problems.push(format!(
                    "line {n}: header is {line:?}, want {:?}",
                    COLUMNS.join("\t")
                ));
            }
            continue;
        }
        match parse_row(line) {
            Ok((key, root)) => {
                if previous.is_some_and(|p| p >= key) {
                    problems.push(format!("line {n}: not sorted by sha256, or a duplicate"));
                }
                previous = Some(key);
                if root.removed.is_none()
                    && root
                        .history
                        .as_ref()
                        .is_some_and(|h| *h.last_release != *data.newest_release)
                {
                    problems.push(format!(
                        "line {n}: included, but its last release is not the newest ({})",
                        data.newest_release
                    ));
                }
                data.roots.insert(key, root);
            }
            Err(e) => problems.push(format!("line {n}: {e}")),
        }
    }
    if !header_seen {
        problems.push("no header line".into());
    }
    if !is_date(&data.newest_date) {
        problems.push(format!("bad or missing newest-date {:?}", data.newest_date));
    }
    if data.newest_release.is_empty() {
        problems.push("missing newest-release".into());
    }
    if data.releases == 0 {
        problems.push("missing releases".into());
    }
    data.finish();
    (data, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(hex_text: &str) -> [u8; 32] {
        parse_fingerprint(hex_text).expect("test fingerprint")
    }

    const DST_ROOT_CA_X3: &str = "0687260331a72403d909f105e69bcf0d32e1bd2493ffc6d9206d11bcd6770739";
    const ISRG_ROOT_X1: &str = "96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6";

    #[test]
    fn embedded_parses_strictly() {
        let (data, problems) = parse_tsv(EMBEDDED_TSV);
        assert!(problems.is_empty(), "data/mozilla-roots.tsv: {problems:#?}");
        let rows = EMBEDDED_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
            - 1;
        assert_eq!(data.len(), rows, "every row parsed, none skipped or merged");
        assert!(!data.is_empty());
        assert!(data.releases > 50, "releases: {}", data.releases);
        assert_eq!(data.len(), MozillaData::embedded().len());
    }

    #[test]
    fn newest_release_includes_many_roots() {
        let data = MozillaData::embedded();
        let n = data.included().count();
        assert!(n > 100, "{n} roots included");
        assert!(data.len() > n, "some roots were removed");
        assert!(is_date(data.date()), "{:?}", data.date());
        assert!(!data.newest_release().is_empty());
        let included: Vec<_> = data.included().collect();
        assert!(included.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        for k in included {
            assert!(matches!(data.status(k), MozillaStatus::Included { .. }));
        }
        let source = data.source();
        assert!(source.contains("certifi"), "{source}");
        assert!(source.contains(data.newest_release()), "{source}");
        assert!(!source.contains('\n'));
    }

    #[test]
    fn dst_root_ca_x3_removed() {
        let data = MozillaData::embedded();
        match data.status(&fp(DST_ROOT_CA_X3)) {
            MozillaStatus::Removed {
                subject,
                removed,
                release,
                comment,
            } => {
                assert_eq!(subject, "CN=DST Root CA X3,O=Digital Signature Trust Co.");
                // The last certifi release carrying it was 2021.10.8; 2022.5.18 left it out.
                assert_eq!(removed, "2022-05-18");
                assert_eq!(release, Some("2022.5.18"));
                assert_eq!(comment, None);
            }
            other => panic!("DST Root CA X3: {other:?}"),
        }
        let h = data.history(&fp(DST_ROOT_CA_X3)).expect("history");
        assert_eq!(h.last_release, "2021.10.8");
        assert_eq!(h.last_date, "2021-10-08");
    }

    #[test]
    fn isrg_root_x1_included() {
        let data = MozillaData::embedded();
        assert_eq!(
            data.status(&fp(ISRG_ROOT_X1)),
            MozillaStatus::Included {
                subject: "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
            }
        );
        let h = data.history(&fp(ISRG_ROOT_X1)).expect("history");
        assert_eq!(h.first_release, "2016.8.8");
        assert_eq!(h.last_release, data.newest_release());
        assert_eq!(data.status(&[0u8; 32]), MozillaStatus::Unknown);
        assert_eq!(data.history(&[0u8; 32]), None);
    }

    /// Shaped like CCADB's report: every field quoted, CRLF, a BOM, uppercase colon-separated
    /// fingerprints, a comment with a comma and a quote.
    #[test]
    fn ccadb_csv_merges() {
        let isrg_colons = ISRG_ROOT_X1
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect::<Vec<_>>()
            .join(":");
        let unknown = "AB".repeat(32);
        let csv = format!(
            "\u{feff}\"Root Certificate Name\",\"CA Owner\",\"SHA-1 Fingerprint\",\"SHA-256 Fingerprint\",\"Valid From [GMT]\",\"Valid To [GMT]\",\"Removal Bug No. or Date\",\"Comments\"\r\n\
             \"DST Root CA X3\",\"IdenTrust\",\"DAC9024F54D8F6DF94935FB1732638CA6AD77C13\",\"{dst}\",\"2000.09.30\",\"2021.09.30\",\"Bug 1741143\",\"Expired, replaced by \"\"ISRG Root X1\"\"\"\r\n\
             \"ISRG Root X1\",\"ISRG\",\"\",\"{isrg_colons}\",\"2015.06.04\",\"2035.06.04\",\"2030.01.01\",\"\"\r\n\
             \"Some Email Root\",\"Example\",\"\",\"{unknown}\",\"2001.01.01\",\"2021.01.01\",\"\",\"S/MIME only\"\r\n\
             \"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\r\n",
            dst = DST_ROOT_CA_X3.to_uppercase(),
        );
        let base = MozillaData::embedded();
        let merged = base.with_ccadb_csv(csv.as_bytes()).expect("merges");

        assert_eq!(
            merged.status(&fp(DST_ROOT_CA_X3)),
            MozillaStatus::Removed {
                subject: "CN=DST Root CA X3,O=Digital Signature Trust Co.",
                removed: "Bug 1741143",
                release: Some("2022.5.18"),
                comment: Some("Expired, replaced by \"ISRG Root X1\""),
            }
        );
        assert_eq!(
            merged.status(&fp(ISRG_ROOT_X1)),
            MozillaStatus::Removed {
                subject: "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
                removed: "2030.01.01",
                release: None,
                comment: None,
            }
        );
        assert_eq!(
            merged.status(&fp(&unknown)),
            MozillaStatus::Removed {
                subject: "Some Email Root",
                removed: "unknown",
                release: None,
                comment: Some("S/MIME only"),
            }
        );
        assert_eq!(merged.len(), base.len() + 1);
        assert_eq!(merged.included().count(), base.included().count() - 1);
        assert!(merged.included().all(|k| k != &fp(ISRG_ROOT_X1)));
        assert_eq!(merged.date(), base.date());
        assert_eq!(merged.newest_release(), base.newest_release());
        assert!(merged.source().contains("CCADB"), "{}", merged.source());
        assert!(
            merged.source().contains("3 roots marked removed"),
            "{}",
            merged.source()
        );
        // The embedded data is untouched.
        assert!(matches!(
            base.status(&fp(ISRG_ROOT_X1)),
            MozillaStatus::Included { .. }
        ));
    }

    #[test]
    fn ccadb_csv_name_columns_and_spaces() {
        let csv = format!(
            "Common Name or Certificate Name,SHA-256 Fingerprint\n\
             Spaced Root,\"{}\"\n",
            "cd ".repeat(32)
        );
        let merged = MozillaData::default()
            .with_ccadb_csv(csv.as_bytes())
            .expect("merges");
        assert_eq!(
            merged.status(&[0xcd; 32]),
            MozillaStatus::Removed {
                subject: "Spaced Root",
                removed: "unknown",
                release: None,
                comment: None,
            }
        );
    }

    #[test]
    fn ccadb_csv_without_fingerprint_column() {
        let csv = "\"Root Certificate Name\",\"SHA-1 Fingerprint\",\"Comments\"\r\n\"A\",\"00\",\"x\"\r\n";
        let err = MozillaData::embedded()
            .with_ccadb_csv(csv.as_bytes())
            .expect_err("no fingerprint column");
        assert!(matches!(
            err,
            MozillaDataError::MissingColumn {
                column: "SHA-256 Fingerprint",
                line: 1
            }
        ));
        let text = err.to_string();
        assert!(
            text.contains("SHA-256 Fingerprint") && text.contains("line 1"),
            "{text}"
        );
    }

    #[test]
    fn ccadb_csv_bad_fingerprint() {
        let csv = format!(
            "\"Root Certificate Name\",\"SHA-256 Fingerprint\"\r\n\"Good\",\"{}\"\r\n\"Bad\",\"12:34:ZZ\"\r\n",
            "AB".repeat(32)
        );
        let err = MozillaData::embedded()
            .with_ccadb_csv(csv.as_bytes())
            .expect_err("bad fingerprint");
        match &err {
            MozillaDataError::BadFingerprint { line, value } => {
                assert_eq!(*line, 3);
                assert_eq!(value, "12:34:ZZ");
            }
            other => panic!("{other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("line 3") && text.contains("12:34:ZZ"),
            "{text}"
        );
    }

    /// Lines are counted in the file: CRLF, a blank line and a quoted field spanning two lines.
    #[test]
    fn ccadb_csv_lines_are_file_lines() {
        let csv = format!(
            "\"SHA-256 Fingerprint\",\"Comments\"\r\n\r\n\"{}\",\"two\r\nlines\"\r\n\"nope\",\"\"\r\n",
            "ab".repeat(32)
        );
        let err = MozillaData::default()
            .with_ccadb_csv(csv.as_bytes())
            .expect_err("bad fingerprint");
        assert!(
            matches!(err, MozillaDataError::BadFingerprint { line: 5, .. }),
            "{err:?}"
        );
        assert_eq!(record_line(b"a\r\nb", 1), 2);
        assert_eq!(record_line(b"a", 99), 1);
    }

    #[test]
    fn ccadb_csv_unreadable_and_empty() {
        let csv = "\"SHA-256 Fingerprint\",\"Comments\"\r\n\"{}\",\"a\",\"extra\"\r\n";
        let err = MozillaData::embedded()
            .with_ccadb_csv(csv.as_bytes())
            .expect_err("ragged");
        assert!(
            matches!(err, MozillaDataError::Csv { line: 2, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(matches!(
            MozillaData::embedded().with_ccadb_csv(b""),
            Err(MozillaDataError::Empty)
        ));
    }

    #[test]
    fn malformed_rows_are_skipped_not_fatal() {
        let header = COLUMNS.join("\t");
        let good = format!(
            "{}\t{}\t1.0\t2014-01-01\t2.0\t2015-01-01\t-\t-\t-\tCN=Good",
            "11".repeat(32),
            "22".repeat(20)
        );
        let text = format!(
            "# newest-release: 2.0\n# newest-date: 2015-01-01\n# releases: 2\n{header}\n\
             {good}\nnot a row\n{}\tshort\n",
            "33".repeat(32)
        );
        let (data, problems) = parse_tsv(&text);
        assert_eq!(data.len(), 1);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 6:"), "{problems:?}");
        let (_, problems) = parse_tsv("garbage");
        assert!(!problems.is_empty());
    }
}
