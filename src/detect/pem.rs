//! PEM blocks, wherever and however they are written.
//!
//! Finds `-----BEGIN CERTIFICATE-----` (and `TRUSTED CERTIFICATE`, `X509 CERTIFICATE`, `PKCS7`, `CMS`)
//! blocks in text or binary data, tolerant of how real files carry them: CRLF, indentation (YAML block
//! scalars), `\n` escapes inside JSON and source strings (`\/` too), a block split across string
//! literals joined by `+` or juxtaposition, a header split across lines, XML line-end entities. Also
//! finds PEM that was itself base64-encoded (kubeconfig `certificate-authority-data`).
//!
//! A block that begins and does not end, or does not decode, is reported as a partial and the search
//! resumes right where the damage was seen, so a truncated block never hides the valid block after it.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use memchr::memmem::Finder;

use super::{Detector, Parser, Placement, Relocated, Sink};
use crate::cert::der_object_len;

const BEGIN: &[u8] = b"-----BEGIN";
const END: &[u8] = b"-----END";
/// How far a label may stretch, noise included (`-----BEGIN "\n"CERTIFICATE-----`).
const MAX_LABEL_SPAN: usize = 96;
/// A block that cannot be read, whose body never has this many base64 characters in a row, is prose
/// or code that mentions the header, not a damaged certificate: real bodies come in lines of 64 or
/// 76 characters; prose comes in words.
const MENTION_MAX_RUN: usize = 16;
/// How many levels of base64-wrapped PEM are unwrapped (PEM in base64 in base64 …).
const MAX_BASE64_NESTING: u32 = 2;

static BASE64: LazyLock<GeneralPurpose> = LazyLock::new(|| {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
});

/// `-----BEGIN` base64-encoded after 0, 1 and 2 unknown bytes in its 3-byte group: each as (the
/// characters fixed by `BEGIN` alone, how many characters of the group precede them, where
/// [`DASHES_B64`] sits in them).
static ENCODED_BEGIN: LazyLock<[(Vec<u8>, usize, usize); 3]> = LazyLock::new(|| {
    std::array::from_fn(|k| {
        let mut plain = vec![0u8; k];
        plain.extend_from_slice(BEGIN);
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&plain);
        // Characters influenced by the k unknown bytes come first; the last character may carry
        // bits of whatever follows the needle. Keep only the characters fixed by `BEGIN` alone.
        let first = (8 * k).div_ceil(6);
        let last = (8 * (k + BEGIN.len())) / 6;
        let pattern = encoded.as_bytes()[first..last].to_vec();
        let dashes = memchr::memmem::find(&pattern, DASHES_B64)
            .unwrap_or_else(|| unreachable!("every encoding of five dashes holds {DASHES_B64:?}"));
        (pattern, first, dashes)
    })
});

/// Four characters that every base64 encoding of `-----`, at any alignment, contains: one cheap
/// needle for all three encodings of `-----BEGIN`.
const DASHES_B64: &[u8] = b"LS0t";

static FIND_BEGIN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(BEGIN));
static FIND_DASHES_B64: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(DASHES_B64));

/// What a block's label says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Certificate,
    Pkcs7,
    Other,
}

/// Scans `data` for PEM blocks and base64-wrapped PEM, reporting to `sink`.
pub fn scan(det: &Detector<'_>, data: &[u8], sink: &mut dyn Sink) {
    PemSearch::new(data, 0).advance(det, sink, data.len());
}

/// Longest needle, so a search window can see needles that straddle its end.
const LONGEST_NEEDLE: usize = 16;

/// An incremental search over one buffer, so that the PEM and DER searches can take turns over
/// cache-sized windows instead of each streaming the whole buffer through the cache.
pub(crate) struct PemSearch<'d> {
    data: &'d [u8],
    pos: usize,
    runs: RunStarts,
    base64_level: u32,
    /// Needle positions in the current window: (position, whether it is a plain `-----BEGIN`).
    hits: Vec<(usize, bool)>,
}

impl<'d> PemSearch<'d> {
    pub(crate) fn new(data: &'d [u8], base64_level: u32) -> Self {
        PemSearch {
            data,
            pos: 0,
            runs: RunStarts::default(),
            base64_level,
            hits: Vec::new(),
        }
    }

    /// Handles every needle that starts before `limit` (blocks may extend past it).
    pub(crate) fn advance(&mut self, det: &Detector<'_>, sink: &mut dyn Sink, limit: usize) {
        if self.pos >= limit {
            return;
        }
        let data = self.data;
        let base = self.pos;
        let window = &data[base..data.len().min(limit + LONGEST_NEEDLE)];
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        hits.extend(
            FIND_BEGIN
                .find_iter(window)
                .map(|i| (base + i, true))
                .take_while(|h| h.0 < limit),
        );
        if self.base64_level < MAX_BASE64_NESTING {
            let encoded = FIND_DASHES_B64.find_iter(window).map(|i| (base + i, false));
            hits.extend(encoded.take_while(|h| h.0 < limit));
            hits.sort_unstable();
        }
        for &(start, plain) in &hits {
            if start < self.pos {
                continue; // inside a block already read
            }
            self.pos = if plain {
                scan_block(det, data, start, sink)
            } else {
                self.encoded_begin(det, sink, start).unwrap_or(start + 1)
            };
        }
        self.hits = hits;
        self.pos = self.pos.max(limit);
    }

    /// At base64-encoded dashes: if an encoded `-----BEGIN` is here on a group boundary of its
    /// base64 run, decodes the run and scans it; returns where to resume.
    fn encoded_begin(
        &mut self,
        det: &Detector<'_>,
        sink: &mut dyn Sink,
        at: usize,
    ) -> Option<usize> {
        let data = self.data;
        let (lead, (_, skip, _)) =
            ENCODED_BEGIN
                .iter()
                .enumerate()
                .find(|(_, (pattern, _, dashes))| {
                    at.checked_sub(*dashes)
                        .is_some_and(|start| data[start..].starts_with(pattern))
                })?;
        let group_start = (at - ENCODED_BEGIN[lead].2).checked_sub(*skip)?;
        let run_start = self.runs.find(data, group_start);
        // The group must sit on a 4-character boundary of its run for the decoding to line up.
        (group_start - run_start)
            .is_multiple_of(4)
            .then(|| unwrap_base64(det, data, group_start, lead, sink, self.base64_level))
    }
}

/// Finds where the base64 run holding a position starts, remembering the previous answer so that
/// many needles in one long run cost linear time in total.
#[derive(Default)]
struct RunStarts {
    last: Option<(usize, usize)>,
}

impl RunStarts {
    fn find(&mut self, data: &[u8], at: usize) -> usize {
        let floor = self.last.map_or(0, |(pos, _)| pos).min(at);
        let mut start = at;
        while start > floor && is_base64_char(data[start - 1]) {
            start -= 1;
        }
        if let Some((pos, run_start)) = self.last
            && start == pos
            && pos <= at
        {
            start = run_start;
        }
        self.last = Some((at, start));
        start
    }
}

/// Handles the block whose `-----BEGIN` is at `start`; returns where to resume the search.
fn scan_block(det: &Detector<'_>, data: &[u8], start: usize, sink: &mut dyn Sink) -> usize {
    let offset = start as u64;
    let after_begin = start + BEGIN.len();
    let Some((label, body_start)) = read_label(data, after_begin) else {
        return after_begin;
    };
    if label == Label::Other {
        return body_start;
    }
    let mut body = Body::default();
    let end = match read_body(data, body_start, det.limits.max_pem_body, &mut body) {
        Ok(end) => end,
        Err(Damage {
            resume,
            mention: true,
            ..
        }) if body.is_prose() => return resume,
        Err(Damage { reason, resume, .. }) => {
            sink.partial(offset, Parser::Pem, reason);
            return resume;
        }
    };
    // Reports damage, unless the "block" is prose between a mentioned header and footer.
    let damaged = |sink: &mut dyn Sink, reason: String| {
        if !body.is_prose() {
            sink.partial(offset, Parser::Pem, reason);
        }
    };
    let der = match BASE64.decode(&body.text) {
        Ok(der) => der,
        Err(e) => {
            damaged(sink, format!("PEM body is not valid base64: {e}"));
            return end;
        }
    };
    match label {
        Label::Certificate => {
            // `TRUSTED CERTIFICATE` carries OpenSSL's trust settings after the certificate: the
            // certificate is the first DER object, as OpenSSL reads it.
            let cert_der = der_object_len(&der).map_or(&der[..], |len| &der[..len]);
            match det.cache.get_or_parse(cert_der) {
                Ok(cert) => sink.certificate(cert, offset, Parser::Pem),
                Err(e) => damaged(sink, format!("PEM block does not hold a certificate: {e}")),
            }
        }
        Label::Pkcs7 => {
            let mut at_block = Relocated {
                inner: sink,
                at: Placement::Pin(offset),
                parser: None,
            };
            if let Err(reason) = super::pkcs7::scan(det, &der, &mut at_block) {
                sink.partial(offset, Parser::Pkcs7, reason);
            }
        }
        Label::Other => {}
    }
    end
}

/// Reads the label after `-----BEGIN`, skipping noise between its words; returns the label kind and
/// the index just past the closing dashes.
fn read_label(data: &[u8], mut i: usize) -> Option<(Label, usize)> {
    let limit = data.len().min(i + MAX_LABEL_SPAN);
    let mut label = [0u8; 32];
    let mut len = 0;
    // The label must be separated from BEGIN (a space, or noise such as `" "`).
    if skip_noise(data, i) == i {
        return None;
    }
    while i < limit {
        i = skip_noise(data, i);
        match data.get(i) {
            Some(b'-') if data[i..].starts_with(b"-----") => {
                let kind = match &label[..len] {
                    b"CERTIFICATE" | b"TRUSTEDCERTIFICATE" | b"X509CERTIFICATE" => {
                        Label::Certificate
                    }
                    b"PKCS7" | b"CMS" => Label::Pkcs7,
                    _ => Label::Other,
                };
                return Some((kind, i + 5));
            }
            Some(b'"' | b'\'') => i = string_continuation(data, i)?,
            Some(&c) if c.is_ascii_uppercase() || c.is_ascii_digit() => {
                if len == label.len() {
                    return None;
                }
                label[len] = c;
                len += 1;
                i += 1;
            }
            _ => return None,
        }
    }
    None
}

/// Why a PEM body could not be read to its END line.
struct Damage {
    reason: String,
    /// Where the search resumes.
    resume: usize,
    /// The body stopped at other text or another BEGIN, not at the end of the data: with (almost)
    /// no body, the header was only mentioned.
    mention: bool,
}

impl Damage {
    fn new(reason: impl Into<String>, resume: usize, mention: bool) -> Damage {
        Damage {
            reason: reason.into(),
            resume,
            mention,
        }
    }
}

/// The base64 characters of a block, and the longest run of them not broken by noise.
#[derive(Default)]
struct Body {
    text: Vec<u8>,
    run: usize,
    longest_run: usize,
}

impl Body {
    fn push(&mut self, c: u8) {
        self.text.push(c);
        self.run += 1;
        self.longest_run = self.longest_run.max(self.run);
    }

    fn is_prose(&self) -> bool {
        self.longest_run < MENTION_MAX_RUN
    }
}

/// Collects the base64 body into `out` up to `-----END…-----`; returns the index after the block.
fn read_body(data: &[u8], mut i: usize, max_body: usize, out: &mut Body) -> Result<usize, Damage> {
    loop {
        let next = skip_noise(data, i);
        if next != i {
            out.run = 0;
        }
        i = next;
        let Some(&c) = data.get(i) else {
            return Err(Damage::new(
                "PEM block has no END line (truncated)",
                data.len(),
                false,
            ));
        };
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {
                if out.text.len() >= max_body {
                    return Err(Damage::new(
                        format!("PEM body longer than {max_body} bytes"),
                        i,
                        false,
                    ));
                }
                out.push(c);
                i += 1;
            }
            b'\\' if data.get(i + 1) == Some(&b'/') => {
                // JSON may escape '/' as "\/".
                out.push(b'/');
                i += 2;
            }
            b'"' | b'\'' => match string_continuation(data, i) {
                Some(next) => {
                    out.run = 0;
                    i = next;
                }
                None => {
                    return Err(Damage::new(
                        "PEM block ends inside a string before its END line",
                        i + 1,
                        true,
                    ));
                }
            },
            b'-' if data[i..].starts_with(END) => {
                let close = memchr::memmem::find(
                    &data[i + END.len()..data.len().min(i + MAX_LABEL_SPAN)],
                    b"-----",
                );
                return Ok(close.map_or(i + END.len(), |c| i + END.len() + c + 5));
            }
            b'-' if data[i..].starts_with(BEGIN) => {
                return Err(Damage::new(
                    "PEM block has no END line before the next BEGIN",
                    i,
                    true,
                ));
            }
            _ => {
                let reason = format!(
                    "unexpected byte 0x{c:02x} in PEM body at offset {i} before the END line"
                );
                return Err(Damage::new(reason, i, true));
            }
        }
    }
}

/// At a quote inside a body: if the quoted string ends here and another begins right after (string
/// concatenation in source code: `"…\n" +` newline `"…"`), returns the index after the opening quote
/// of the next string. The quote kind must match.
fn string_continuation(data: &[u8], i: usize) -> Option<usize> {
    let quote = data[i];
    let mut j = i + 1;
    let limit = data.len().min(i + 256);
    while j < limit {
        match data[j] {
            b' ' | b'\t' | b'\r' | b'\n' | b'+' | b',' | b'.' | b'(' | b')' | b'&' => j += 1,
            b'\\' if matches!(data.get(j + 1), Some(b'\r' | b'\n')) => j += 1,
            c if c == quote => return Some(j + 1),
            _ => return None,
        }
    }
    None
}

/// Skips whitespace, escaped line ends (`\n`, `\\r\\n`, `\u000a`), XML line-end entities, and a
/// backslash that continues a line. Returns the first index that is not noise.
fn skip_noise(data: &[u8], mut i: usize) -> usize {
    while let Some(&c) = data.get(i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => i += 1,
            b'\\' => {
                let mut j = i;
                while data.get(j) == Some(&b'\\') {
                    j += 1;
                }
                match data.get(j) {
                    Some(b'n' | b'r' | b't') => i = j + 1,
                    Some(b'\r' | b'\n') => i = j,
                    Some(b'u')
                        if data
                            .get(j + 1..j + 5)
                            .is_some_and(is_line_end_unicode_escape) =>
                    {
                        i = j + 5;
                    }
                    _ => return i,
                }
            }
            b'&' => match xml_line_end_entity(&data[i..]) {
                Some(len) => i += len,
                None => return i,
            },
            _ => return i,
        }
    }
    i
}

fn is_line_end_unicode_escape(hex4: &[u8]) -> bool {
    hex4.eq_ignore_ascii_case(b"000a") || hex4.eq_ignore_ascii_case(b"000d")
}

fn xml_line_end_entity(s: &[u8]) -> Option<usize> {
    [
        &b"&#13;"[..],
        b"&#10;",
        b"&#xD;",
        b"&#xA;",
        b"&#xd;",
        b"&#xa;",
    ]
    .iter()
    .find(|e| s.starts_with(e))
    .map(|e| e.len())
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'='
}

/// Decodes the base64 run from the 4-character group at `group_start`, which holds an encoded
/// `-----BEGIN` after `lead` unknown bytes, and scans what it decodes to. Returns the index after the
/// run (line breaks inside the run are allowed, as MIME writes them).
fn unwrap_base64(
    det: &Detector<'_>,
    data: &[u8],
    group_start: usize,
    lead: usize,
    sink: &mut dyn Sink,
    base64_level: u32,
) -> usize {
    let cap = det.limits.max_pem_body.saturating_mul(4);
    let mut encoded = Vec::new();
    let mut i = group_start;
    while let Some(&c) = data.get(i) {
        if is_base64_char(c) {
            encoded.push(c);
        } else if !matches!(c, b'\r' | b'\n')
            || !data
                .get(i + 1)
                .is_some_and(|&n| is_base64_char(n) || n == b'\n')
        {
            break;
        }
        if encoded.len() >= cap {
            break;
        }
        i += 1;
    }
    encoded.truncate(encoded.len() / 4 * 4);
    if let Some(inner) = BASE64
        .decode(&encoded)
        .ok()
        .as_deref()
        .and_then(|d| d.get(lead..))
    {
        let mut at_run = Relocated {
            inner: sink,
            at: Placement::Pin(group_start as u64),
            parser: Some(Parser::Base64Pem),
        };
        PemSearch::new(inner, base64_level + 1).advance(det, &mut at_run, inner.len());
    }
    i.max(group_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{openssl_certificate, scan, sha256_hex};

    #[test]
    fn noise_skips_escapes_and_entities() {
        assert_eq!(skip_noise(b"\\nA", 0), 2);
        assert_eq!(skip_noise(b"\\\\r\\\\nA", 0), 6);
        assert_eq!(skip_noise(b"&#13;&#10;A", 0), 10);
        assert_eq!(skip_noise(b"\\u000aA", 0), 6);
        assert_eq!(skip_noise(b"\\x", 0), 0);
    }

    #[test]
    fn labels_tolerate_split_headers() {
        assert_eq!(
            read_label(b" CERTIFICATE-----", 0),
            Some((Label::Certificate, 17))
        );
        assert_eq!(
            read_label(b" \"\n\"TRUSTED CERTIFICATE-----", 0).map(|l| l.0),
            Some(Label::Certificate)
        );
        assert_eq!(
            read_label(b" \\n TRUSTED CERTIFICATE-----", 0).map(|l| l.0),
            Some(Label::Certificate)
        );
        assert_eq!(
            read_label(b" PRIVATE KEY-----", 0).map(|l| l.0),
            Some(Label::Other)
        );
        assert_eq!(read_label(b"CERTIFICATE-----", 0), None);
    }

    #[test]
    fn a_mentioned_header_is_neither_finding_nor_partial() {
        let rec =
            scan(b"HEADER = \"-----BEGIN CERTIFICATE-----\"\nif line.startswith(HEADER): ...");
        assert!(rec.certs.is_empty());
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // Prose: the few words after the header read as base64 until the '.'; still a mention.
        let rec = scan(b"The file starts with -----BEGIN CERTIFICATE----- and then. Done.");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // Documentation naming both lines, with prose between them.
        let rec = scan(b"starts with -----BEGIN CERTIFICATE----- and ends with the line\n-----END CERTIFICATE-----; paste");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // A header at the very end is a truncation.
        let rec = scan(b"-----BEGIN CERTIFICATE-----\n");
        assert_eq!(rec.partials.len(), 1, "{:?}", rec.partials);
    }

    #[test]
    fn garbage_body_is_partial_and_search_resumes() {
        let rec = scan(b"-----BEGIN CERTIFICATE-----\nMIIBMIIBMIIBMIIB\n-----BEGIN CERTIFICATE-----\nMIIBMIIBMIIBMIIB!!\n-----END CERTIFICATE-----\n");
        assert!(rec.certs.is_empty());
        assert_eq!(rec.partials.len(), 2, "{:?}", rec.partials);
        assert_eq!(rec.partials[1].1, 45);
    }

    #[test]
    fn base64_wrapped_pem_is_found_at_every_alignment() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, der) = openssl_certificate(dir.path(), "wrapped");
        let fp = sha256_hex(&der);
        let engine = &base64::engine::general_purpose::STANDARD;
        for lead in ["", "x", "xy", "xyz"] {
            let mut plain = lead.as_bytes().to_vec();
            plain.extend_from_slice(&pem);
            let text = format!("certificate-authority-data: {}\n", engine.encode(&plain));
            let rec = scan(text.as_bytes());
            assert_eq!(rec.certs.len(), 1, "lead {lead:?}: {rec:?}");
            assert_eq!(rec.certs[0].2, Parser::Base64Pem);
            assert_eq!(rec.certs[0].3, fp);
        }
        // MIME line breaks inside the base64.
        let b64 = engine.encode(&pem);
        let folded: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let rec = scan(folded.join("\r\n").as_bytes());
        assert_eq!(rec.certs.len(), 1, "{rec:?}");
    }

    #[test]
    fn escaped_split_and_indented_pem_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, der) = openssl_certificate(dir.path(), "escaped");
        let fp = sha256_hex(&der);
        let text = String::from_utf8(pem).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let variants = [
            format!("{{\"ca\": \"{}\"}}", lines.join("\\n")),
            format!("{{\"ca\": \"{}\"}}", lines.join("\\n").replace('/', "\\/")),
            format!("ca: |\r\n  {}\r\n", lines.join("\r\n  ")),
            lines
                .iter()
                .map(|l| format!("\t\"{l}\\n\" +\n"))
                .collect::<String>()
                + "\"\"",
            format!(
                "\"-----BEGIN \"\n\"{}\"",
                lines.join("\\n\"\n\"").trim_start_matches("-----BEGIN ")
            ),
            lines.join("&#13;&#10;"),
        ];
        for v in &variants {
            let rec = scan(v.as_bytes());
            assert_eq!(
                rec.certs.iter().map(|c| c.3.clone()).collect::<Vec<_>>(),
                vec![fp.clone()],
                "{v}"
            );
            assert!(rec.partials.is_empty(), "{v}: {:?}", rec.partials);
        }
    }
}
