//! A small BER reader: definite and indefinite lengths, constructed strings, exact offsets.
//!
//! Every element handed out keeps its original bytes ([`Tlv::raw`]) and where it starts, relative
//! to the buffer the first `Reader` was given, plus a base offset. Nesting is bounded
//! (`MAX_DEPTH`) so hostile indefinite-length input cannot exhaust the stack, and nothing is
//! allocated from a length found in the input.
//!
//! Hand-written because the detectors need what the ASN.1 crates do not give together: BER
//! (indefinite lengths, chunked strings, as Windows and Java tools write PKCS#7 and PKCS#12), the
//! original bytes and absolute offset of every element (fingerprints are of the bytes found, never
//! of a re-encoding, which is what RustCrypto `cms` would hand back), and hard bounds on nesting.

use std::borrow::Cow;

/// How deep elements may nest in one buffer; real PKCS#7 and PKCS#12 structures stay under
/// 16. It also bounds the work of finding where nested indefinite-length elements end.
pub(crate) const MAX_DEPTH: u32 = 32;

/// Identifier octets of the universal and context-specific tags used by the detectors.
pub(crate) mod tag {
    /// INTEGER.
    pub(crate) const INTEGER: u8 = 0x02;
    /// OCTET STRING, primitive.
    pub(crate) const OCTET_STRING: u8 = 0x04;
    /// OCTET STRING, constructed (BER only).
    pub(crate) const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
    /// OBJECT IDENTIFIER.
    pub(crate) const OID: u8 = 0x06;
    /// SEQUENCE (constructed).
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub(crate) const SET: u8 = 0x31;

    /// `[n]` constructed (EXPLICIT, or IMPLICIT over a constructed type); `n` < 31.
    pub(crate) const fn context_constructed(n: u8) -> u8 {
        0xa0 | (n & 0x1f)
    }

    /// `[n]` primitive (IMPLICIT over a primitive type); `n` < 31.
    pub(crate) const fn context_primitive(n: u8) -> u8 {
        0x80 | (n & 0x1f)
    }
}

/// One element (tag, length, contents) found in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The first identifier octet (class, constructed bit, tag number or `0x1f`).
    pub tag: u8,
    /// Where the element starts.
    pub offset: usize,
    /// The whole element: header, contents and, for indefinite lengths, the end-of-contents.
    pub raw: &'a [u8],
    /// The contents only.
    pub content: &'a [u8],
    /// Where the contents start.
    pub content_offset: usize,
    depth: u32,
}

impl<'a> Tlv<'a> {
    /// Whether the element is constructed (holds other elements).
    pub(crate) fn is_constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// A reader over the elements inside this one.
    pub(crate) fn children(&self) -> Reader<'a> {
        Reader {
            data: self.content,
            pos: 0,
            base: self.content_offset,
            depth: self.depth + 1,
        }
    }

    /// The value of a non-negative INTEGER that fits in a `u64`.
    pub(crate) fn uint(&self) -> Option<u64> {
        let digits = match self.content {
            [0, rest @ ..] => rest,
            [first, ..] if first & 0x80 != 0 => return None,
            [] => return None,
            all => all,
        };
        if digits.len() > 8 {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }
}

/// Reads consecutive elements from a buffer.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at offset `base` in the scanned buffer.
    pub(crate) fn new(data: &'a [u8], base: usize) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            base,
            depth: 0,
        }
    }

    /// Whether every element has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Offset of the next element.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The next element, or `None` at the end.
    pub(crate) fn next_tlv(&mut self) -> Result<Option<Tlv<'a>>, String> {
        if self.is_empty() {
            return Ok(None);
        }
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let at = self.offset();
        let head = parse(rest, at, self.depth)?;
        if head.tag == 0 {
            return Err(format!("unexpected end-of-contents marker at offset {at}"));
        }
        let raw = rest.get(..head.total).unwrap_or_default();
        let content = raw
            .get(head.header..head.header + head.content)
            .unwrap_or_default();
        self.pos += head.total;
        Ok(Some(Tlv {
            tag: head.tag,
            offset: at,
            raw,
            content,
            content_offset: at + head.header,
            depth: self.depth,
        }))
    }

    /// The next element, which must have tag `tag`; `what` names it in errors.
    pub(crate) fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
        let at = self.offset();
        match self.next_tlv()? {
            Some(tlv) if tlv.tag == tag => Ok(tlv),
            Some(tlv) => Err(format!(
                "expected {what} (tag 0x{tag:02x}) at offset {at}, found tag 0x{:02x}",
                tlv.tag
            )),
            None => Err(format!("{what} is missing at offset {at}")),
        }
    }

    /// The next element if it has tag `tag`; otherwise nothing is consumed.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, String> {
        if self.data.get(self.pos) != Some(&tag) {
            return Ok(None);
        }
        self.next_tlv()
    }
}

struct Head {
    tag: u8,
    header: usize,
    content: usize,
    total: usize,
}

/// Parses the element at the start of `data` (found at offset `at`), finding the end of
/// indefinite-length contents by walking their elements.
fn parse(data: &[u8], at: usize, depth: u32) -> Result<Head, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "elements nest deeper than {MAX_DEPTH} levels at offset {at}"
        ));
    }
    let truncated = || format!("element header at offset {at} is cut off by the end of the data");
    let &tag = data.first().ok_or_else(truncated)?;
    let mut i = 1;
    if tag & 0x1f == 0x1f {
        // High tag number: base-128 digits, the last without the top bit.
        loop {
            let &b = data.get(i).ok_or_else(truncated)?;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            if i > 5 {
                return Err(format!("tag number at offset {at} is too long"));
            }
        }
    }
    let &first = data.get(i).ok_or_else(truncated)?;
    i += 1;
    let len = match first {
        0x80 => None,
        0xff => return Err(format!("reserved length octet 0xff at offset {at}")),
        b if b < 0x80 => Some(usize::from(b)),
        b => {
            let n = usize::from(b & 0x7f);
            let bytes = data.get(i..i + n).ok_or_else(truncated)?;
            i += n;
            let mut len = 0usize;
            for &b in bytes {
                len = len
                    .checked_mul(256)
                    .map(|l| l + usize::from(b))
                    .ok_or_else(|| format!("length at offset {at} does not fit in memory"))?;
            }
            Some(len)
        }
    };
    let header = i;
    match len {
        Some(len) => {
            let available = data.len() - header;
            if len > available {
                return Err(format!(
                    "element at offset {at} (tag 0x{tag:02x}) claims {len} bytes of contents \
                     but only {available} remain"
                ));
            }
            Ok(Head {
                tag,
                header,
                content: len,
                total: header + len,
            })
        }
        None => {
            if tag & 0x20 == 0 {
                return Err(format!(
                    "primitive element at offset {at} (tag 0x{tag:02x}) has an indefinite length"
                ));
            }
            let mut pos = header;
            loop {
                let rest = data.get(pos..).unwrap_or_default();
                if rest.starts_with(&[0, 0]) {
                    return Ok(Head {
                        tag,
                        header,
                        content: pos - header,
                        total: pos + 2,
                    });
                }
                if rest.is_empty() {
                    return Err(format!(
                        "indefinite-length element at offset {at} (tag 0x{tag:02x}) has no \
                         end-of-contents marker"
                    ));
                }
                let child = parse(rest, at + pos, depth + 1)?;
                if child.tag == 0 {
                    return Err(format!(
                        "malformed end-of-contents marker at offset {}",
                        at + pos
                    ));
                }
                pos += child.total;
            }
        }
    }
}

/// The value of an OCTET STRING, with where its bytes came from.
#[derive(Debug, Clone)]
pub(crate) struct Octets<'a> {
    /// The value: borrowed when the string is primitive, the joined chunks when constructed.
    pub value: Cow<'a, [u8]>,
    /// `(position in the value, offset of those bytes)` for each chunk, in order.
    pub segments: Vec<(usize, usize)>,
}

/// The value of an OCTET STRING (or an IMPLICIT tag over one), primitive or constructed (BER:
/// the concatenation of its chunks, nested chunks included).
pub(crate) fn octets<'a>(tlv: &Tlv<'a>) -> Result<Octets<'a>, String> {
    if !tlv.is_constructed() {
        let segments = vec![(0, tlv.content_offset)];
        return Ok(Octets {
            value: Cow::Borrowed(tlv.content),
            segments,
        });
    }
    let mut value = Vec::new();
    let mut segments = Vec::new();
    collect_chunks(tlv, &mut value, &mut segments)?;
    Ok(Octets {
        value: Cow::Owned(value),
        segments,
    })
}

fn collect_chunks(
    tlv: &Tlv<'_>,
    value: &mut Vec<u8>,
    segments: &mut Vec<(usize, usize)>,
) -> Result<(), String> {
    let mut chunks = tlv.children();
    while let Some(chunk) = chunks.next_tlv()? {
        match chunk.tag {
            tag::OCTET_STRING => {
                segments.push((value.len(), chunk.content_offset));
                value.extend_from_slice(chunk.content);
            }
            tag::OCTET_STRING_CONSTRUCTED => collect_chunks(&chunk, value, segments)?,
            other => {
                return Err(format!(
                    "constructed OCTET STRING at offset {} holds a chunk with tag 0x{other:02x}",
                    tlv.offset
                ));
            }
        }
    }
    Ok(())
}

/// Dotted form of an OBJECT IDENTIFIER's contents, for messages (`1.2.840.113549.1.7.1`).
pub(crate) fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    for &b in content.iter().take(64) {
        acc = (acc << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "(empty OID)".to_string();
    };
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in rest {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Result<Vec<(u8, usize, usize)>, String> {
        let mut r = Reader::new(data, 100);
        let mut out = Vec::new();
        while let Some(t) = r.next_tlv()? {
            out.push((t.tag, t.offset, t.content.len()));
        }
        Ok(out)
    }

    #[test]
    fn definite_and_indefinite_lengths() {
        // SEQUENCE (indefinite) { INTEGER 5, SEQUENCE (indefinite) { NULL } }, then OCTET STRING.
        let data = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x05, 0x00, 0, 0, 0, 0, 0x04, 0x01, 0xaa,
        ];
        assert_eq!(all(&data).unwrap(), vec![(0x30, 100, 9), (0x04, 113, 1)]);
        let outer = Reader::new(&data, 0).next_tlv().unwrap().unwrap();
        assert_eq!(outer.raw.len(), 13);
        let mut inner = outer.children();
        assert_eq!(inner.expect(tag::INTEGER, "n").unwrap().uint(), Some(5));
        let seq = inner.expect(tag::SEQUENCE, "s").unwrap();
        assert_eq!((seq.offset, seq.content), (5, &[0x05, 0x00][..]));
        assert!(inner.is_empty());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &[0x30, 0x80, 0x02, 0x01, 0x05][..],      // no end-of-contents
            &[0x04, 0x80, 0x00, 0x00],                // primitive indefinite
            &[0x30, 0x05, 0x02, 0x01],                // overrun
            &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9], // length too large
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x00, 0x00],
            &[0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00],
            &[0x30],
        ] {
            assert!(all(bad).is_err(), "{bad:02x?}");
        }
        // Deep nesting of indefinite lengths is bounded, not a stack overflow.
        let mut deep = Vec::new();
        for _ in 0..100_000 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(all(&deep).unwrap_err().contains("deeper"));
    }

    #[test]
    fn constructed_octet_strings_are_joined_with_their_offsets() {
        let data = [
            0x24, 0x80, 0x04, 0x02, 1, 2, 0x24, 0x03, 0x04, 0x01, 3, 0, 0,
        ];
        let tlv = Reader::new(&data, 10).next_tlv().unwrap().unwrap();
        let octets = octets(&tlv).unwrap();
        assert_eq!(&*octets.value, &[1, 2, 3]);
        assert_eq!(octets.segments, vec![(0, 14), (2, 20)]);
    }

    #[test]
    fn oid_strings() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]),
            "1.2.840.113549.1.7.1"
        );
        assert_eq!(oid_string(&[0x88, 0x37]), "2.999");
        assert_eq!(oid_string(&[]), "(empty OID)");
    }
}
