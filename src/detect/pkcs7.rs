//! PKCS#7 / CMS certificate bundles: `.p7b`, `.p7c`, `.spc`, and the body of PEM `PKCS7`/`CMS`
//! blocks.
//!
//! Reads `ContentInfo { signedData }` down to `SignedData.certificates` (RFC 5652 §5.1) and reports
//! every plain X.509 certificate in it; attribute certificates and other certificate choices are
//! skipped. Nothing is verified: signatures are [`crate::sign`]'s business.
//!
//! Real bundles are not always DER: Windows and Java tools write BER with indefinite lengths and
//! constructed strings. The walk is done with [`ber`], a small BER reader that hands out the original
//! bytes and offsets of every element, so each certificate is fingerprinted exactly as it sits in the
//! input. (x509-parser's `der-parser` reads BER too, but its indefinite-length objects do not expose
//! where their contents end, and RustCrypto `cms` re-encodes; neither gives offsets.)
//!
//! The whole structure is checked before anything is reported: a bundle that does not parse is an
//! `Err`, so the dispatcher's generic search can take over without reporting anything twice.

use super::{Detector, FormatResult, Parser, Sink};
use ber::{Reader, Tlv, tag};

/// OID content bytes of `id-signedData` (1.2.840.113549.1.7.2).
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

/// One plain certificate of a SignedData, as it sits in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateSlice<'a> {
    /// Where the certificate's encoding starts, relative to the buffer given to [`certificates`].
    pub offset: usize,
    /// The certificate's encoding, exactly as found.
    pub der: &'a [u8],
}

/// Reports every certificate of the `ContentInfo { signedData }` at the start of `data`.
///
/// Bytes after the ContentInfo (line ends, zero padding) are ignored. A certificate choice that is
/// not an X.509 certificate is skipped; one that does not parse becomes a partial.
pub fn scan(detector: &Detector<'_>, data: &[u8], sink: &mut dyn Sink) -> FormatResult {
    let found = certificates(data)?;
    let total = found.len();
    for (i, slice) in found.iter().enumerate() {
        match detector.cache.get_or_parse(slice.der) {
            Ok(cert) => sink.certificate(cert, slice.offset as u64, Parser::Pkcs7),
            Err(e) => sink.partial(
                slice.offset as u64,
                Parser::Pkcs7,
                format!("certificate {} of {total}: {e}", i + 1),
            ),
        }
    }
    Ok(())
}

/// The plain certificates in `SignedData.certificates` of the `ContentInfo` at the start of `data`,
/// in order, without parsing them.
///
/// Fails when `data` does not start with a well-formed `ContentInfo { signedData }` (BER or DER).
pub fn certificates(data: &[u8]) -> Result<Vec<CertificateSlice<'_>>, String> {
    let content_info = Reader::new(data, 0).expect(tag::SEQUENCE, "the ContentInfo SEQUENCE")?;
    let mut fields = content_info.children();
    let content_type = fields.expect(tag::OID, "the ContentInfo content type")?;
    if content_type.content != OID_SIGNED_DATA {
        return Err(format!(
            "content type {} is not signedData",
            ber::oid_string(content_type.content)
        ));
    }
    let explicit = fields.expect(tag::context_constructed(0), "the ContentInfo [0] content")?;
    let signed_data = explicit.children().expect(tag::SEQUENCE, "the SignedData SEQUENCE")?;
    signed_data_certificates(&signed_data)
}

/// The plain certificates of a `SignedData` SEQUENCE already read, checking the shape of the whole
/// SignedData (version, digest algorithms, encapsulated content, certificates, CRLs, signer infos).
pub(crate) fn signed_data_certificates<'a>(
    signed_data: &Tlv<'a>,
) -> Result<Vec<CertificateSlice<'a>>, String> {
    let mut fields = signed_data.children();
    fields.expect(tag::INTEGER, "the SignedData version")?;
    fields.expect(tag::SET, "the SignedData digestAlgorithms SET")?;
    fields.expect(tag::SEQUENCE, "the SignedData encapContentInfo")?;
    let mut found = Vec::new();
    if let Some(set) = fields.optional(tag::context_constructed(0))? {
        let mut choices = set.children();
        while let Some(choice) = choices.next_tlv()? {
            // CertificateChoices: a plain Certificate is a SEQUENCE; extendedCertificate [0],
            // v1AttrCert [1], v2AttrCert [2] and other [3] are not X.509 certificates.
            if choice.tag == tag::SEQUENCE {
                found.push(CertificateSlice { offset: choice.offset, der: choice.raw });
            }
        }
    }
    fields.optional(tag::context_constructed(1))?;
    fields.expect(tag::SET, "the SignedData signerInfos SET")?;
    Ok(found)
}

/// A small BER reader: definite and indefinite lengths, constructed strings, exact offsets.
///
/// Every element handed out keeps its original bytes ([`Tlv::raw`]) and where it starts, relative
/// to the buffer the first [`Reader`] was given, plus a base offset. Nesting is bounded
/// ([`ber::MAX_DEPTH`]) so hostile indefinite-length input cannot exhaust the stack, and nothing is
/// allocated from a length found in the input.
pub(crate) mod ber {
    use std::borrow::Cow;

    /// How deep elements may nest; real PKCS#7 and PKCS#12 structures stay under 16.
    pub(crate) const MAX_DEPTH: u32 = 64;

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
        /// NULL.
        pub(crate) const NULL: u8 = 0x05;
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
            Reader { data: self.content, pos: 0, base: self.content_offset, depth: self.depth + 1 }
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
            Some(digits.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
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
            Reader { data, pos: 0, base, depth: 0 }
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
            let content = raw.get(head.header..head.header + head.content).unwrap_or_default();
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
            return Err(format!("elements nest deeper than {MAX_DEPTH} levels at offset {at}"));
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
                Ok(Head { tag, header, content: len, total: header + len })
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
                        return Ok(Head { tag, header, content: pos - header, total: pos + 2 });
                    }
                    if rest.is_empty() {
                        return Err(format!(
                            "indefinite-length element at offset {at} (tag 0x{tag:02x}) has no \
                             end-of-contents marker"
                        ));
                    }
                    let child = parse(rest, at + pos, depth + 1)?;
                    if child.tag == 0 {
                        return Err(format!("malformed end-of-contents marker at offset {}", at + pos));
                    }
                    pos += child.total;
                }
            }
        }
    }

    /// The value of an OCTET STRING (or an IMPLICIT tag over one), primitive or constructed.
    ///
    /// A primitive string is borrowed. A constructed one (BER) is the concatenation of its chunks;
    /// the returned segments map positions in it back to offsets: `(position in the value, offset
    /// of those bytes)`, in order.
    pub(crate) fn octets<'a>(tlv: &Tlv<'a>) -> Result<(Cow<'a, [u8]>, Vec<(usize, usize)>), String> {
        if !tlv.is_constructed() {
            return Ok((Cow::Borrowed(tlv.content), vec![(0, tlv.content_offset)]));
        }
        let mut value = Vec::new();
        let mut segments = Vec::new();
        collect_chunks(tlv, &mut value, &mut segments)?;
        Ok((Cow::Owned(value), segments))
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
            let data = [0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x05, 0x00, 0, 0, 0, 0, 0x04, 0x01, 0xaa];
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
                &[0x30, 0x80, 0x02, 0x01, 0x05][..],  // no end-of-contents
                &[0x04, 0x80, 0x00, 0x00],            // primitive indefinite
                &[0x30, 0x05, 0x02, 0x01],            // overrun
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
            let data = [0x24, 0x80, 0x04, 0x02, 1, 2, 0x24, 0x03, 0x04, 0x01, 3, 0, 0];
            let tlv = Reader::new(&data, 10).next_tlv().unwrap().unwrap();
            let (value, segments) = octets(&tlv).unwrap();
            assert_eq!(&*value, &[1, 2, 3]);
            assert_eq!(segments, vec![(0, 14), (2, 20)]);
        }

        #[test]
        fn oid_strings() {
            assert_eq!(oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]), "1.2.840.113549.1.7.1");
            assert_eq!(oid_string(&[0x88, 0x37]), "2.999");
            assert_eq!(oid_string(&[]), "(empty OID)");
        }
    }
}

#[cfg(test)]
pub(crate) mod tools {
    //! Runs the real tools (`openssl`, `keytool`) that make the detectors' test inputs.
    //!
    //! A missing tool fails the test with a clear message: these tests never skip.

    use std::path::Path;
    use std::process::Command;

    /// Runs `program` with `args` in `dir` and returns its standard output; panics (failing the
    /// test) if it cannot be started or exits with an error.
    pub(crate) fn run(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
        let output = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("cannot run `{program}` (install it: openssl, and JDK 17 for keytool): {e}")
        });
        assert!(
            output.status.success(),
            "`{program} {}` failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Lowercase hex without colons of every `<label>…: AA:BB:…` fingerprint line in `text`
    /// (`openssl x509 -fingerprint` prints `sha256 Fingerprint=…`, keytool `SHA256: …`).
    pub(crate) fn fingerprints(text: &[u8], label: &str) -> Vec<String> {
        String::from_utf8_lossy(text)
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let rest = line.strip_prefix(label)?;
                let hex = rest.trim_start_matches(|c: char| !c.is_ascii_hexdigit() || c.is_ascii_lowercase() && !rest.contains(':'));
                let hex: String = hex.chars().filter(|c| *c != ':').collect::<String>().to_lowercase();
                (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
            })
            .collect()
    }

    /// SHA-256 fingerprint of the PEM certificate in `file`, as openssl prints it.
    pub(crate) fn openssl_fingerprint(dir: &Path, file: &str) -> String {
        let out = run(dir, "openssl", &["x509", "-in", file, "-noout", "-fingerprint", "-sha256"]);
        let found = fingerprints(&out, "sha256 Fingerprint=");
        assert_eq!(found.len(), 1, "unexpected openssl output: {}", String::from_utf8_lossy(&out));
        found.into_iter().next().unwrap_or_default()
    }

    /// Makes a self-signed EC CA `name.pem`/`name.key` in `dir`; returns its SHA-256 fingerprint.
    pub(crate) fn self_signed(dir: &Path, name: &str) -> String {
        run(
            dir,
            "openssl",
            &[
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"), "-days", "30",
                "-subj", &format!("/CN={name}"),
            ],
        );
        openssl_fingerprint(dir, &format!("{name}.pem"))
    }

    /// Makes `name.pem`/`name.key`, an RSA leaf certificate issued by the CA `ca`; returns its
    /// SHA-256 fingerprint.
    pub(crate) fn issued(dir: &Path, name: &str, ca: &str) -> String {
        run(
            dir,
            "openssl",
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &format!("{name}.key"), "-out",
                &format!("{name}.csr"), "-subj", &format!("/CN={name}"),
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "x509", "-req", "-in", &format!("{name}.csr"), "-CA", &format!("{ca}.pem"), "-CAkey",
                &format!("{ca}.key"), "-CAcreateserial", "-days", "30", "-out", &format!("{name}.pem"),
            ],
        );
        openssl_fingerprint(dir, &format!("{name}.pem"))
    }

    /// Concatenates files of `dir` into `out`.
    pub(crate) fn concat(dir: &Path, parts: &[&str], out: &str) {
        let mut all = Vec::new();
        for part in parts {
            all.extend(std::fs::read(dir.join(part)).unwrap_or_else(|e| panic!("read {part}: {e}")));
        }
        std::fs::write(dir.join(out), all).unwrap_or_else(|e| panic!("write {out}: {e}"));
    }

    /// Reads a file of `dir`.
    pub(crate) fn read(dir: &Path, name: &str) -> Vec<u8> {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// Sorted copy, for comparing sets of fingerprints.
    pub(crate) fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
        let mut v = items.to_vec();
        v.sort();
        v
    }

    /// Lengths at which to cut a file of `len` bytes in the truncation tests: every header-sized
    /// cut at the start, then a spread through the rest.
    pub(crate) fn cut_points(len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..len.min(64)).collect();
        cuts.extend((1..40).map(|i| len * i / 40));
        cuts.extend(len.saturating_sub(24)..len);
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

#[cfg(test)]
mod tests {
    use super::tools::{concat, cut_points, issued, read, run, self_signed, sorted};
    use super::*;
    use crate::detect::testing;

    fn pkcs7_fingerprints(rec: &testing::Recorder) -> Vec<String> {
        sorted(&rec.certs.iter().filter(|c| c.2 == Parser::Pkcs7).map(|c| c.3.clone()).collect::<Vec<_>>())
    }

    #[test]
    fn crl2pkcs7_bundles_der_and_pem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        let leaf = issued(d, "leaf", "ca");
        concat(d, &["leaf.pem", "ca.pem"], "chain.pem");
        run(d, "openssl", &["crl2pkcs7", "-nocrl", "-certfile", "chain.pem", "-outform", "DER", "-out", "b.p7b"]);
        run(d, "openssl", &["crl2pkcs7", "-nocrl", "-certfile", "chain.pem", "-out", "b.pem"]);
        let expected = sorted(&[ca.clone(), leaf.clone()]);

        let der = read(d, "b.p7b");
        let rec = testing::scan(&der);
        assert_eq!(pkcs7_fingerprints(&rec), expected);
        assert_eq!(rec.certs.len(), 2, "{:?}", rec.certs);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // Offsets point at the certificates' DER in the file.
        for (_, offset, _, _) in &rec.certs {
            let at = usize::try_from(*offset).unwrap();
            assert!(der[at..].starts_with(&[0x30, 0x82]), "offset {at}");
        }
        let slices = certificates(&der).unwrap();
        assert_eq!(slices.len(), 2);
        assert!(slices.iter().all(|s| &der[s.offset..s.offset + s.der.len()] == s.der));

        // The PEM form goes through the PEM detector, which hands the decoded body to this module.
        let rec = testing::scan(&read(d, "b.pem"));
        let mut all: Vec<String> = rec.certs.iter().map(|c| c.3.clone()).collect();
        all.sort();
        assert_eq!(all, expected, "{:?}", rec);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn ber_indefinite_length_signed_data() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        let leaf = issued(d, "signer", "ca");
        std::fs::write(d.join("msg.txt"), b"hello\n").unwrap();
        run(
            d,
            "openssl",
            &[
                "cms", "-sign", "-stream", "-in", "msg.txt", "-signer", "signer.pem", "-inkey",
                "signer.key", "-certfile", "ca.pem", "-outform", "DER", "-out", "s.p7s",
            ],
        );
        let ber = read(d, "s.p7s");
        assert_eq!(&ber[..2], &[0x30, 0x80], "openssl did not write an indefinite-length ContentInfo");
        let rec = testing::scan(&ber);
        assert_eq!(pkcs7_fingerprints(&rec), sorted(&[ca, leaf]), "{rec:?}");
        assert_eq!(rec.certs.len(), 2);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn other_content_types_and_garbage_are_errors() {
        let cache = crate::cert::CertCache::new();
        let limits = crate::detect::Limits::default();
        let detector = Detector { cache: &cache, limits: &limits, passwords: &[] };
        let mut sink = testing::Recorder::default();
        // ContentInfo { id-data, [0] { OCTET STRING } }
        let data = [
            0x30, 0x11, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x04,
            0x04, 0x02, 0xab, 0xcd,
        ];
        let err = scan(&detector, &data, &mut sink).unwrap_err();
        assert_eq!(err, "content type 1.2.840.113549.1.7.1 is not signedData");
        assert!(scan(&detector, b"", &mut sink).is_err());
        assert!(scan(&detector, &[0x30, 0x80, 0x30, 0x80], &mut sink).is_err());
        assert!(sink.certs.is_empty() && sink.partials.is_empty());
    }

    #[test]
    fn truncated_bundles_never_panic_or_invent_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = self_signed(d, "ca");
        let leaf = issued(d, "leaf", "ca");
        concat(d, &["leaf.pem", "ca.pem"], "chain.pem");
        run(d, "openssl", &["crl2pkcs7", "-nocrl", "-certfile", "chain.pem", "-outform", "DER", "-out", "b.p7b"]);
        std::fs::write(d.join("msg.txt"), b"hello\n").unwrap();
        run(
            d,
            "openssl",
            &[
                "cms", "-sign", "-stream", "-in", "msg.txt", "-signer", "leaf.pem", "-inkey", "leaf.key",
                "-certfile", "ca.pem", "-outform", "DER", "-out", "s.p7s",
            ],
        );
        let known = [ca, leaf];
        for file in ["b.p7b", "s.p7s"] {
            let full = read(d, file);
            for cut in cut_points(full.len()) {
                let rec = testing::scan(&full[..cut]);
                for c in &rec.certs {
                    assert!(known.contains(&c.3), "{file} cut at {cut}: unknown certificate {c:?}");
                    assert_ne!(c.2, Parser::Pkcs7, "{file} cut at {cut}: a truncated bundle parsed");
                }
            }
        }
    }
}
