//! PKCS#7 / CMS certificate bundles: `.p7b`, `.p7c`, `.spc`, and the body of PEM `PKCS7`/`CMS`
//! blocks.
//!
//! Reads `ContentInfo { signedData }` down to `SignedData.certificates` (RFC 5652 §5.1) and reports
//! every plain X.509 certificate in it; attribute certificates and other certificate choices are
//! skipped. No signature is verified.
//!
//! Real bundles are not always DER: Windows and Java tools write BER with indefinite lengths and
//! constructed strings. The walk is done with `ber`, a small BER reader that hands out the original
//! bytes and offsets of every element, so each certificate is fingerprinted exactly as it sits in the
//! input. (RustCrypto `cms` decodes certificates into structures, so their bytes would be
//! re-encodings, and its 0.2 line reads no BER; the few elements walked here do not need it.)
//!
//! The whole structure is checked before anything is reported: a bundle that does not parse is an
//! `Err`, so the dispatcher's generic search can take over without reporting anything twice.

use super::ber::{self, Reader, Tlv, tag};
use super::{Detector, FormatResult, Parser, Sink};

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
    let signed_data = explicit
        .children()
        .expect(tag::SEQUENCE, "the SignedData SEQUENCE")?;
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
                found.push(CertificateSlice {
                    offset: choice.offset,
                    der: choice.raw,
                });
            }
        }
    }
    fields.optional(tag::context_constructed(1))?;
    fields.expect(tag::SET, "the SignedData signerInfos SET")?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::detect::testing;
    use crate::detect::testing::{concat, cut_points, issued, read, run, self_signed, sorted};

    fn pkcs7_fingerprints(rec: &testing::Recorder) -> Vec<String> {
        let found: Vec<String> = rec
            .certs
            .iter()
            .filter(|c| c.2 == Parser::Pkcs7)
            .map(|c| c.3.clone())
            .collect();
        sorted(&found)
    }

    /// A CA and a leaf issued by it in `dir`, with `chain.pem` holding both, a certs-only bundle
    /// `b.p7b` (DER) and `b.pem` from `openssl crl2pkcs7`, and `s.p7s`, a streamed (BER,
    /// indefinite-length) CMS signature by the leaf that carries both. Returns the fingerprints.
    fn bundles(d: &Path) -> Vec<String> {
        let ca = self_signed(d, "ca");
        let leaf = issued(d, "leaf", "ca");
        concat(d, &["leaf.pem", "ca.pem"], "chain.pem");
        run(
            d,
            "openssl",
            "crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out b.p7b",
        );
        run(
            d,
            "openssl",
            "crl2pkcs7 -nocrl -certfile chain.pem -out b.pem",
        );
        std::fs::write(d.join("msg.txt"), b"hello\n").unwrap();
        run(
            d,
            "openssl",
            "cms -sign -stream -in msg.txt -signer leaf.pem -inkey leaf.key -certfile ca.pem \
             -outform DER -out s.p7s",
        );
        sorted(&[ca, leaf])
    }

    #[test]
    fn crl2pkcs7_bundles_der_and_pem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = bundles(d);

        let der = read(d, "b.p7b");
        let rec = testing::scan(&der);
        assert_eq!(pkcs7_fingerprints(&rec), expected);
        assert_eq!(rec.certs.len(), 2, "{:?}", rec.certs);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
        // Offsets point at the certificates' DER in the file.
        for (_, offset, _, sha256) in &rec.certs {
            let at = usize::try_from(*offset).unwrap();
            let len = crate::cert::der_object_len(&der[at..]).expect("a DER object at the offset");
            assert_eq!(
                crate::cert::Certificate::from_der(&der[at..at + len])
                    .unwrap()
                    .sha256_hex(),
                *sha256
            );
        }
        let slices = certificates(&der).unwrap();
        assert_eq!(slices.len(), 2);
        assert!(
            slices
                .iter()
                .all(|s| der.get(s.offset..s.offset + s.der.len()) == Some(s.der))
        );

        // The PEM form goes through the PEM detector, which hands the decoded body to this module.
        let rec = testing::scan(&read(d, "b.pem"));
        let found: Vec<String> = rec.certs.iter().map(|c| c.3.clone()).collect();
        assert_eq!(sorted(&found), expected, "{rec:?}");
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn ber_indefinite_length_signed_data() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let expected = bundles(d);
        let ber = read(d, "s.p7s");
        assert_eq!(
            &ber[..2],
            &[0x30, 0x80],
            "openssl did not write an indefinite-length ContentInfo"
        );
        let rec = testing::scan(&ber);
        assert_eq!(pkcs7_fingerprints(&rec), expected, "{rec:?}");
        assert_eq!(rec.certs.len(), 2);
        assert!(rec.partials.is_empty(), "{:?}", rec.partials);
    }

    #[test]
    fn other_content_types_and_garbage_are_errors() {
        let cache = crate::cert::CertCache::new();
        let limits = crate::detect::Limits::default();
        let detector = Detector {
            cache: &cache,
            limits: &limits,
            passwords: &[],
        };
        let mut sink = testing::Recorder::default();
        // ContentInfo { id-data, [0] { OCTET STRING } }
        let data = [
            0x30, 0x11, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0,
            0x04, 0x04, 0x02, 0xab, 0xcd,
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
        let known = bundles(d);
        for file in ["b.p7b", "s.p7s"] {
            let full = read(d, file);
            for cut in cut_points(full.len()) {
                let rec = testing::scan(&full[..cut]);
                for c in &rec.certs {
                    let what = format!("{file} cut at {cut}: {c:?}");
                    assert!(known.contains(&c.3), "{what}: unknown certificate");
                    assert_ne!(c.2, Parser::Pkcs7, "{what}: a truncated bundle parsed");
                }
                // Once the start is recognisable as PKCS#7, the damage is reported.
                if cut >= 16 {
                    assert!(!rec.partials.is_empty(), "{file} cut at {cut}: no partial");
                }
            }
        }
    }
}
