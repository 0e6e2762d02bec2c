//! Authenticode signatures in PE/COFF images: Windows executables and DLLs, and EFI binaries
//! (shim, GRUB, the kernel's EFI stub).
//!
//! # Layout
//!
//! The few headers that matter are read by hand: the DOS header's `e_lfanew`, the `PE\0\0`
//! signature, the optional header's magic (PE32 or PE32+), its CheckSum field, its
//! NumberOfRvaAndSizes and the security directory (index 4: a FILE offset and size, not an RVA).
//! `goblin` was not used: it parses far more than this (sections, imports, resources), each a way
//! for a real file to be rejected, and would cost a full parse of every PE a scan meets; the
//! Authenticode hash needs only these offsets. NumberOfRvaAndSizes may be below 16 — the x86
//! kernel's EFI stub (`vmlinuz`) has 6, which still includes the security directory; below 5 there
//! is none and the image is unsigned.
//!
//! The certificate table is a run of `WIN_CERTIFICATE { dwLength, wRevision, wCertificateType,
//! bCertificate }` entries, each starting 8-aligned: the next one is at `align8(offset +
//! dwLength)`, and `dwLength` itself need not be a multiple of 8 (shim's `fbx64.efi` and
//! `mmx64.efi` have 1471). Zero padding follows the PKCS#7 inside an entry and after the last one.
//! Only `WIN_CERT_TYPE_PKCS_SIGNED_DATA` (2) entries are signatures; shim carries two of them
//! (Microsoft's 2011 and 2023 UEFI CAs), where `osslsigncode` 2.9 gives up ("Corrupted attribute
//! certificate table") and `sbverify --list` shows both.
//!
//! # What is read
//!
//! Each entry is a `ContentInfo { SignedData }` whose content is `SpcIndirectDataContent`
//! (1.3.6.1.4.1.311.2.1.4: the image digest and its algorithm). Its SignerInfo gives the signer,
//! `SpcSpOpusInfo` (program name and URL), signingTime, and in its unsigned attributes the
//! timestamp (a PKCS#9 counterSignature or an RFC 3161 token, Microsoft's or the standard
//! attribute) and nested signatures (1.3.6.1.4.1.311.2.4.1), which become their own
//! [`Signature`]s with `nested: true`, numbered right after their parent. A signature's
//! `certificates` are its SignedData's (as `openssl pkcs7 -print_certs` lists them); the TSA chain
//! inside an RFC 3161 token is not among them, only the TSA's own certificate, as the timestamp's
//! signer.
//!
//! # What is verified
//!
//! With `options.verify`: the Authenticode image hash, computed like `osslsigncode` does — the
//! whole file up to the certificate table, except the CheckSum field and the security directory
//! entry (for the well-formed images where the table ends the file this is exactly Microsoft's
//! header, sorted-sections and extra-data procedure, and `sbverify` agrees) — must equal the
//! signed digest; bytes after the certificate table are covered by no signature, and, like
//! `osslsigncode`, such an image does not verify. Then the messageDigest attribute must be the
//! digest of `SpcIndirectDataContent`'s contents (the DER of its value without the SEQUENCE tag
//! and length, RFC 2315 §9.3), and the signer's signature over the signed attributes must verify
//! with its certificate. Nested signatures are checked the same way against the same image, each
//! with its own digest algorithm. Not checked: page hashes, the PE checksum, timestamps' own
//! signatures, certificate chains and trust.

use super::cms::{self, Attributes, SignedData};
use super::verify::{self, ContentDigest, DigestAlgorithm};
use super::{SignOptions, Signature, SignatureFormat, Signed};
use crate::cert::CertCache;
use crate::detect::ber::{Reader, tag};

/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 2;

/// Where the Authenticode-relevant fields of a PE image are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeLayout {
    /// File offset of the optional header's CheckSum field (4 bytes).
    pub checksum_offset: usize,
    /// File offset of the security directory entry (8 bytes), when NumberOfRvaAndSizes
    /// includes it.
    pub security_entry_offset: Option<usize>,
    /// The certificate table's file offset and size, as the security directory gives them;
    /// `None` when the directory is absent or empty.
    pub certificate_table: Option<(u32, u32)>,
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

impl PeLayout {
    /// Reads the headers; `None` when `data` is not a PE image whose headers are all there.
    pub fn parse(data: &[u8]) -> Option<PeLayout> {
        if !data.starts_with(b"MZ") {
            return None;
        }
        let pe = usize::try_from(u32_at(data, 0x3c)?).ok()?;
        if data.get(pe..pe.checked_add(4)?)? != b"PE\0\0" {
            return None;
        }
        let optional = pe + 24;
        let (rva_count_at, directories) = match u16_at(data, optional)? {
            0x10b => (optional + 92, optional + 96),
            0x20b => (optional + 108, optional + 112),
            _ => return None,
        };
        let checksum_offset = optional + 64;
        let count = u32_at(data, rva_count_at)?;
        if count < 5 {
            return Some(PeLayout {
                checksum_offset,
                security_entry_offset: None,
                certificate_table: None,
            });
        }
        let entry = directories + 4 * 8;
        let offset = u32_at(data, entry)?;
        let size = u32_at(data, entry + 4)?;
        Some(PeLayout {
            checksum_offset,
            security_entry_offset: Some(entry),
            certificate_table: (offset != 0 || size != 0).then_some((offset, size)),
        })
    }
}

/// Why an image hash cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageHashError {
    /// Not a PE image with complete headers.
    #[error("not a PE image")]
    NotPe,
    /// The certificate table's position makes the hashed ranges impossible.
    #[error("{0}")]
    BadTable(String),
}

/// The Authenticode digest of a PE image with `algorithm`: every byte up to the certificate
/// table (or the end of an unsigned image) except the CheckSum field and the security directory
/// entry. Bytes after the certificate table are not hashed (see the module documentation).
pub fn image_digest(data: &[u8], algorithm: DigestAlgorithm) -> Result<Vec<u8>, ImageHashError> {
    let layout = PeLayout::parse(data).ok_or(ImageHashError::NotPe)?;
    let ranges = hashed_ranges(data.len(), &layout).map_err(ImageHashError::BadTable)?;
    let mut h = algorithm.hasher();
    for (start, end) in ranges {
        h.update(&data[start..end]);
    }
    Ok(h.finalize())
}

/// The byte ranges the image hash covers, in order.
fn hashed_ranges(len: usize, layout: &PeLayout) -> Result<Vec<(usize, usize)>, String> {
    let cs = layout.checksum_offset;
    let Some(sec) = layout.security_entry_offset else {
        // No security directory: everything but the checksum.
        return Ok(vec![(0, cs), (cs + 4, len)]);
    };
    let end = match layout.certificate_table {
        None => len,
        Some((offset, size)) => {
            let offset = offset as usize;
            if offset < sec + 8 {
                return Err(format!(
                    "the certificate table starts at offset {offset}, inside the headers"
                ));
            }
            if offset > len {
                return Err(format!(
                    "the certificate table starts at offset {offset}, past the end of the file \
                     ({len} bytes)"
                ));
            }
            let table_end = offset.saturating_add(size as usize);
            if table_end < len {
                return Err(format!(
                    "{} bytes follow the certificate table (offset {offset}, size {size}): no \
                     signature covers them",
                    len - table_end
                ));
            }
            offset
        }
    };
    Ok(vec![(0, cs), (cs + 4, sec), (sec + 8, end)])
}

/// Reads every Authenticode signature of a PE image, and verifies them when `options.verify`.
pub fn scan(data: &[u8], cache: &CertCache, options: &SignOptions) -> Signed {
    let Some(layout) = PeLayout::parse(data) else {
        return Signed::NotSignable;
    };
    let Some((offset, size)) = layout.certificate_table else {
        return Signed::Unsigned;
    };
    let mut ctx = Context {
        data,
        layout,
        cache,
        options,
        hashes: Vec::new(),
        signatures: Vec::new(),
    };
    let offset = offset as usize;
    if size == 0 || offset == 0 || offset > data.len() {
        ctx.malformed(format!(
            "the security directory (offset {offset}, size {size}) is not inside the file \
             ({} bytes)",
            data.len()
        ));
        return Signed::Signatures(ctx.signatures);
    }
    let end = offset.saturating_add(size as usize).min(data.len());
    let entries = win_certificates(&data[offset..end], offset);
    let walk_failed = entries.iter().any(Result::is_err);
    for entry in entries {
        match entry {
            Ok(der) => ctx.signature(der, false),
            Err(e) => ctx.malformed(e),
        }
    }
    if end - offset < size as usize && !walk_failed {
        ctx.malformed(format!(
            "the certificate table (offset {offset}, size {size}) is cut off by the end of the \
             file at {}",
            data.len()
        ));
    }
    if ctx.signatures.is_empty() {
        return Signed::Unsigned;
    }
    Signed::Signatures(ctx.signatures)
}

/// The `bCertificate` of each PKCS#7 WIN_CERTIFICATE in `table` (found at file offset `base`),
/// or why the walk stopped.
fn win_certificates(table: &[u8], base: usize) -> Vec<Result<&[u8], String>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < table.len() {
        let rest = &table[pos..];
        if rest.iter().all(|&b| b == 0) {
            break; // trailing padding
        }
        let at = base + pos;
        let (Some(length), Some(kind)) = (u32_at(rest, 0), u16_at(rest, 6)) else {
            out.push(Err(format!(
                "the WIN_CERTIFICATE header at offset {at} is cut off ({} bytes left)",
                rest.len()
            )));
            break;
        };
        let length = length as usize;
        if length < 8 || length > rest.len() {
            out.push(Err(format!(
                "the WIN_CERTIFICATE at offset {at} claims {length} bytes, but {} remain in the \
                 certificate table",
                rest.len()
            )));
            break;
        }
        if kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA {
            out.push(Ok(&rest[8..length]));
        }
        // Entries start 8-aligned; dwLength need not be a multiple of 8.
        pos = match pos
            .checked_add(length)
            .and_then(|p| p.checked_next_multiple_of(8))
        {
            Some(p) => p,
            None => break,
        };
    }
    out
}

/// The image digest algorithm and value of an `SpcIndirectDataContent` SEQUENCE.
fn indirect_data(raw: &[u8]) -> Result<(&[u8], Vec<u8>), String> {
    let seq = Reader::new(raw, 0).expect(tag::SEQUENCE, "the SpcIndirectDataContent")?;
    let mut fields = seq.children();
    fields.expect(tag::SEQUENCE, "the SpcIndirectDataContent data")?;
    let digest_info = fields.expect(tag::SEQUENCE, "the SpcIndirectDataContent messageDigest")?;
    let mut parts = digest_info.children();
    let alg = parts.expect(tag::SEQUENCE, "the image digest algorithm")?;
    let oid = alg
        .children()
        .expect(tag::OID, "the image digest algorithm OID")?;
    let digest = parts
        .next_tlv()?
        .ok_or_else(|| "the image digest is missing".to_string())?;
    if digest.tag & !0x20 != tag::OCTET_STRING {
        return Err(format!("the image digest has tag 0x{:02x}", digest.tag));
    }
    let value = crate::detect::ber::octets(&digest)?.value.into_owned();
    Ok((oid.content, value))
}

/// SpcSpOpusInfo's `(programName, moreInfo URL)`.
fn opus_info(attrs: &Attributes<'_>) -> (Option<String>, Option<String>) {
    let Some(value) = attrs.first(cms::oid::SPC_SP_OPUS_INFO) else {
        return (None, None);
    };
    let Ok(seq) = Reader::new(value, 0).expect(tag::SEQUENCE, "SpcSpOpusInfo") else {
        return (None, None);
    };
    let (mut name, mut url) = (None, None);
    let mut fields = seq.children();
    while let Ok(Some(field)) = fields.next_tlv() {
        // Both are EXPLICIT [0] / [1] around a CHOICE of IMPLICIT strings.
        let Ok(Some(choice)) = field.children().next_tlv() else {
            continue;
        };
        match field.tag {
            0xa0 => name = spc_string(&choice),
            0xa1 => url = spc_link(&choice),
            _ => {}
        }
    }
    (name, url)
}

/// SpcString: `[0] IMPLICIT BMPString` or `[1] IMPLICIT IA5String`.
fn spc_string(choice: &crate::detect::ber::Tlv<'_>) -> Option<String> {
    let bytes = crate::detect::ber::octets(choice).ok()?.value;
    let text = match choice.tag & !0x20 {
        0x80 => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        0x81 => String::from_utf8_lossy(&bytes).into_owned(),
        _ => return None,
    };
    Some(text.trim_end_matches('\0').to_string())
}

/// SpcLink: `[0] IMPLICIT IA5String` url, `[1]` moniker (no text), `[2] EXPLICIT SpcString` file.
fn spc_link(choice: &crate::detect::ber::Tlv<'_>) -> Option<String> {
    match choice.tag & !0x20 {
        0x80 => {
            let bytes = crate::detect::ber::octets(choice).ok()?.value;
            Some(
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches('\0')
                    .to_string(),
            )
        }
        0x82 => spc_string(&choice.children().next_tlv().ok()??),
        _ => None,
    }
}

struct Context<'d, 'c> {
    data: &'d [u8],
    layout: PeLayout,
    cache: &'c CertCache,
    options: &'c SignOptions,
    /// Image digests computed so far, one per algorithm.
    hashes: Vec<(DigestAlgorithm, Result<Vec<u8>, String>)>,
    signatures: Vec<Signature>,
}

impl Context<'_, '_> {
    fn next_index(&self) -> u32 {
        u32::try_from(self.signatures.len()).unwrap_or(u32::MAX)
    }

    fn malformed(&mut self, reason: String) {
        let sig =
            Signature::blank(SignatureFormat::Authenticode, self.next_index(), false).fail(reason);
        self.signatures.push(sig);
    }

    fn image_hash(&mut self, alg: DigestAlgorithm) -> Result<Vec<u8>, String> {
        if let Some((_, h)) = self.hashes.iter().find(|(a, _)| *a == alg) {
            return h.clone();
        }
        let h = hashed_ranges(self.data.len(), &self.layout).map(|ranges| {
            let mut hasher = alg.hasher();
            for (start, end) in ranges {
                hasher.update(&self.data[start..end]);
            }
            hasher.finalize()
        });
        self.hashes.push((alg, h.clone()));
        h
    }

    /// Adds the signature in `der` (a ContentInfo) and, for a primary one, its nested
    /// signatures after it.
    fn signature(&mut self, der: &[u8], nested: bool) {
        let index = self.next_index();
        let sd = match cms::parse_content_info(der) {
            Ok(sd) => sd,
            Err(e) => {
                let what = if nested { "nested " } else { "" };
                let sig = Signature::blank(SignatureFormat::Authenticode, index, nested)
                    .fail(format!("the {what}PKCS#7 SignedData: {e}"));
                self.signatures.push(sig);
                return;
            }
        };
        let (sig, nested_raw) = self.build(&sd, index, nested);
        self.signatures.push(sig);
        for raw in nested_raw {
            self.signature(raw, true);
        }
    }

    fn build<'s>(
        &mut self,
        sd: &SignedData<'s>,
        index: u32,
        nested: bool,
    ) -> (Signature, Vec<&'s [u8]>) {
        let mut sig = Signature::blank(SignatureFormat::Authenticode, index, nested);
        sig.certificates = cms::parse_certificates(&sd.certificates, self.cache);

        if sd.content_type != cms::oid::SPC_INDIRECT_DATA {
            let e = format!(
                "the signed content is {}, not SpcIndirectDataContent",
                crate::detect::ber::oid_string(sd.content_type)
            );
            return (sig.fail(e), Vec::new());
        }
        let Some(content) = &sd.content else {
            return (
                sig.fail("the SpcIndirectDataContent is missing"),
                Vec::new(),
            );
        };
        let (image_alg_oid, signed_image_digest) = match indirect_data(content.raw) {
            Ok(v) => v,
            Err(e) => return (sig.fail(e), Vec::new()),
        };
        sig.digest_algorithm = verify::digest_name(image_alg_oid);
        let Some(si) = sd.signer_infos.first() else {
            return (sig.fail("the SignedData has no SignerInfo"), Vec::new());
        };
        sig.signer = cms::signer(&si.sid, &sd.certificates, self.cache);
        if let Some(attrs) = &si.signed_attrs {
            (sig.program_name, sig.program_url) = opus_info(attrs);
            sig.signing_time = cms::signing_time(attrs);
        }
        let mut nested_raw = Vec::new();
        if let Some(unsigned) = &si.unsigned_attrs {
            sig.timestamp = cms::first_timestamp(unsigned, sd, self.cache);
            if !nested {
                nested_raw = cms::nested_signatures(unsigned);
            }
        }
        if sd.signer_infos.len() > 1 {
            let e = format!(
                "the SignedData has {} SignerInfos; Authenticode allows one",
                sd.signer_infos.len()
            );
            return (sig.fail(e), nested_raw);
        }

        if !self.options.verify {
            return (sig, nested_raw);
        }
        let Some(image_alg) = DigestAlgorithm::from_oid(image_alg_oid) else {
            sig.verify_error = Some(format!(
                "unsupported image digest algorithm {}",
                sig.digest_algorithm
            ));
            return (sig, nested_raw);
        };
        let computed = match self.image_hash(image_alg) {
            Ok(h) => h,
            Err(e) => return (sig.fail(e), nested_raw),
        };
        if computed != signed_image_digest {
            let e = format!(
                "image digest mismatch: signed {} {}, computed {}",
                image_alg.name(),
                hex::encode_upper(&signed_image_digest),
                hex::encode_upper(&computed)
            );
            return (sig.fail(e), nested_raw);
        }
        let Some(cert) = sd.signer_certificate(si) else {
            sig.verify_error = Some(format!(
                "the signer's certificate is not among the {} the signature carries",
                sd.certificates.len()
            ));
            return (sig, nested_raw);
        };
        match verify::verify_content(si, ContentDigest::Bytes(&content.bytes), cert.der) {
            Ok(()) => sig.verified = Some(true),
            Err(e) if e.is_unsupported() => sig.verify_error = Some(e.to_string()),
            Err(e) => return (sig.fail(e.to_string()), nested_raw),
        }
        (sig, nested_raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::cut_points;
    use crate::sign::TimestampKind;
    use crate::sign::cms::samples::{sample, sample_find};

    fn signatures(data: &[u8], verify: bool) -> Vec<Signature> {
        let cache = CertCache::new();
        match scan(data, &cache, &SignOptions { verify }) {
            Signed::Signatures(s) => s,
            other => panic!("expected signatures, got {other:?}"),
        }
    }

    /// Where `inner` (a subslice of `outer`) starts in `outer`.
    fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
        inner.as_ptr() as usize - outer.as_ptr() as usize
    }

    /// The PKCS#7 of the first WIN_CERTIFICATE of a signed image.
    fn first_pkcs7(data: &[u8]) -> &[u8] {
        let (offset, size) = PeLayout::parse(data).unwrap().certificate_table.unwrap();
        let table = &data[offset as usize..][..size as usize];
        win_certificates(table, offset as usize)[0].clone().unwrap()
    }

    fn assert_verified(sigs: &[Signature]) {
        for s in sigs {
            assert_eq!(s.verified, Some(true), "#{}: {:?}", s.index, s.verify_error);
            assert_eq!(s.verify_error, None);
        }
    }

    const MS_UEFI_2011: &str = "CN=Microsoft Corporation UEFI CA 2011,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US";

    /// shim carries two WIN_CERTIFICATEs (expected values from `sbverify --list`; osslsigncode
    /// 2.9 refuses the table), each timestamped with an RFC 3161 token.
    #[test]
    fn shim_has_two_signatures() {
        let data = sample("boot/efi/EFI/debian/shimx64.efi");
        let sigs = signatures(&data, true);
        assert_eq!(sigs.len(), 2, "{sigs:#?}");
        assert_verified(&sigs);
        let [first, second] = &sigs[..] else {
            unreachable!()
        };
        assert_eq!((first.index, second.index), (0, 1));
        assert!(!first.nested && !second.nested);
        assert_eq!(
            first.signer.subject.as_deref(),
            Some(
                "CN=Microsoft Windows UEFI Driver Publisher,O=Microsoft Corporation,L=Redmond,\
                 ST=Washington,C=US"
            )
        );
        assert_eq!(first.signer.issuer, MS_UEFI_2011);
        assert_eq!(
            first.signer.serial,
            "33000000708cc364d7555a275e000100000070"
        );
        assert_eq!(
            second.signer.subject.as_deref(),
            Some(
                "CN=Microsoft UEFI CA 2023 signer,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US"
            )
        );
        assert_eq!(
            second.signer.issuer,
            "CN=Microsoft UEFI CA 2023,O=Microsoft Corporation,C=US"
        );
        for s in &sigs {
            assert_eq!(s.format, SignatureFormat::Authenticode);
            assert_eq!(s.digest_algorithm, "sha256");
            assert_eq!(
                s.program_name.as_deref(),
                Some("Software in the Public Interest, Inc")
            );
            let ts = s.timestamp.as_ref().expect("a timestamp");
            assert_eq!(ts.kind, TimestampKind::Rfc3161);
            assert!(
                ts.signer
                    .subject
                    .as_deref()
                    .unwrap()
                    .starts_with("CN=Microsoft Time-Stamp Service")
            );
            // The signer's chain; the TSA's is inside the timestamp token.
            assert_eq!(s.certificates.len(), 2);
        }
        // TSTInfo genTime 20260513100613.722Z and 20260513100614.342Z.
        assert_eq!(first.timestamp.as_ref().unwrap().time, Some(1_778_666_773));
        assert_eq!(second.timestamp.as_ref().unwrap().time, Some(1_778_666_774));
        assert!(
            first
                .signer
                .certificate
                .as_ref()
                .is_some_and(|c| c.serial == first.signer.serial)
        );
    }

    /// fbx64's and mmx64's WIN_CERTIFICATE is 1471 bytes long: not a multiple of 8. Expected
    /// values from `osslsigncode verify` and `sbverify --list`.
    #[test]
    fn unaligned_win_certificate_length() {
        for (name, signing_time) in [
            ("boot/efi/EFI/debian/fbx64.efi", 1_775_512_150), // Apr  6 21:49:10 2026 GMT
            ("boot/efi/EFI/debian/mmx64.efi", 1_775_512_152), // Apr  6 21:49:12 2026 GMT
        ] {
            let data = sample(name);
            let (offset, _) = PeLayout::parse(&data).unwrap().certificate_table.unwrap();
            assert_eq!(u32_at(&data, offset as usize), Some(1471), "{name}");
            let sigs = signatures(&data, true);
            assert_eq!(sigs.len(), 1, "{name}");
            assert_verified(&sigs);
            let s = &sigs[0];
            assert_eq!(
                s.signer.subject.as_deref(),
                Some("CN=Debian Secure Boot Signer 2022 - shim")
            );
            assert_eq!(s.signer.issuer, "CN=Debian Secure Boot CA");
            assert_eq!(s.signer.serial, "32a0287f841a036fa393c1e065c43ae6b2422644");
            assert_eq!(s.signing_time, Some(signing_time), "{name}");
            assert_eq!(s.timestamp, None);
            assert_eq!(s.digest_algorithm, "sha256");
        }
    }

    /// The kernel's EFI stub has NumberOfRvaAndSizes 6: the security directory is still there.
    #[test]
    fn vmlinuz_with_six_data_directories() {
        let data = sample_find("boot", |name| name.starts_with("vmlinuz-"));
        let pe = u32_at(&data, 0x3c).unwrap() as usize;
        assert_eq!(u32_at(&data, pe + 24 + 108), Some(6));
        let sigs = signatures(&data, true);
        assert_eq!(sigs.len(), 1);
        assert_verified(&sigs);
        assert_eq!(
            sigs[0].signer.subject.as_deref(),
            Some("CN=Debian Secure Boot Signer 2022 - linux")
        );
        assert_eq!(
            sigs[0].signer.serial,
            "32a0287f841a036fa393c1e065c43ae6b2422643"
        );
        assert!(sigs[0].signing_time.is_some());
    }

    /// A Microsoft DLL: a primary signature and a nested one, each with an RFC 3161 timestamp in
    /// Microsoft's attribute (values from `osslsigncode verify`).
    #[test]
    fn microsoft_dll_with_nested_signature() {
        let data = sample("opt/msvc/vcruntime140.dll");
        let sigs = signatures(&data, true);
        assert_eq!(sigs.len(), 2);
        assert_verified(&sigs);
        let [primary, nested] = &sigs[..] else {
            unreachable!()
        };
        assert_eq!((primary.index, primary.nested), (0, false));
        assert_eq!((nested.index, nested.nested), (1, true));
        assert_eq!(
            primary.signer.serial,
            "330000010dc4e7bbf4aff8f09000000000010d"
        );
        assert!(
            primary
                .signer
                .subject
                .as_deref()
                .unwrap()
                .starts_with("CN=Microsoft Windows Software Compatibility Publisher,")
        );
        assert_eq!(
            nested.signer.serial,
            "330000047f2f422a735308deea00000000047f"
        );
        assert!(
            nested
                .signer
                .issuer
                .starts_with("CN=Microsoft Code Signing PCA 2011,")
        );
        for s in &sigs {
            assert_eq!(s.digest_algorithm, "sha256");
            assert_eq!(s.program_name.as_deref(), Some("Microsoft"));
            assert_eq!(s.program_url.as_deref(), Some("http://www.microsoft.com"));
            assert_eq!(s.signing_time, None);
        }
        // Timestamp time: Jun 10 22:29:20 2025 GMT, and 22:29:21 for the nested one.
        let ts = primary.timestamp.as_ref().unwrap();
        assert_eq!(
            (ts.kind, ts.time),
            (TimestampKind::Rfc3161, Some(1_749_594_560))
        );
        assert_eq!(ts.signer.serial, "33000001fc18a0afcc695a873a0001000001fc");
        assert_eq!(nested.timestamp.as_ref().unwrap().time, Some(1_749_594_561));
        assert_eq!(
            nested.timestamp.as_ref().unwrap().signer.serial,
            "33000001f5990994bcf1c6508c0001000001f5"
        );
    }

    /// Files signed by osslsigncode with the keys of `tests/fixtures/signed.sh`.
    #[test]
    fn osslsigncode_signatures() {
        let sigs = signatures(
            &sample("opt/signtest/authenticode/rsa-sha256-rfc3161.dll"),
            true,
        );
        assert_eq!(sigs.len(), 1);
        assert_verified(&sigs);
        let s = &sigs[0];
        assert_eq!(
            s.signer.subject.as_deref(),
            Some("CN=Code Signer RSA,O=rootsift tests,C=FR")
        );
        assert_eq!(s.signer.issuer, "CN=Test Root CA,O=rootsift tests,C=FR");
        assert_eq!(
            s.signer.certificate.as_ref().unwrap().serial,
            s.signer.serial
        );
        assert_eq!(s.digest_algorithm, "sha256");
        assert_eq!(s.program_name.as_deref(), Some("rootsift test program"));
        assert_eq!(
            s.program_url.as_deref(),
            Some("https://example.org/rootsift")
        );
        assert_eq!(s.signing_time, Some(1_700_000_000)); // -time
        let ts = s.timestamp.as_ref().unwrap();
        assert_eq!(
            (ts.kind, ts.time),
            (TimestampKind::Rfc3161, Some(1_700_000_600))
        ); // -TSA-time
        assert_eq!(
            ts.signer.subject.as_deref(),
            Some("CN=Test TSA,O=rootsift tests,C=FR")
        );

        // MD5, with a legacy PKCS#9 counterSignature whose signer is among the parent's
        // certificates.
        let sigs = signatures(&sample("opt/signtest/authenticode/rsa-md5-pkcs9.dll"), true);
        assert_verified(&sigs);
        assert_eq!(sigs[0].digest_algorithm, "md5");
        let ts = sigs[0].timestamp.as_ref().unwrap();
        assert_eq!(ts.kind, TimestampKind::Pkcs9CounterSignature);
        assert_eq!(
            ts.signer.subject.as_deref(),
            Some("CN=Test TSA,O=rootsift tests,C=FR")
        );
        assert!(ts.time.is_some_and(|t| t > 1_700_000_000));

        // ECDSA: P-256 with SHA-384 on a PE32 image, P-384 with SHA-512.
        for (name, alg, subject) in [
            (
                "opt/signtest/authenticode/ec-p256-sha384.efi",
                "sha384",
                "CN=Code Signer EC,O=rootsift tests,C=FR",
            ),
            (
                "opt/signtest/authenticode/ec-p384-sha512.dll",
                "sha512",
                "CN=Code Signer P384,O=rootsift tests,C=FR",
            ),
        ] {
            let data = sample(name);
            let sigs = signatures(&data, true);
            assert_eq!(sigs.len(), 1, "{name}");
            assert_verified(&sigs);
            assert_eq!(sigs[0].digest_algorithm, alg);
            assert_eq!(sigs[0].signer.subject.as_deref(), Some(subject));
        }

        // SHA-1 primary by the RSA key, SHA-256 nested by the EC key (osslsigncode -nest).
        let sigs = signatures(
            &sample("opt/signtest/authenticode/nested-sha1-sha256.dll"),
            true,
        );
        assert_eq!(sigs.len(), 2);
        assert_verified(&sigs);
        assert_eq!(
            (sigs[0].digest_algorithm.as_str(), sigs[0].nested),
            ("sha1", false)
        );
        assert_eq!(
            (sigs[1].digest_algorithm.as_str(), sigs[1].nested),
            ("sha256", true)
        );
        assert_eq!(
            sigs[1].signer.subject.as_deref(),
            Some("CN=Code Signer EC,O=rootsift tests,C=FR")
        );
    }

    #[test]
    fn pe32_layout() {
        let data = sample("opt/signtest/authenticode/ec-p256-sha384.efi");
        let pe = u32_at(&data, 0x3c).unwrap() as usize;
        assert_eq!(u16_at(&data, pe + 24), Some(0x10b), "not a PE32 image");
        let layout = PeLayout::parse(&data).unwrap();
        assert_eq!(layout.checksum_offset, pe + 24 + 64);
        assert_eq!(layout.security_entry_offset, Some(pe + 24 + 128));
    }

    #[test]
    fn unsigned_and_not_pe() {
        let cache = CertCache::new();
        let options = SignOptions::default();
        let unsigned = sample("opt/signtest/authenticode/unsigned64.dll");
        assert_eq!(scan(&unsigned, &cache, &options), Signed::Unsigned);
        assert_eq!(scan(b"", &cache, &options), Signed::NotSignable);
        assert_eq!(scan(b"MZ", &cache, &options), Signed::NotSignable);
        assert_eq!(
            scan(b"\x7fELF\x02\x01\x01", &cache, &options),
            Signed::NotSignable
        );
        // Fewer than 5 data directories: no security directory at all.
        let mut few = sample("opt/signtest/authenticode/rsa-sha256-rfc3161.dll");
        let pe = u32_at(&few, 0x3c).unwrap() as usize;
        few[pe + 24 + 108..pe + 24 + 112].copy_from_slice(&4u32.to_le_bytes());
        assert_eq!(scan(&few, &cache, &options), Signed::Unsigned);
        // The unsigned image's digest is what osslsigncode signed (the table is appended after
        // padding the image to 8 bytes, and this image is already aligned).
        let signed = sample("opt/signtest/authenticode/rsa-sha256-rfc3161.dll");
        assert_eq!(unsigned.len() % 8, 0);
        assert_eq!(
            image_digest(&unsigned, DigestAlgorithm::Sha256).unwrap(),
            image_digest(&signed, DigestAlgorithm::Sha256).unwrap()
        );
    }

    #[test]
    fn no_verify_leaves_verified_unset() {
        let sigs = signatures(&sample("opt/msvc/vcruntime140.dll"), false);
        assert_eq!(sigs.len(), 2);
        for s in sigs {
            assert_eq!((s.verified, s.verify_error), (None, None));
            assert!(s.signer.subject.is_some());
        }
    }

    #[test]
    fn a_flipped_image_byte_is_an_image_digest_mismatch() {
        for name in [
            "opt/msvc/vcruntime140.dll",
            "opt/signtest/authenticode/nested-sha1-sha256.dll",
        ] {
            let mut data = sample(name);
            let middle = data.len() / 3;
            data[middle] ^= 0x01;
            let sigs = signatures(&data, true);
            assert_eq!(sigs.len(), 2);
            for s in &sigs {
                assert_eq!(s.verified, Some(false), "{name}");
                let e = s.verify_error.as_deref().unwrap();
                let alg = &s.digest_algorithm;
                assert!(
                    e.starts_with(&format!("image digest mismatch: signed {alg} "))
                        && e.contains(", computed "),
                    "{name}: {e}"
                );
            }
        }
        // The CheckSum field is not covered by the image digest.
        let mut data = sample("opt/signtest/authenticode/rsa-sha256-rfc3161.dll");
        let cs = PeLayout::parse(&data).unwrap().checksum_offset;
        data[cs] ^= 0xff;
        assert_verified(&signatures(&data, true));
    }

    #[test]
    fn tampered_signed_content_and_signature_value() {
        let original = sample("opt/signtest/authenticode/rsa-sha256-rfc3161.dll");
        let pkcs7 = first_pkcs7(&original);
        let sd = cms::parse_content_info(pkcs7).unwrap();
        let base = offset_in(&original, pkcs7);

        // SpcPeImageData's OID (…311.2.1.15 → …311.2.1.14): the image digest still matches, the
        // messageDigest attribute no longer does.
        let content = sd.content.as_ref().unwrap().raw;
        let at = memchr::memmem::find(content, &[0x82, 0x37, 0x02, 0x01, 0x0f]).unwrap() + 4;
        let mut data = original.clone();
        data[base + offset_in(pkcs7, content) + at] = 0x0e;
        let s = &signatures(&data, true)[0];
        assert_eq!(s.verified, Some(false));
        assert!(
            s.verify_error
                .as_deref()
                .unwrap()
                .starts_with("messageDigest attribute mismatch: signed sha256 "),
            "{:?}",
            s.verify_error
        );

        // The signature value itself.
        let si = &sd.signer_infos[0];
        let std::borrow::Cow::Borrowed(value) = &si.signature else {
            panic!()
        };
        let mut data = original.clone();
        data[base + offset_in(pkcs7, value) + 10] ^= 0x40;
        let s = &signatures(&data, true)[0];
        assert_eq!(s.verified, Some(false));
        assert_eq!(
            s.verify_error.as_deref(),
            Some("the RSA PKCS#1 v1.5 signature does not verify with the signer's public key")
        );
    }

    /// A damaged first entry is reported and does not hide the second.
    #[test]
    fn a_malformed_entry_does_not_hide_the_next() {
        let mut data = sample("boot/efi/EFI/debian/shimx64.efi");
        let pkcs7 = first_pkcs7(&data);
        let at = offset_in(&data, pkcs7);
        data[at] = 0x31; // the ContentInfo SEQUENCE becomes a SET
        let sigs = signatures(&data, true);
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[0].verified, Some(false));
        assert!(
            sigs[0]
                .verify_error
                .as_deref()
                .unwrap()
                .contains("ContentInfo"),
            "{:?}",
            sigs[0]
        );
        assert_eq!(sigs[1].verified, Some(true), "{:?}", sigs[1].verify_error);
    }

    #[test]
    fn win_certificate_walk() {
        // Entry of 9 bytes (1 of PKCS#7), padding to 16, entry of 12, zero padding.
        let mut table = vec![9, 0, 0, 0, 0, 2, 2, 0, 0xaa, 0, 0, 0, 0, 0, 0, 0];
        table.extend_from_slice(&[12, 0, 0, 0, 0, 2, 2, 0, 0xbb, 0xcc, 0, 0, 0, 0, 0, 0]);
        let got = win_certificates(&table, 100);
        assert_eq!(got, vec![Ok(&[0xaa][..]), Ok(&[0xbb, 0xcc, 0, 0][..])]);
        // A non-PKCS#7 entry (type 1, X.509) is skipped.
        table[6] = 1;
        assert_eq!(
            win_certificates(&table, 100),
            vec![Ok(&[0xbb, 0xcc, 0, 0][..])]
        );
        // Lengths that are too short or too long stop the walk with a reason.
        for bad in [
            [4u8, 0, 0, 0, 0, 2, 2, 0],
            [0xff, 0xff, 0xff, 0xff, 0, 2, 2, 0],
        ] {
            let got = win_certificates(&bad, 0);
            assert_eq!(got.len(), 1);
            assert!(got[0].as_ref().unwrap_err().contains("claims"), "{got:?}");
        }
        let got = win_certificates(&[1, 2, 3], 7);
        assert!(got[0].as_ref().unwrap_err().contains("cut off"), "{got:?}");
        assert!(win_certificates(&[0; 12], 0).is_empty());
    }

    /// Every truncation, notably inside the certificate table, is an answer, never a panic, and
    /// a signature cut off never verifies.
    #[test]
    fn truncations_never_panic() {
        let cache = CertCache::new();
        for name in [
            "opt/signtest/authenticode/nested-sha1-sha256.dll",
            "boot/efi/EFI/debian/fbx64.efi",
        ] {
            let data = sample(name);
            let (offset, _) = PeLayout::parse(&data).unwrap().certificate_table.unwrap();
            let offset = offset as usize;
            let mut cuts = cut_points(data.len());
            cuts.extend((0..200).map(|i| offset + (data.len() - offset) * i / 200));
            cuts.extend(offset..offset + 16);
            for cut in cuts {
                let options = SignOptions {
                    verify: cut > offset,
                };
                match scan(&data[..cut], &cache, &options) {
                    Signed::NotSignable | Signed::Unsigned => {
                        assert!(cut <= offset + 8, "{name} at {cut}")
                    }
                    Signed::Signatures(sigs) => {
                        assert!(!sigs.is_empty());
                        assert!(
                            sigs.iter().any(|s| s.verified == Some(false)),
                            "{name} cut at {cut}: {sigs:?}"
                        );
                    }
                }
            }
        }
    }
}
