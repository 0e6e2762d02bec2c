//! Signature verification: digests, and the public-key signature of a CMS SignerInfo.
//!
//! What is checked is the cryptography only — that the digest of the content matches what was
//! signed and that the signer's public key verifies the signature over it. No certificate chain
//! is built and no trust is decided (rootsift reports who signed; `inspect` judges certificates).
//!
//! - Digests: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 (RustCrypto `md-5`, `sha1`, `sha2`).
//! - RSA: PKCS#1 v1.5 and RSASSA-PSS (when the MGF1 hash is the signature hash, as every real
//!   signer writes), with the `rsa` crate; moduli up to 16384 bits.
//! - ECDSA over P-256, P-384 and P-521 (`p256`, `p384`, `p521`), with any of the digests (a hash
//!   shorter than the field is left-padded, which the `ecdsa` crate otherwise refuses).
//! - DSA (`dsa`, the RustCrypto crate, which old JAR signers need), with p up to 4096 bits; keys
//!   whose parameters are inherited from the issuer cannot be checked.
//! - Anything else (Ed25519, GOST, SM2, brainpool curves, …) is [`VerifyError::UnsupportedKey`]
//!   or [`VerifyError::UnsupportedSignatureAlgorithm`], never a false verdict.
//!
//! The RSA, EC and DSA crates are the digest-0.10 generation (`rsa` 0.9, `p256` 0.13, `dsa` 0.6),
//! the generation of the `sha1`/`sha2` crates rootsift already uses, so no second copy of the
//! digest stack is built.

use std::borrow::Cow;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::cms::{self, AlgorithmIdentifier, SignerInfo};
use crate::detect::ber::{self, Reader, tag};

/// Largest RSA modulus accepted, in bits: bounds the work a hostile certificate can cause.
const MAX_RSA_BITS: usize = 16_384;
/// Largest DSA prime p accepted, in bits.
const MAX_DSA_BITS: usize = 4096;

/// A digest algorithm used by the signing formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// MD5 (old Authenticode and JAR signatures).
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm an OID names: a hash OID, or (as some signers write in `digestAlgorithm`)
    /// an RSA-with-hash signature OID.
    pub fn from_oid(oid: &[u8]) -> Option<DigestAlgorithm> {
        const NIST: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
        const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
        Some(match oid {
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05] => DigestAlgorithm::Md5,
            [0x2b, 0x0e, 0x03, 0x02, 0x1a] | [0x2b, 0x0e, 0x03, 0x02, 0x1d] => {
                DigestAlgorithm::Sha1
            }
            [prefix @ .., last] if prefix == NIST => match last {
                1 => DigestAlgorithm::Sha256,
                2 => DigestAlgorithm::Sha384,
                3 => DigestAlgorithm::Sha512,
                4 => DigestAlgorithm::Sha224,
                _ => return None,
            },
            [prefix @ .., last] if prefix == PKCS1 => match last {
                4 => DigestAlgorithm::Md5,
                5 => DigestAlgorithm::Sha1,
                11 => DigestAlgorithm::Sha256,
                12 => DigestAlgorithm::Sha384,
                13 => DigestAlgorithm::Sha512,
                14 => DigestAlgorithm::Sha224,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// `md5`, `sha1`, `sha224`, `sha256`, `sha384` or `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha224 => "sha224",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Md5 => 16,
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha224 => 28,
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finalize()
    }

    /// An incremental hasher.
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            DigestAlgorithm::Md5 => HasherState::Md5(Md5::new()),
            DigestAlgorithm::Sha1 => HasherState::Sha1(Sha1::new()),
            DigestAlgorithm::Sha224 => HasherState::Sha224(Sha224::new()),
            DigestAlgorithm::Sha256 => HasherState::Sha256(Sha256::new()),
            DigestAlgorithm::Sha384 => HasherState::Sha384(Sha384::new()),
            DigestAlgorithm::Sha512 => HasherState::Sha512(Sha512::new()),
        })
    }
}

/// The name of a digest algorithm OID (`sha256`), or the OID in dotted form when unknown.
pub fn digest_name(oid: &[u8]) -> String {
    match DigestAlgorithm::from_oid(oid) {
        Some(alg) => alg.name().to_string(),
        None => ber::oid_string(oid),
    }
}

/// An incremental digest of one of the [`DigestAlgorithm`]s.
#[derive(Clone)]
pub struct Hasher(HasherState);

#[derive(Clone)]
enum HasherState {
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherState::Md5(h) => h.update(data),
            HasherState::Sha1(h) => h.update(data),
            HasherState::Sha224(h) => h.update(data),
            HasherState::Sha256(h) => h.update(data),
            HasherState::Sha384(h) => h.update(data),
            HasherState::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finalize(self) -> Vec<u8> {
        match self.0 {
            HasherState::Md5(h) => h.finalize().to_vec(),
            HasherState::Sha1(h) => h.finalize().to_vec(),
            HasherState::Sha224(h) => h.finalize().to_vec(),
            HasherState::Sha256(h) => h.finalize().to_vec(),
            HasherState::Sha384(h) => h.finalize().to_vec(),
            HasherState::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// Why a signature did not verify, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The digest algorithm is not one rootsift computes.
    #[error("unsupported digest algorithm {0}")]
    UnsupportedDigest(String),
    /// The signature algorithm is not one rootsift checks.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The signer's public key is of a type or curve rootsift does not check.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The signer's certificate or public key does not parse.
    #[error("the signer's public key is malformed: {0}")]
    BadKey(String),
    /// Signed attributes without the messageDigest attribute.
    #[error("the signed attributes carry no messageDigest")]
    MissingMessageDigest,
    /// The messageDigest attribute is not the digest of the content.
    #[error("messageDigest attribute mismatch: signed {algorithm} {signed}, computed {computed}")]
    MessageDigestMismatch {
        /// The digest algorithm.
        algorithm: &'static str,
        /// The signed digest, uppercase hex.
        signed: String,
        /// The digest of the content, uppercase hex.
        computed: String,
    },
    /// The signature value is not a well-formed signature for the key type.
    #[error("the signature value is malformed: {0}")]
    MalformedSignature(String),
    /// The signature does not verify with the signer's public key.
    #[error("the {0} signature does not verify with the signer's public key")]
    BadSignature(&'static str),
}

impl VerifyError {
    /// Whether the error means "could not be checked" (an algorithm or key rootsift does not
    /// handle) rather than "checked and wrong".
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            VerifyError::UnsupportedDigest(_)
                | VerifyError::UnsupportedSignatureAlgorithm(_)
                | VerifyError::UnsupportedKey(_)
        )
    }
}

/// Verifies a SignerInfo given the digest of its content (computed with the SignerInfo's
/// digest algorithm) and the DER of the signer's certificate.
///
/// With signed attributes, their messageDigest must equal `content_digest` and the signature is
/// over the attributes' original bytes re-tagged as `SET OF`; without, the signature is over the
/// content itself.
pub fn verify_signer_info(
    signer: &SignerInfo<'_>,
    content_digest: &[u8],
    certificate_der: &[u8],
) -> Result<(), VerifyError> {
    let alg = signer_digest(signer)?;
    let hash = match &signer.signed_attrs {
        Some(attrs) => {
            let signed = cms::message_digest(attrs).ok_or(VerifyError::MissingMessageDigest)?;
            if *signed != *content_digest {
                return Err(VerifyError::MessageDigestMismatch {
                    algorithm: alg.name(),
                    signed: hex::encode_upper(&signed),
                    computed: hex::encode_upper(content_digest),
                });
            }
            alg.digest(&attrs.to_signed_bytes())
        }
        None => content_digest.to_vec(),
    };
    verify_prehashed(
        certificate_der,
        &signer.signature_algorithm,
        alg,
        &hash,
        &signer.signature,
    )
}

/// The SignerInfo's digest algorithm, or why it is unsupported.
pub fn signer_digest(signer: &SignerInfo<'_>) -> Result<DigestAlgorithm, VerifyError> {
    DigestAlgorithm::from_oid(signer.digest_algorithm.oid)
        .ok_or_else(|| VerifyError::UnsupportedDigest(signer.digest_algorithm.oid_string()))
}

/// Verifies `signature` over a message whose `digest` hash is `hash`, with the public key of
/// the certificate `certificate_der`; `signature_algorithm` chooses PSS over PKCS#1 v1.5 for
/// RSA keys, the key's type chooses everything else.
pub fn verify_prehashed(
    certificate_der: &[u8],
    signature_algorithm: &AlgorithmIdentifier<'_>,
    digest: DigestAlgorithm,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    let (_, x509) = X509Certificate::from_der(certificate_der)
        .map_err(|e| VerifyError::BadKey(format!("the certificate does not parse: {e}")))?;
    let spki = Spki::parse(x509.public_key().raw)?;
    match spki.algorithm.oid {
        // rsaEncryption, or an RSASSA-PSS key.
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 | 0x0a] => {
            verify_rsa(&spki, signature_algorithm, digest, hash, signature)
        }
        // id-ecPublicKey
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => verify_ecdsa(&spki, hash, signature),
        // id-dsa
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01] => verify_dsa(&spki, hash, signature),
        other => Err(VerifyError::UnsupportedKey(key_name(other))),
    }
}

fn key_name(oid: &[u8]) -> String {
    match oid {
        [0x2b, 0x65, 0x70] => "Ed25519".into(),
        [0x2b, 0x65, 0x71] => "Ed448".into(),
        _ => ber::oid_string(oid),
    }
}

/// A SubjectPublicKeyInfo read with the BER reader.
struct Spki<'a> {
    algorithm: AlgorithmIdentifier<'a>,
    key: &'a [u8],
}

impl<'a> Spki<'a> {
    fn parse(raw: &'a [u8]) -> Result<Spki<'a>, VerifyError> {
        let bad = |e: String| VerifyError::BadKey(e);
        let seq = Reader::new(raw, 0)
            .expect(tag::SEQUENCE, "the SubjectPublicKeyInfo")
            .map_err(bad)?;
        let mut fields = seq.children();
        let alg = fields
            .expect(tag::SEQUENCE, "the key algorithm")
            .map_err(bad)?;
        let mut parts = alg.children();
        let oid = parts
            .expect(tag::OID, "the key algorithm OID")
            .map_err(bad)?
            .content;
        let parameters = parts.next_tlv().map_err(bad)?.map(|p| p.raw);
        let bits = fields
            .expect(0x03, "the public key BIT STRING")
            .map_err(bad)?;
        let key = match bits.content {
            [0, key @ ..] => key,
            _ => return Err(bad("the public key BIT STRING has unused bits".into())),
        };
        Ok(Spki {
            algorithm: AlgorithmIdentifier { oid, parameters },
            key,
        })
    }
}

/// The unsigned big-endian contents of the INTEGERs of a SEQUENCE of INTEGERs.
fn integers<'a>(der: &'a [u8], what: &str, n: usize) -> Result<Vec<&'a [u8]>, String> {
    let seq = Reader::new(der, 0).expect(tag::SEQUENCE, what)?;
    let mut fields = seq.children();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let int = fields.expect(tag::INTEGER, what)?;
        if int.content.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(format!("{what}: a negative INTEGER"));
        }
        out.push(int.content);
    }
    Ok(out)
}

fn bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        Some(i) => (n.len() - i) * 8 - n[i].leading_zeros() as usize,
        None => 0,
    }
}

fn verify_rsa(
    spki: &Spki<'_>,
    signature_algorithm: &AlgorithmIdentifier<'_>,
    digest: DigestAlgorithm,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey, pss::Pss};

    let parts = integers(spki.key, "the RSA public key", 2).map_err(VerifyError::BadKey)?;
    let (n, e) = (parts[0], parts[1]);
    if bits(n) > MAX_RSA_BITS {
        return Err(VerifyError::UnsupportedKey(format!(
            "RSA modulus of {} bits (at most {MAX_RSA_BITS})",
            bits(n)
        )));
    }
    let key = RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(n),
        BigUint::from_bytes_be(e),
        MAX_RSA_BITS,
    )
    .map_err(|e| VerifyError::BadKey(format!("RSA: {e}")))?;
    if hash.len() != digest.output_len() {
        return Err(VerifyError::MalformedSignature(format!(
            "a {}-byte hash for {}",
            hash.len(),
            digest.name()
        )));
    }
    let is_pss = signature_algorithm.oid == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    if is_pss {
        let (pss_digest, salt) = pss_parameters(signature_algorithm.parameters)?;
        if pss_digest != digest {
            return Err(VerifyError::UnsupportedSignatureAlgorithm(format!(
                "RSASSA-PSS with {} over a {} digest",
                pss_digest.name(),
                digest.name()
            )));
        }
        let scheme = match digest {
            DigestAlgorithm::Md5 => Pss::new_with_salt::<Md5>(salt),
            DigestAlgorithm::Sha1 => Pss::new_with_salt::<Sha1>(salt),
            DigestAlgorithm::Sha224 => Pss::new_with_salt::<Sha224>(salt),
            DigestAlgorithm::Sha256 => Pss::new_with_salt::<Sha256>(salt),
            DigestAlgorithm::Sha384 => Pss::new_with_salt::<Sha384>(salt),
            DigestAlgorithm::Sha512 => Pss::new_with_salt::<Sha512>(salt),
        };
        key.verify(scheme, hash, signature)
            .map_err(|_| VerifyError::BadSignature("RSASSA-PSS"))
    } else {
        let scheme = match digest {
            DigestAlgorithm::Md5 => Pkcs1v15Sign::new::<Md5>(),
            DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
            DigestAlgorithm::Sha224 => Pkcs1v15Sign::new::<Sha224>(),
            DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            DigestAlgorithm::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            DigestAlgorithm::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        };
        key.verify(scheme, hash, signature)
            .map_err(|_| VerifyError::BadSignature("RSA PKCS#1 v1.5"))
    }
}

/// The AlgorithmIdentifier inside an EXPLICIT tag.
fn explicit_algorithm<'a>(t: &ber::Tlv<'a>) -> Result<AlgorithmIdentifier<'a>, String> {
    let alg = t
        .children()
        .expect(tag::SEQUENCE, "an AlgorithmIdentifier")?;
    let mut parts = alg.children();
    let oid = parts.expect(tag::OID, "an algorithm OID")?.content;
    Ok(AlgorithmIdentifier {
        oid,
        parameters: parts.next_tlv()?.map(|p| p.raw),
    })
}

/// `(hash, salt length)` of RSASSA-PSS-params (RFC 4055), defaults SHA-1 and 20.
fn pss_parameters(params: Option<&[u8]>) -> Result<(DigestAlgorithm, usize), VerifyError> {
    let bad = |e: String| VerifyError::UnsupportedSignatureAlgorithm(format!("RSASSA-PSS: {e}"));
    let mut hash = DigestAlgorithm::Sha1;
    let mut mgf_hash = DigestAlgorithm::Sha1;
    let mut salt = 20usize;
    let Some(params) = params else {
        return Ok((hash, salt));
    };
    let seq = Reader::new(params, 0)
        .expect(tag::SEQUENCE, "the parameters")
        .map_err(bad)?;
    let mut fields = seq.children();
    let to_digest = |alg: &AlgorithmIdentifier<'_>| {
        DigestAlgorithm::from_oid(alg.oid).ok_or_else(|| bad(format!("hash {}", alg.oid_string())))
    };
    while let Some(field) = fields.next_tlv().map_err(bad)? {
        match field.tag {
            0xa0 => hash = to_digest(&explicit_algorithm(&field).map_err(bad)?)?,
            0xa1 => {
                let mgf = explicit_algorithm(&field).map_err(bad)?;
                // id-mgf1 1.2.840.113549.1.1.8, whose parameter is the hash's AlgorithmIdentifier.
                if mgf.oid != [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08] {
                    return Err(bad(format!("mask generation {}", mgf.oid_string())));
                }
                let inner = mgf
                    .parameters
                    .ok_or_else(|| bad("MGF1 without its hash".into()))?;
                let inner = Reader::new(inner, 0)
                    .expect(tag::SEQUENCE, "the MGF1 hash")
                    .map_err(bad)?;
                let oid = inner
                    .children()
                    .expect(tag::OID, "the MGF1 hash OID")
                    .map_err(bad)?
                    .content;
                mgf_hash = to_digest(&AlgorithmIdentifier {
                    oid,
                    parameters: None,
                })?;
            }
            0xa2 => {
                let n = field
                    .children()
                    .expect(tag::INTEGER, "the salt length")
                    .map_err(bad)?
                    .uint()
                    .ok_or_else(|| bad("salt length out of range".into()))?;
                salt = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= 1024)
                    .ok_or_else(|| bad("salt length out of range".into()))?;
            }
            _ => {}
        }
    }
    if mgf_hash != hash {
        return Err(bad(format!(
            "MGF1 with {} but hash {}",
            mgf_hash.name(),
            hash.name()
        )));
    }
    Ok((hash, salt))
}

fn verify_ecdsa(spki: &Spki<'_>, hash: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| Reader::new(p, 0).expect(tag::OID, "the curve").ok())
        .map(|t| t.content)
        .ok_or_else(|| VerifyError::UnsupportedKey("EC key without a named curve".into()))?;
    fn bad_key(e: impl std::fmt::Display) -> VerifyError {
        VerifyError::BadKey(format!("EC point: {e}"))
    }
    fn bad_sig(e: impl std::fmt::Display) -> VerifyError {
        VerifyError::MalformedSignature(format!("ECDSA: {e}"))
    }
    fn failed(_: impl std::fmt::Display) -> VerifyError {
        VerifyError::BadSignature("ECDSA")
    }
    if hash.len() < 16 {
        return Err(VerifyError::MalformedSignature(
            "an ECDSA hash shorter than 128 bits".into(),
        ));
    }
    match curve {
        // P-256
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => {
            let hash = &left_pad(hash, 32);
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.key).map_err(bad_key)?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(hash, &sig).map_err(failed)
        }
        // P-384
        [0x2b, 0x81, 0x04, 0x00, 0x22] => {
            let hash = &left_pad(hash, 48);
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(spki.key).map_err(bad_key)?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(hash, &sig).map_err(failed)
        }
        // P-521
        [0x2b, 0x81, 0x04, 0x00, 0x23] => {
            let hash = &left_pad(hash, 66);
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(spki.key).map_err(bad_key)?;
            let sig = p521::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(hash, &sig).map_err(failed)
        }
        other => Err(VerifyError::UnsupportedKey(format!(
            "EC curve {}",
            ber::oid_string(other)
        ))),
    }
}

/// A hash shorter than the curve's field, left-padded with zeros to it: the same integer for
/// ECDSA (SEC 1 §4.1.4 takes the whole hash when it is shorter than the order), in the form
/// the `ecdsa` crate accepts (it refuses a prehash shorter than half the field).
fn left_pad(hash: &[u8], field_len: usize) -> Vec<u8> {
    let mut out = vec![0; field_len.saturating_sub(hash.len())];
    out.extend_from_slice(hash);
    out
}

fn verify_dsa(spki: &Spki<'_>, hash: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    use dsa::signature::hazmat::PrehashVerifier;
    use dsa::{BigUint, Components, VerifyingKey};

    let params = spki.algorithm.parameters.ok_or_else(|| {
        VerifyError::UnsupportedKey("DSA key whose parameters are inherited from its issuer".into())
    })?;
    let pqg = integers(params, "the DSA parameters", 3).map_err(VerifyError::BadKey)?;
    if bits(pqg[0]) > MAX_DSA_BITS || bits(pqg[1]) > 512 {
        return Err(VerifyError::UnsupportedKey(format!(
            "DSA with a {}-bit p and {}-bit q",
            bits(pqg[0]),
            bits(pqg[1])
        )));
    }
    let y = Reader::new(spki.key, 0)
        .expect(tag::INTEGER, "the DSA public key")
        .map_err(VerifyError::BadKey)?;
    let bad_key = |_| VerifyError::BadKey("DSA: invalid domain parameters or key".into());
    let components = Components::from_components(
        BigUint::from_bytes_be(pqg[0]),
        BigUint::from_bytes_be(pqg[1]),
        BigUint::from_bytes_be(pqg[2]),
    )
    .map_err(bad_key)?;
    let key = VerifyingKey::from_components(components, BigUint::from_bytes_be(y.content))
        .map_err(bad_key)?;
    let rs =
        integers(signature, "the DSA signature", 2).map_err(VerifyError::MalformedSignature)?;
    let sig = dsa::Signature::from_components(
        BigUint::from_bytes_be(rs[0]),
        BigUint::from_bytes_be(rs[1]),
    )
    .map_err(|_| VerifyError::MalformedSignature("DSA: r or s is zero".into()))?;
    key.verify_prehash(hash, &sig)
        .map_err(|_| VerifyError::BadSignature("DSA"))
}

/// Content bytes or their precomputed digest, for callers that hash large content once.
#[derive(Debug, Clone)]
pub enum ContentDigest<'a> {
    /// The content itself, to be hashed with the SignerInfo's digest algorithm.
    Bytes(&'a [u8]),
    /// The content's digest, already computed with the SignerInfo's digest algorithm.
    Digest(Cow<'a, [u8]>),
}

/// Verifies a SignerInfo over `content` with the certificate `certificate_der`, hashing the
/// content when needed; see [`verify_signer_info`].
pub fn verify_content(
    signer: &SignerInfo<'_>,
    content: ContentDigest<'_>,
    certificate_der: &[u8],
) -> Result<(), VerifyError> {
    let digest = match content {
        ContentDigest::Bytes(bytes) => Cow::Owned(signer_digest(signer)?.digest(bytes)),
        ContentDigest::Digest(d) => d,
    };
    verify_signer_info(signer, &digest, certificate_der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_oids_and_known_answers() {
        let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
        assert_eq!(
            DigestAlgorithm::from_oid(&sha256),
            Some(DigestAlgorithm::Sha256)
        );
        assert_eq!(
            DigestAlgorithm::from_oid(&[0x2b, 0x0e, 0x03, 0x02, 0x1a]),
            Some(DigestAlgorithm::Sha1)
        );
        assert_eq!(DigestAlgorithm::from_oid(&[0x2b]), None);
        assert_eq!(digest_name(&[0x2b, 0x06]), "1.3.6");
        let cases = [
            (DigestAlgorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (
                DigestAlgorithm::Sha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (
                DigestAlgorithm::Sha224,
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                DigestAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (alg, expected) in cases {
            assert_eq!(hex::encode(alg.digest(b"abc")), expected, "{}", alg.name());
            assert_eq!(alg.digest(b"abc").len(), alg.output_len());
        }
        let mut h = DigestAlgorithm::Sha512.hasher();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finalize(), DigestAlgorithm::Sha512.digest(b"abc"));
    }
}

#[cfg(test)]
mod openssl_tests {
    use std::path::Path;

    use super::*;
    use crate::detect::testing::{read, run};

    const MESSAGE: &[u8] = b"rootsift signed content\n";

    /// A self-signed certificate `name.pem` with key `name.key` made by `openssl req` with
    /// `newkey` (`rsa:2048`, `ec -pkeyopt ec_paramgen_curve:P-384`, …).
    fn certificate(d: &Path, name: &str, newkey: &str) {
        run(
            d,
            "openssl",
            &format!(
                "req -x509 -newkey {newkey} -nodes -keyout {name}.key -out {name}.pem -days 30 \
                 -subj /CN={name}"
            ),
        );
    }

    /// `openssl cms -sign` of MESSAGE by `name` with `extra` options, detached, DER.
    fn cms_sign(d: &Path, name: &str, extra: &str) -> Vec<u8> {
        run(
            d,
            "openssl",
            &format!(
                "cms -sign -binary -in msg.txt -signer {name}.pem -inkey {name}.key -outform DER \
                 -out {name}.p7s {extra}"
            ),
        );
        read(d, &format!("{name}.p7s"))
    }

    fn check(der: &[u8], content: &[u8]) -> Result<(), VerifyError> {
        let sd = cms::parse_content_info(der).expect("openssl's SignedData parses");
        let si = &sd.signer_infos[0];
        let cert = sd
            .signer_certificate(si)
            .expect("the signer's certificate is carried");
        verify_content(si, ContentDigest::Bytes(content), cert.der)
    }

    #[test]
    fn openssl_cms_signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("msg.txt"), MESSAGE).unwrap();
        run(
            d,
            "openssl",
            "genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 \
             -pkeyopt dsa_paramgen_q_bits:256 -out dsa.param",
        );
        let keys = [
            ("rsa", "rsa:2048"),
            ("p256", "ec -pkeyopt ec_paramgen_curve:P-256"),
            ("p384", "ec -pkeyopt ec_paramgen_curve:P-384"),
            ("p521", "ec -pkeyopt ec_paramgen_curve:P-521"),
            ("dsa", "dsa:dsa.param"),
        ];
        for (name, newkey) in keys {
            certificate(d, name, newkey);
            for md in ["sha1", "sha256", "sha384", "sha512", "sha224"] {
                if name == "dsa" && (md == "sha384" || md == "sha512") {
                    continue; // openssl has no dsa_with_SHA384/512 for CMS
                }
                for attrs in ["", "-noattr"] {
                    let what = format!("{name} {md} {attrs}");
                    let der = cms_sign(d, name, &format!("-md {md} {attrs}"));
                    assert_eq!(check(&der, MESSAGE), Ok(()), "{what}");
                    let mut other = MESSAGE.to_vec();
                    other[0] ^= 1;
                    let err = check(&der, &other).unwrap_err();
                    if attrs.is_empty() {
                        assert!(
                            matches!(err, VerifyError::MessageDigestMismatch { .. }),
                            "{what}: {err}"
                        );
                    } else {
                        assert!(matches!(err, VerifyError::BadSignature(_)), "{what}: {err}");
                    }
                }
            }
        }
        // MD5 with RSA.
        let der = cms_sign(d, "rsa", "-md md5");
        assert_eq!(check(&der, MESSAGE), Ok(()));
        // RSASSA-PSS, with openssl's default and an explicit salt length.
        for extra in ["", "-keyopt rsa_pss_saltlen:20"] {
            let der = cms_sign(
                d,
                "rsa",
                &format!("-md sha384 -keyopt rsa_padding_mode:pss {extra}"),
            );
            let sd = cms::parse_content_info(&der).unwrap();
            assert_eq!(
                sd.signer_infos[0].signature_algorithm.oid_string(),
                "1.2.840.113549.1.1.10"
            );
            assert_eq!(check(&der, MESSAGE), Ok(()), "PSS {extra}");
            assert!(matches!(
                check(&der, b"other"),
                Err(VerifyError::MessageDigestMismatch { .. })
            ));
        }
        // An Ed25519 key (openssl 3.0 cannot CMS-sign with one) is recognised as unsupported,
        // never as a bad signature.
        certificate(d, "ed", "ed25519");
        run(d, "openssl", "x509 -in ed.pem -outform DER -out ed.der");
        let der = cms_sign(d, "rsa", "-md sha256");
        let sd = cms::parse_content_info(&der).unwrap();
        let err = verify_content(
            &sd.signer_infos[0],
            ContentDigest::Bytes(MESSAGE),
            &read(d, "ed.der"),
        )
        .unwrap_err();
        assert_eq!(err, VerifyError::UnsupportedKey("Ed25519".into()));
        assert!(err.is_unsupported());
    }

    /// A signer named by subjectKeyIdentifier, and a streamed (BER, indefinite-length,
    /// chunked) SignedData carrying its content.
    #[test]
    fn key_identifier_and_streamed_ber() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("msg.txt"), MESSAGE).unwrap();
        certificate(d, "ski", "ec -pkeyopt ec_paramgen_curve:P-256");
        let der = cms_sign(d, "ski", "-md sha256 -keyid");
        let sd = cms::parse_content_info(&der).unwrap();
        assert!(matches!(
            sd.signer_infos[0].sid,
            cms::SignerIdentifier::SubjectKeyIdentifier(_)
        ));
        assert_eq!(check(&der, MESSAGE), Ok(()));
        let cache = crate::cert::CertCache::new();
        let signer = cms::signer(&sd.signer_infos[0].sid, &sd.certificates, &cache);
        assert_eq!(signer.subject.as_deref(), Some("CN=ski"));
        assert_eq!((signer.issuer.as_str(), signer.serial.as_str()), ("", ""));

        let der = cms_sign(d, "ski", "-md sha384 -stream -nodetach");
        assert_eq!(&der[..2], &[0x30, 0x80], "openssl did not stream");
        let sd = cms::parse_content_info(&der).unwrap();
        let content = sd.content.as_ref().expect("the content is carried");
        assert_eq!(&*content.bytes, MESSAGE);
        assert_eq!(check(&der, &content.bytes), Ok(()));
        let attrs = sd.signer_infos[0].signed_attrs.as_ref().unwrap();
        assert!(cms::signing_time(attrs).is_some());
        assert_eq!(cms::content_type(attrs), Some(cms::oid::DATA));
    }

    #[test]
    fn a_signature_by_another_key_does_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("msg.txt"), MESSAGE).unwrap();
        certificate(d, "a", "rsa:2048");
        certificate(d, "b", "rsa:2048");
        let der = cms_sign(d, "a", "-md sha256");
        let sd = cms::parse_content_info(&der).unwrap();
        run(d, "openssl", "x509 -in b.pem -outform DER -out b.der");
        let other = read(d, "b.der");
        let err = verify_content(&sd.signer_infos[0], ContentDigest::Bytes(MESSAGE), &other);
        assert_eq!(err, Err(VerifyError::BadSignature("RSA PKCS#1 v1.5")));
        // Garbage certificates and signature values are errors, not panics.
        assert!(matches!(
            verify_prehashed(
                b"junk",
                &sd.signer_infos[0].signature_algorithm,
                DigestAlgorithm::Sha256,
                &[0; 32],
                b""
            ),
            Err(VerifyError::BadKey(_))
        ));
    }
}
