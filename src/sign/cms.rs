//! CMS / PKCS#7 `SignedData` as the code-signing formats use it (RFC 5652, RFC 2315).
//!
//! Authenticode, kernel module signatures and JAR signature blocks are all a `ContentInfo
//! { signedData }`. This module reads one into borrowed slices of the input — digest algorithms,
//! the encapsulated content (type and bytes), the certificates exactly as found, and every
//! SignerInfo with its signed attributes' ORIGINAL bytes (re-tagged as `SET OF` they are what the
//! signer signed, so they must never be re-encoded) — and offers the helpers the signature
//! parsers share: finding the signer's certificate, the signingTime and messageDigest
//! attributes, counterSignatures, RFC 3161 timestamp tokens (TSTInfo's genTime) and nested
//! Authenticode signatures.
//!
//! The walk is done with the crate's BER reader (`detect::ber`): Windows and Java tools write BER
//! (indefinite lengths, constructed strings), nesting is bounded, and nothing is allocated from a
//! length read in the input. Nothing here verifies anything: see [`super::verify`].

use std::borrow::Cow;
use std::sync::Arc;

use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

use super::{Signer, Timestamp, TimestampKind};
use crate::cert::{CertCache, Certificate};
use crate::detect::ber::{self, Reader, Tlv, tag};

/// OBJECT IDENTIFIER contents (without tag and length) of the OIDs the signing formats use.
pub mod oid {
    /// id-data, 1.2.840.113549.1.7.1.
    pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    /// id-signedData, 1.2.840.113549.1.7.2.
    pub const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    /// PKCS#9 contentType attribute, 1.2.840.113549.1.9.3.
    pub const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
    /// PKCS#9 messageDigest attribute, 1.2.840.113549.1.9.4.
    pub const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
    /// PKCS#9 signingTime attribute, 1.2.840.113549.1.9.5.
    pub const SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
    /// PKCS#9 counterSignature attribute, 1.2.840.113549.1.9.6.
    pub const COUNTER_SIGNATURE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06];
    /// id-aa-timeStampToken, 1.2.840.113549.1.9.16.2.14 (RFC 3161 token as a CMS attribute).
    pub const TIME_STAMP_TOKEN: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
    ];
    /// id-ct-TSTInfo, 1.2.840.113549.1.9.16.1.4.
    pub const TST_INFO: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
    ];
    /// Microsoft's RFC 3161 timestamp attribute, 1.3.6.1.4.1.311.3.3.1.
    pub const MS_RFC3161_TIMESTAMP: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01];
    /// Microsoft's nested signature attribute, 1.3.6.1.4.1.311.2.4.1.
    pub const MS_NESTED_SIGNATURE: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01];
    /// SpcIndirectDataContent, 1.3.6.1.4.1.311.2.1.4.
    pub const SPC_INDIRECT_DATA: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
    /// SpcSpOpusInfo, 1.3.6.1.4.1.311.2.1.12.
    pub const SPC_SP_OPUS_INFO: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c];
}

/// Why bytes are not the CMS structure expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CmsError(pub String);

impl From<String> for CmsError {
    fn from(message: String) -> CmsError {
        CmsError(message)
    }
}

/// An `AlgorithmIdentifier`: the OID and its parameters as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmIdentifier<'a> {
    /// The algorithm's OID contents.
    pub oid: &'a [u8],
    /// The whole parameters element (tag, length, contents), when present (`NULL` included).
    pub parameters: Option<&'a [u8]>,
}

impl AlgorithmIdentifier<'_> {
    /// The OID in dotted form.
    pub fn oid_string(&self) -> String {
        ber::oid_string(self.oid)
    }
}

/// One certificate of `SignedData.certificates`, exactly as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateBytes<'a> {
    /// Where its encoding starts, relative to the buffer given to [`parse_content_info`].
    pub offset: usize,
    /// Its encoding (fingerprints are of these bytes).
    pub der: &'a [u8],
}

/// The encapsulated content of a SignedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content<'a> {
    /// The whole content element inside `[0] EXPLICIT` (an OCTET STRING in CMS, any type in
    /// PKCS#7 v1.5 such as Authenticode's `SpcIndirectDataContent` SEQUENCE).
    pub raw: &'a [u8],
    /// The content octets the messageDigest attribute is computed over: the value of an OCTET
    /// STRING (chunks joined), or the contents of any other element — without its tag and length
    /// (RFC 2315 §9.3, RFC 5652 §5.4).
    pub bytes: Cow<'a, [u8]>,
}

/// How a SignerInfo names its signer's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerIdentifier<'a> {
    /// `issuerAndSerialNumber`: the issuer Name's encoding and the serial INTEGER's contents.
    IssuerAndSerialNumber {
        /// The issuer Name, as encoded.
        issuer: &'a [u8],
        /// The serial number INTEGER's contents (two's complement, big-endian).
        serial: &'a [u8],
    },
    /// `[0] subjectKeyIdentifier`.
    SubjectKeyIdentifier(&'a [u8]),
}

/// One attribute: its type and each value's whole element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute type OID's contents.
    pub oid: &'a [u8],
    /// Each value of the `SET OF` values, as a whole element.
    pub values: Vec<&'a [u8]>,
}

/// Signed or unsigned attributes of a SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes<'a> {
    /// The whole `[0]` / `[1]` IMPLICIT element as found.
    pub raw: &'a [u8],
    /// The attributes in order.
    pub list: Vec<Attribute<'a>>,
}

impl<'a> Attributes<'a> {
    /// The bytes a signature over signed attributes covers: the original encoding with its
    /// `[0] IMPLICIT` tag replaced by `SET OF` (0x31), as RFC 5652 §5.4 requires. Never a
    /// re-encoding: a signer that wrote its attributes in non-canonical order is still checked
    /// against what it signed.
    pub fn to_signed_bytes(&self) -> Vec<u8> {
        let mut out = self.raw.to_vec();
        if let Some(first) = out.first_mut() {
            *first = tag::SET;
        }
        out
    }

    /// Every value of every attribute of type `oid`, in order.
    pub fn values<'s>(&'s self, oid: &'s [u8]) -> impl Iterator<Item = &'a [u8]> + 's {
        self.list
            .iter()
            .filter(move |a| a.oid == oid)
            .flat_map(|a| a.values.iter().copied())
    }

    /// The first value of the first attribute of type `oid`.
    pub fn first(&self, oid: &[u8]) -> Option<&'a [u8]> {
        self.values(oid).next()
    }
}

/// One SignerInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo<'a> {
    /// The whole SignerInfo as found.
    pub raw: &'a [u8],
    /// Its version (1 for issuerAndSerialNumber, 3 for subjectKeyIdentifier), if it fits a `u64`.
    pub version: Option<u64>,
    /// Who signed.
    pub sid: SignerIdentifier<'a>,
    /// The digest algorithm of the content and of the signed attributes.
    pub digest_algorithm: AlgorithmIdentifier<'a>,
    /// The signed (authenticated) attributes, if any.
    pub signed_attrs: Option<Attributes<'a>>,
    /// The signature algorithm (`rsaEncryption`, `sha256WithRSAEncryption`, `ecdsa-with-…`, …).
    pub signature_algorithm: AlgorithmIdentifier<'a>,
    /// The signature value.
    pub signature: Cow<'a, [u8]>,
    /// The unsigned (unauthenticated) attributes, if any: countersignatures, timestamps, nested
    /// signatures.
    pub unsigned_attrs: Option<Attributes<'a>>,
}

/// A SignedData.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData<'a> {
    /// The whole SignedData SEQUENCE as found.
    pub raw: &'a [u8],
    /// Its version, if it fits a `u64`.
    pub version: Option<u64>,
    /// `digestAlgorithms`.
    pub digest_algorithms: Vec<AlgorithmIdentifier<'a>>,
    /// The encapsulated content's type OID contents.
    pub content_type: &'a [u8],
    /// The encapsulated content, absent when detached (kernel modules, JAR blocks).
    pub content: Option<Content<'a>>,
    /// The plain X.509 certificates of `certificates`, in order; other certificate choices
    /// (attribute certificates, …) are skipped.
    pub certificates: Vec<CertificateBytes<'a>>,
    /// The SignerInfos, in order.
    pub signer_infos: Vec<SignerInfo<'a>>,
}

/// Reads the `ContentInfo { signedData }` at the start of `data`; bytes after it (padding) are
/// ignored. Offsets are relative to `data`.
pub fn parse_content_info(data: &[u8]) -> Result<SignedData<'_>, CmsError> {
    let content_info = Reader::new(data, 0).expect(tag::SEQUENCE, "the ContentInfo SEQUENCE")?;
    let mut fields = content_info.children();
    let content_type = fields.expect(tag::OID, "the ContentInfo content type")?;
    if content_type.content != oid::SIGNED_DATA {
        return Err(CmsError(format!(
            "content type {} is not signedData",
            ber::oid_string(content_type.content)
        )));
    }
    let explicit = fields.expect(tag::context_constructed(0), "the ContentInfo [0] content")?;
    let signed_data = explicit
        .children()
        .expect(tag::SEQUENCE, "the SignedData SEQUENCE")?;
    parse_signed_data(&signed_data)
}

fn parse_signed_data<'a>(signed_data: &Tlv<'a>) -> Result<SignedData<'a>, CmsError> {
    let mut fields = signed_data.children();
    let version = fields
        .expect(tag::INTEGER, "the SignedData version")?
        .uint();
    let set = fields.expect(tag::SET, "the SignedData digestAlgorithms SET")?;
    let mut digest_algorithms = Vec::new();
    let mut algs = set.children();
    while let Some(alg) = algs.next_tlv()? {
        digest_algorithms.push(algorithm_identifier(&alg, "a digestAlgorithms entry")?);
    }

    let encap = fields.expect(tag::SEQUENCE, "the SignedData encapContentInfo")?;
    let mut encap_fields = encap.children();
    let content_type = encap_fields
        .expect(tag::OID, "the encapsulated content type")?
        .content;
    let content = match encap_fields.optional(tag::context_constructed(0))? {
        None => None,
        Some(explicit) => {
            let inner = explicit
                .children()
                .next_tlv()?
                .ok_or_else(|| CmsError("the encapsulated [0] content is empty".into()))?;
            let bytes = if inner.tag & !0x20 == tag::OCTET_STRING {
                ber::octets(&inner)?.value
            } else {
                Cow::Borrowed(inner.content)
            };
            Some(Content {
                raw: inner.raw,
                bytes,
            })
        }
    };

    let mut certificates = Vec::new();
    if let Some(set) = fields.optional(tag::context_constructed(0))? {
        let mut choices = set.children();
        while let Some(choice) = choices.next_tlv()? {
            // CertificateChoices: a plain Certificate is a SEQUENCE; the others are not X.509.
            if choice.tag == tag::SEQUENCE {
                certificates.push(CertificateBytes {
                    offset: choice.offset,
                    der: choice.raw,
                });
            }
        }
    }
    fields.optional(tag::context_constructed(1))?;
    let infos = fields.expect(tag::SET, "the SignedData signerInfos SET")?;
    let mut signer_infos = Vec::new();
    let mut entries = infos.children();
    while let Some(entry) = entries.next_tlv()? {
        if entry.tag != tag::SEQUENCE {
            return Err(CmsError(format!(
                "a SignerInfo at offset {} has tag 0x{:02x}, not SEQUENCE",
                entry.offset, entry.tag
            )));
        }
        signer_infos.push(parse_signer_info_tlv(&entry)?);
    }
    Ok(SignedData {
        raw: signed_data.raw,
        version,
        digest_algorithms,
        content_type,
        content,
        certificates,
        signer_infos,
    })
}

/// Reads one SignerInfo SEQUENCE at the start of `data` (a counterSignature value, for example).
pub fn parse_signer_info(data: &[u8]) -> Result<SignerInfo<'_>, CmsError> {
    let tlv = Reader::new(data, 0).expect(tag::SEQUENCE, "the SignerInfo SEQUENCE")?;
    parse_signer_info_tlv(&tlv)
}

fn parse_signer_info_tlv<'a>(info: &Tlv<'a>) -> Result<SignerInfo<'a>, CmsError> {
    let mut fields = info.children();
    let version = fields
        .expect(tag::INTEGER, "the SignerInfo version")?
        .uint();
    let at = fields.offset();
    let sid = match fields.next_tlv()? {
        Some(t) if t.tag == tag::SEQUENCE => {
            let mut parts = t.children();
            let issuer = parts.expect(tag::SEQUENCE, "the signer's issuer Name")?;
            let serial = parts.expect(tag::INTEGER, "the signer's serial number")?;
            SignerIdentifier::IssuerAndSerialNumber {
                issuer: issuer.raw,
                serial: serial.content,
            }
        }
        Some(t) if t.tag & !0x20 == tag::context_primitive(0) => {
            SignerIdentifier::SubjectKeyIdentifier(match ber::octets(&t)?.value {
                Cow::Borrowed(b) => b,
                // A chunked key identifier cannot be borrowed; it is never seen in practice.
                Cow::Owned(_) => {
                    return Err(CmsError(format!(
                        "constructed subjectKeyIdentifier at offset {at}"
                    )));
                }
            })
        }
        Some(t) => {
            return Err(CmsError(format!(
                "the SignerInfo's sid at offset {at} has tag 0x{:02x}",
                t.tag
            )));
        }
        None => return Err(CmsError(format!("the SignerInfo's sid is missing at {at}"))),
    };
    let digest_algorithm = algorithm_identifier(
        &fields.expect(tag::SEQUENCE, "the SignerInfo digestAlgorithm")?,
        "the SignerInfo digestAlgorithm",
    )?;
    let signed_attrs = fields
        .optional(tag::context_constructed(0))?
        .map(|t| attributes(&t))
        .transpose()?;
    let signature_algorithm = algorithm_identifier(
        &fields.expect(tag::SEQUENCE, "the SignerInfo signatureAlgorithm")?,
        "the SignerInfo signatureAlgorithm",
    )?;
    let at = fields.offset();
    let signature = match fields.next_tlv()? {
        Some(t) if t.tag & !0x20 == tag::OCTET_STRING => ber::octets(&t)?.value,
        Some(t) => {
            return Err(CmsError(format!(
                "the SignerInfo signature at offset {at} has tag 0x{:02x}",
                t.tag
            )));
        }
        None => {
            return Err(CmsError(format!(
                "the SignerInfo signature is missing at {at}"
            )));
        }
    };
    let unsigned_attrs = fields
        .optional(tag::context_constructed(1))?
        .map(|t| attributes(&t))
        .transpose()?;
    Ok(SignerInfo {
        raw: info.raw,
        version,
        sid,
        digest_algorithm,
        signed_attrs,
        signature_algorithm,
        signature,
        unsigned_attrs,
    })
}

fn algorithm_identifier<'a>(
    tlv: &Tlv<'a>,
    what: &str,
) -> Result<AlgorithmIdentifier<'a>, CmsError> {
    if tlv.tag != tag::SEQUENCE {
        return Err(CmsError(format!(
            "{what} at offset {} has tag 0x{:02x}, not SEQUENCE",
            tlv.offset, tlv.tag
        )));
    }
    let mut parts = tlv.children();
    let oid = parts.expect(tag::OID, what)?.content;
    let parameters = parts.next_tlv()?.map(|p| p.raw);
    Ok(AlgorithmIdentifier { oid, parameters })
}

fn attributes<'a>(tlv: &Tlv<'a>) -> Result<Attributes<'a>, CmsError> {
    let mut list = Vec::new();
    let mut entries = tlv.children();
    while let Some(entry) = entries.next_tlv()? {
        if entry.tag != tag::SEQUENCE {
            return Err(CmsError(format!(
                "an attribute at offset {} has tag 0x{:02x}, not SEQUENCE",
                entry.offset, entry.tag
            )));
        }
        let mut parts = entry.children();
        let oid = parts.expect(tag::OID, "an attribute type")?.content;
        let set = parts.expect(tag::SET, "an attribute's values")?;
        let mut values = Vec::new();
        let mut items = set.children();
        while let Some(value) = items.next_tlv()? {
            values.push(value.raw);
        }
        list.push(Attribute { oid, values });
    }
    Ok(Attributes { raw: tlv.raw, list })
}

/// The single element at the start of `raw`.
fn element(raw: &[u8]) -> Result<Tlv<'_>, CmsError> {
    Reader::new(raw, 0)
        .next_tlv()?
        .ok_or_else(|| CmsError("an empty element".into()))
}

impl<'a> SignedData<'a> {
    /// The certificate the SignerInfo names (issuerAndSerialNumber or subjectKeyIdentifier),
    /// among this SignedData's certificates.
    pub fn signer_certificate(&self, signer: &SignerInfo<'_>) -> Option<CertificateBytes<'a>> {
        find_certificate(&self.certificates, &signer.sid)
    }
}

/// The certificate `sid` names among `certificates` (which need not come from one SignedData:
/// a PKCS#9 counterSignature's signer is among its parent's certificates).
pub fn find_certificate<'a>(
    certificates: &[CertificateBytes<'a>],
    sid: &SignerIdentifier<'_>,
) -> Option<CertificateBytes<'a>> {
    certificates.iter().copied().find(|c| {
        let Ok((_, x509)) = X509Certificate::from_der(c.der) else {
            return false;
        };
        match sid {
            SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => {
                x509.tbs_certificate.issuer.as_raw() == *issuer
                    && strip_zeros(x509.raw_serial()) == strip_zeros(serial)
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => x509.extensions().iter().any(|e| {
                matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(k) if k.0 == *ski)
            }),
        }
    })
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// A serial number INTEGER's contents as lowercase hex without leading zero bytes, like
/// [`crate::cert::Certificate::serial`].
pub fn serial_hex(serial: &[u8]) -> String {
    let digits = strip_zeros(serial);
    if digits.is_empty() && !serial.is_empty() {
        return "00".into();
    }
    hex::encode(digits)
}

/// A Name's encoding formatted like [`crate::cert::Certificate::issuer`]; `None` when it does
/// not parse.
pub fn name_string(raw: &[u8]) -> Option<String> {
    let (_, name) = X509Name::from_der(raw).ok()?;
    Some(crate::cert::go_name_string(&name))
}

/// The certificates of a SignedData parsed through `cache`, in order; one that does not parse as
/// X.509 is left out.
pub fn parse_certificates(
    certificates: &[CertificateBytes<'_>],
    cache: &CertCache,
) -> Vec<Arc<Certificate>> {
    certificates
        .iter()
        .filter_map(|c| cache.get_or_parse(c.der).ok())
        .collect()
}

/// The [`Signer`] a SignerInfo's `sid` names, with its certificate when it is among
/// `certificates` (parsed through `cache`).
pub fn signer(
    sid: &SignerIdentifier<'_>,
    certificates: &[CertificateBytes<'_>],
    cache: &CertCache,
) -> Signer {
    let (issuer, serial) = match sid {
        SignerIdentifier::IssuerAndSerialNumber { issuer, serial } => (
            name_string(issuer).unwrap_or_else(|| format!("#{}", hex::encode(issuer))),
            serial_hex(serial),
        ),
        SignerIdentifier::SubjectKeyIdentifier(_) => (String::new(), String::new()),
    };
    let certificate =
        find_certificate(certificates, sid).and_then(|c| cache.get_or_parse(c.der).ok());
    Signer {
        subject: certificate.as_ref().map(|c| c.subject.clone()),
        issuer,
        serial,
        certificate,
    }
}

/// The signingTime signed attribute (UTCTime or GeneralizedTime), seconds since the Unix epoch.
pub fn signing_time(attrs: &Attributes<'_>) -> Option<i64> {
    let value = element(attrs.first(oid::SIGNING_TIME)?).ok()?;
    asn1_time(&value)
}

/// The messageDigest signed attribute's value.
pub fn message_digest<'a>(attrs: &Attributes<'a>) -> Option<Cow<'a, [u8]>> {
    let value = element(attrs.first(oid::MESSAGE_DIGEST)?).ok()?;
    if value.tag & !0x20 != tag::OCTET_STRING {
        return None;
    }
    ber::octets(&value).ok().map(|o| o.value)
}

/// The contentType signed attribute's OID contents.
pub fn content_type<'a>(attrs: &Attributes<'a>) -> Option<&'a [u8]> {
    let value = element(attrs.first(oid::CONTENT_TYPE)?).ok()?;
    (value.tag == tag::OID).then_some(value.content)
}

/// The PKCS#9 counterSignatures (1.2.840.113549.1.9.6) among unsigned attributes: each a
/// SignerInfo whose messageDigest is over the parent's signature value, and whose certificate is
/// among the parent SignedData's certificates.
pub fn counter_signatures<'a>(attrs: &Attributes<'a>) -> Vec<Result<SignerInfo<'a>, CmsError>> {
    attrs
        .values(oid::COUNTER_SIGNATURE)
        .map(parse_signer_info)
        .collect()
}

/// An RFC 3161 timestamp token: a SignedData whose content is a TSTInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampToken<'a> {
    /// The token's SignedData (the TSA's SignerInfo and certificates).
    pub signed_data: SignedData<'a>,
    /// The TSTInfo's genTime, seconds since the Unix epoch.
    pub gen_time: i64,
    /// The messageImprint's hash algorithm OID contents.
    pub imprint_algorithm: Vec<u8>,
    /// The messageImprint's hashed message (the hash of the timestamped signature's value).
    pub imprint: Vec<u8>,
}

/// The RFC 3161 timestamp tokens among unsigned attributes: Microsoft's 1.3.6.1.4.1.311.3.3.1
/// and id-aa-timeStampToken 1.2.840.113549.1.9.16.2.14, in order.
pub fn timestamp_tokens<'a>(attrs: &Attributes<'a>) -> Vec<Result<TimestampToken<'a>, CmsError>> {
    attrs
        .list
        .iter()
        .filter(|a| a.oid == oid::MS_RFC3161_TIMESTAMP || a.oid == oid::TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter().copied())
        .map(parse_timestamp_token)
        .collect()
}

/// Reads an RFC 3161 timestamp token (a ContentInfo SignedData over a TSTInfo).
pub fn parse_timestamp_token(raw: &[u8]) -> Result<TimestampToken<'_>, CmsError> {
    let signed_data = parse_content_info(raw)?;
    if signed_data.content_type != oid::TST_INFO {
        return Err(CmsError(format!(
            "the timestamp token's content type {} is not TSTInfo",
            ber::oid_string(signed_data.content_type)
        )));
    }
    let content = signed_data
        .content
        .as_ref()
        .ok_or_else(|| CmsError("the timestamp token carries no TSTInfo".into()))?;
    let (gen_time, imprint_algorithm, imprint) = tst_info(&content.bytes)?;
    Ok(TimestampToken {
        signed_data,
        gen_time,
        imprint_algorithm,
        imprint,
    })
}

/// `(genTime, messageImprint algorithm OID, messageImprint hash)` of a TSTInfo's DER.
fn tst_info(der: &[u8]) -> Result<(i64, Vec<u8>, Vec<u8>), CmsError> {
    let seq = Reader::new(der, 0).expect(tag::SEQUENCE, "the TSTInfo SEQUENCE")?;
    let mut fields = seq.children();
    fields.expect(tag::INTEGER, "the TSTInfo version")?;
    fields.expect(tag::OID, "the TSTInfo policy")?;
    let imprint = fields.expect(tag::SEQUENCE, "the TSTInfo messageImprint")?;
    let mut parts = imprint.children();
    let alg = algorithm_identifier(
        &parts.expect(tag::SEQUENCE, "the messageImprint hashAlgorithm")?,
        "the messageImprint hashAlgorithm",
    )?;
    let hashed = parts
        .next_tlv()?
        .ok_or_else(|| CmsError("the messageImprint hashedMessage is missing".into()))?;
    let hashed = ber::octets(&hashed)?.value.into_owned();
    fields.expect(tag::INTEGER, "the TSTInfo serialNumber")?;
    let time = fields.expect(0x18, "the TSTInfo genTime")?;
    let gen_time = asn1_time(&time)
        .ok_or_else(|| CmsError("the TSTInfo genTime is not a valid time".into()))?;
    Ok((gen_time, alg.oid.to_vec(), hashed))
}

/// The first timestamp among a SignerInfo's unsigned attributes, whichever form comes first: a
/// PKCS#9 counterSignature (its signer looked up among `parent`'s certificates, its time the
/// signingTime) or an RFC 3161 token (its signer among the token's certificates, its time
/// genTime). A timestamp that does not parse is passed over.
pub fn first_timestamp(
    unsigned: &Attributes<'_>,
    parent: &SignedData<'_>,
    cache: &CertCache,
) -> Option<Timestamp> {
    for attr in &unsigned.list {
        for &value in &attr.values {
            if attr.oid == oid::COUNTER_SIGNATURE
                && let Ok(cs) = parse_signer_info(value)
            {
                let time = cs.signed_attrs.as_ref().and_then(signing_time);
                let signer = signer(&cs.sid, &parent.certificates, cache);
                let ts = Timestamp {
                    kind: TimestampKind::Pkcs9CounterSignature,
                    signer,
                    time,
                };
                return Some(ts);
            }
            if (attr.oid == oid::MS_RFC3161_TIMESTAMP || attr.oid == oid::TIME_STAMP_TOKEN)
                && let Ok(token) = parse_timestamp_token(value)
            {
                let sd = &token.signed_data;
                let signer = match sd.signer_infos.first() {
                    Some(si) => signer(&si.sid, &sd.certificates, cache),
                    None => Signer::default(),
                };
                let ts = Timestamp {
                    kind: TimestampKind::Rfc3161,
                    signer,
                    time: Some(token.gen_time),
                };
                return Some(ts);
            }
        }
    }
    None
}

/// The nested Authenticode signatures (1.3.6.1.4.1.311.2.4.1) among unsigned attributes: each
/// value a whole ContentInfo, to read with [`parse_content_info`].
pub fn nested_signatures<'a>(attrs: &Attributes<'a>) -> Vec<&'a [u8]> {
    attrs.values(oid::MS_NESTED_SIGNATURE).collect()
}

/// A UTCTime (tag 0x17) or GeneralizedTime (tag 0x18) as seconds since the Unix epoch.
pub(crate) fn asn1_time(tlv: &Tlv<'_>) -> Option<i64> {
    parse_time(tlv.tag, tlv.content)
}

/// Parses the contents of a UTCTime (`tag` 0x17: `YYMMDDHHMM[SS]Z`, years 50–99 are 19xx) or a
/// GeneralizedTime (0x18: `YYYYMMDDHHMMSS[.fff]Z`); offsets `+hhmm`/`-hhmm` are honoured.
pub fn parse_time(tag: u8, text: &[u8]) -> Option<i64> {
    let digits = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0')))
    };
    let (year, rest) = match tag {
        0x17 => {
            let yy = digits(text.get(..2)?)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, text.get(2..)?)
        }
        0x18 => (digits(text.get(..4)?)?, text.get(4..)?),
        _ => return None,
    };
    let month = digits(rest.get(..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    let hour = digits(rest.get(4..6)?)?;
    let minute = digits(rest.get(6..8)?)?;
    let mut rest = rest.get(8..)?;
    let mut second = 0;
    if rest.first().is_some_and(u8::is_ascii_digit) {
        second = digits(rest.get(..2)?)?;
        rest = rest.get(2..)?;
    }
    // Fractional seconds (GeneralizedTime) are dropped.
    if rest.first() == Some(&b'.') || rest.first() == Some(&b',') {
        let n = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        rest = rest.get(1 + n..)?;
    }
    let offset = match rest {
        b"Z" | b"" => 0,
        [sign @ (b'+' | b'-'), hhmm @ ..] if hhmm.len() == 4 => {
            let o = digits(&hhmm[..2])? * 3600 + digits(&hhmm[2..])? * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(parse_time(0x18, b"20000229000000Z"), Some(951_782_400));
        assert_eq!(parse_time(0x18, b"20000229000000.123Z"), Some(951_782_400));
        assert_eq!(parse_time(0x18, b"20000229010000+0100"), Some(951_782_400));
        assert_eq!(parse_time(0x17, b"0001010000Z"), Some(946_684_800));
        for bad in [
            &b""[..],
            b"2000",
            b"20001301000000Z",
            b"2000010100000xZ",
            b"\xff",
        ] {
            assert_eq!(parse_time(0x18, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn serials() {
        assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8f01");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            &b""[..],
            &[0x30, 0x80],
            &[0x30, 0x03, 0x06, 0x01, 0x00],
            &[0xff; 40],
        ] {
            assert!(parse_content_info(bad).is_err());
            assert!(parse_signer_info(bad).is_err());
            assert!(parse_timestamp_token(bad).is_err());
        }
    }
}

/// Real signed files for the tests of the signature parsers.
#[cfg(test)]
pub(crate) mod samples {
    use std::path::PathBuf;

    /// Where the samples are: `$ROOTSIFT_SIGNED_TREE`, else `target/fixtures/signed/tree`.
    pub(crate) fn dir() -> PathBuf {
        match std::env::var_os("ROOTSIFT_SIGNED_TREE") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/signed/tree"),
        }
    }

    /// The bytes of the sample `name` (a path under [`dir`]); panics with instructions when it is
    /// missing.
    pub(crate) fn sample(name: &str) -> Vec<u8> {
        let path = dir().join(name);
        std::fs::read(&path)
            .unwrap_or_else(|e| missing(&path.display().to_string(), &e.to_string()))
    }

    /// The bytes of the first file under `under` (a directory of [`dir`], walked in name order)
    /// whose path relative to `under` satisfies `matches`: for samples whose path holds a
    /// version (`boot/vmlinuz-6.1.0-…`, `lib/modules/6.1.0-…/…`).
    pub(crate) fn sample_find(under: &str, matches: impl Fn(&str) -> bool) -> Vec<u8> {
        let root = dir().join(under);
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths.iter().rev() {
                if p.is_dir() {
                    stack.push(p.clone());
                }
            }
            for p in paths.iter().filter(|p| p.is_file()) {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned();
                if matches(&rel) {
                    return std::fs::read(p).unwrap_or_else(|e| missing(&rel, &e.to_string()));
                }
            }
        }
        missing(
            &format!("{} (a file matching the test's pattern)", root.display()),
            "not found",
        )
    }

    fn missing(what: &str, why: &str) -> ! {
        panic!(
            "signed sample {what} is missing ({why}): run `bash tests/fixtures/signed.sh` to make \
             target/fixtures/signed/tree, or point ROOTSIFT_SIGNED_TREE at a tree holding it"
        )
    }
}
