//! The certificate model: what rootsift knows about one distinct certificate.
//!
//! A [`Certificate`] is built once per distinct DER encoding and shared (behind an [`Arc`]) by every
//! place it is found; [`CertCache`] memoises parsing by the SHA-256 of the DER bytes, so a root that
//! appears in ten thousand files is parsed once. Fingerprints are always computed over the original
//! bytes found in the input, never over a re-encoding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Why bytes that were expected to hold a certificate do not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The bytes are not a DER-encoded X.509 certificate.
    #[error("not a valid X.509 certificate: {0}")]
    Invalid(String),
    /// A certificate parsed, but bytes follow it inside the same object.
    #[error("{0} unexpected bytes after the certificate")]
    TrailingBytes(usize),
}

/// One distinct X.509 certificate, with the fields every report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The DER encoding exactly as found.
    pub der: Arc<[u8]>,
    /// SHA-256 of [`Certificate::der`].
    pub sha256: [u8; 32],
    /// SHA-1 of [`Certificate::der`].
    pub sha1: [u8; 20],
    /// Subject, formatted as Go's `pkix.Name.String()` (what Paranoia prints as `owner`).
    pub subject: String,
    /// Issuer, in the same format as the subject.
    pub issuer: String,
    /// Serial number, lowercase hex of the encoded integer without leading zero bytes.
    pub serial: String,
    /// X.509 version as written on certificates (1, 2 or 3).
    pub version: u32,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// Whether basicConstraints says this is a CA.
    pub is_ca: bool,
    /// Whether issuer and subject are the same name.
    pub self_signed: bool,
    /// `RSA`, `EC`, `DSA`, `Ed25519`, `Ed448` or the algorithm OID.
    pub public_key_algorithm: String,
    /// Key size in bits (RSA modulus, EC curve size); 0 when unknown.
    pub public_key_bits: u32,
    /// Signature algorithm name (`sha256WithRSAEncryption`, …) or its OID.
    pub signature_algorithm: String,
    /// The signature value, uppercase hex (Paranoia's `signature`).
    pub signature: String,
}

impl Certificate {
    /// Parses exactly one DER certificate occupying all of `der`.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        // x509-parser matches the outer tag by number only; DER (and openssl) require the
        // constructed universal SEQUENCE byte itself, so 0x10 or 0xd0 up front is no certificate.
        if der.first() != Some(&0x30) {
            return Err(CertError::Invalid(
                "the outer tag is not a constructed SEQUENCE (0x30)".into(),
            ));
        }
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|e| CertError::Invalid(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::TrailingBytes(rest.len()));
        }
        Ok(Self::from_parsed(der, &x509))
    }

    fn from_parsed(der: &[u8], x509: &X509Certificate<'_>) -> Certificate {
        let tbs = &x509.tbs_certificate;
        let spki = x509.public_key();
        let (public_key_algorithm, public_key_bits) = key_description(spki);
        let self_signed = tbs.subject.as_raw() == tbs.issuer.as_raw();
        Certificate {
            der: Arc::from(der),
            sha256: Sha256::digest(der).into(),
            sha1: Sha1::digest(der).into(),
            subject: go_name_string(&tbs.subject),
            issuer: go_name_string(&tbs.issuer),
            serial: serial_hex(x509.raw_serial()),
            version: tbs.version.0 + 1,
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            is_ca: x509.is_ca(),
            self_signed,
            public_key_algorithm,
            public_key_bits,
            signature_algorithm: oid_name(&x509.signature_algorithm.algorithm.to_id_string()),
            signature: hex::encode_upper(x509.signature_value.data.as_ref()),
        }
    }

    /// SHA-256 fingerprint as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// SHA-1 fingerprint as lowercase hex.
    pub fn sha1_hex(&self) -> String {
        hex::encode(self.sha1)
    }
}

/// Length of the DER TLV at the start of `data` (header plus content), if its header is well formed
/// and the whole object fits in `data`. Only definite lengths (DER) are accepted.
pub fn der_object_len(data: &[u8]) -> Option<usize> {
    let first = *data.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = data.get(2..2 + n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= data.len()).then_some(total)
}

/// A shared, thread-safe memo of parsed certificates keyed by the SHA-256 of their DER.
///
/// Sharded to keep lock contention low when every worker thread finds the same CA bundle.
pub struct CertCache {
    shards: Vec<Mutex<HashMap<[u8; 32], Arc<Certificate>>>>,
}

const CACHE_SHARDS: usize = 16;

impl Default for CertCache {
    fn default() -> Self {
        CertCache {
            shards: (0..CACHE_SHARDS)
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
        }
    }
}

impl CertCache {
    /// Creates an empty cache.
    pub fn new() -> CertCache {
        CertCache::default()
    }

    /// Returns the certificate whose DER is exactly `der`, parsing it only if it was never seen.
    pub fn get_or_parse(&self, der: &[u8]) -> Result<Arc<Certificate>, CertError> {
        let key: [u8; 32] = Sha256::digest(der).into();
        let shard = &self.shards[usize::from(key[0]) % CACHE_SHARDS];
        if let Some(found) = lock(shard).get(&key) {
            return Ok(Arc::clone(found));
        }
        let cert = Arc::new(Certificate::from_der(der)?);
        Ok(Arc::clone(lock(shard).entry(key).or_insert(cert)))
    }

    /// Number of distinct certificates parsed so far.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no certificate was parsed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a HashMap of finished entries inconsistent.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serial_hex(raw: &[u8]) -> String {
    let start = raw
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode(&raw[start.min(raw.len())..])
}

fn key_description(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> (String, u32) {
    let alg = spki.algorithm.algorithm.to_id_string();
    let curve_bits = || {
        spki.algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .and_then(|oid| curve_bits(&oid.to_id_string()))
    };
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".into(), big_endian_bits(rsa.modulus)),
        Ok(PublicKey::EC(point)) => {
            let bits = curve_bits().unwrap_or(point.key_size() as u32);
            ("EC".into(), bits)
        }
        Ok(PublicKey::DSA(y)) => {
            // The DSA strength is the size of p in the parameters; y is always smaller than p.
            let bits = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| dsa_p_bits(p.as_bytes()))
                .unwrap_or_else(|| big_endian_bits(y));
            ("DSA".into(), bits)
        }
        _ => match alg.as_str() {
            "1.3.101.112" => ("Ed25519".into(), 256),
            "1.3.101.113" => ("Ed448".into(), 456),
            _ => (oid_name(&alg), 0),
        },
    }
}

/// Bits of the first INTEGER inside DSA parameters (`SEQUENCE { p, q, g }`, given as its content).
fn dsa_p_bits(seq_content: &[u8]) -> Option<u32> {
    if seq_content.first() != Some(&0x02) {
        return None;
    }
    let len = der_object_len(seq_content)?;
    let header = if seq_content[1] < 0x80 {
        2
    } else {
        2 + usize::from(seq_content[1] & 0x7f)
    };
    Some(big_endian_bits(seq_content.get(header..len)?))
}

fn big_endian_bits(n: &[u8]) -> u32 {
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    (n.len() as u32 - 1) * 8 + (8 - n[0].leading_zeros())
}

fn curve_bits(oid: &str) -> Option<u32> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => 256,   // P-256
        "1.3.132.0.34" => 384,          // P-384
        "1.3.132.0.35" => 521,          // P-521
        "1.3.132.0.10" => 256,          // secp256k1
        "1.2.840.10045.3.1.1" => 192,   // P-192
        "1.3.132.0.33" => 224,          // P-224
        "1.3.36.3.3.2.8.1.1.7" => 256,  // brainpoolP256r1
        "1.3.36.3.3.2.8.1.1.11" => 384, // brainpoolP384r1
        "1.3.36.3.3.2.8.1.1.13" => 512, // brainpoolP512r1
        _ => return None,
    })
}

/// Human names for the algorithm OIDs found on real certificates; anything else stays an OID.
fn oid_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.1" => "dsa-with-sha224",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return oid.to_string(),
    };
    name.to_string()
}

/// Formats a name as Go's `pkix.Name.String()` does, so `owner` matches what Paranoia prints:
/// the well-known attributes in Go's fixed order (reversed RFC 2253 style: `CN=…,O=…,C=…`), values
/// of the same type joined by `+`, and any other attribute as `OID=#hex` of its DER after them.
pub fn go_name_string(name: &X509Name<'_>) -> String {
    // Go's ToRDNSequence order; String() then prints it reversed.
    const ORDER: [(&str, &str); 9] = [
        ("2.5.4.6", "C"),
        ("2.5.4.8", "ST"),
        ("2.5.4.7", "L"),
        ("2.5.4.9", "STREET"),
        ("2.5.4.17", "POSTALCODE"),
        ("2.5.4.10", "O"),
        ("2.5.4.11", "OU"),
        ("2.5.4.3", "CN"),
        ("2.5.4.5", "SERIALNUMBER"),
    ];
    let attrs: Vec<(String, &AttributeTypeAndValue<'_>)> = name
        .iter_attributes()
        .map(|a| (a.attr_type().to_id_string(), a))
        .collect();

    // Each RDN is a list of "TYPE=value" strings; Go keeps only the last CN and SERIALNUMBER.
    let mut rdns: Vec<Vec<String>> = attrs
        .iter()
        .filter(|(oid, _)| !ORDER.iter().any(|(o, _)| o == oid))
        .map(|(oid, attr)| {
            let raw = attr.attr_value();
            let mut der = Vec::with_capacity(raw.data.len() + 4);
            der.push(
                raw.header
                    .raw_tag()
                    .and_then(|t| t.first().copied())
                    .unwrap_or(0x0c),
            );
            push_der_len(&mut der, raw.data.len());
            der.extend_from_slice(raw.data);
            vec![format!("{oid}={}", format_args!("#{}", hex::encode(der)))]
        })
        .collect();
    for (oid, short) in ORDER {
        let values: Vec<String> = attrs
            .iter()
            .filter(|(o, _)| o == oid)
            .map(|(_, a)| format!("{short}={}", escape_go_value(&attribute_text(a))))
            .collect();
        match (short, values.last()) {
            (_, None) => {}
            ("CN" | "SERIALNUMBER", Some(last)) => rdns.push(vec![last.clone()]),
            _ => rdns.push(values),
        }
    }
    rdns.iter()
        .rev()
        .map(|rdn| rdn.join("+"))
        .collect::<Vec<_>>()
        .join(",")
}

fn push_der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The text of a directory string, whatever its ASN.1 string type.
fn attribute_text(attr: &AttributeTypeAndValue<'_>) -> String {
    let value = attr.attr_value();
    let data = value.data;
    match value.header.tag().0 {
        // BMPString: UTF-16BE.
        30 => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE.
        28 => data
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{fffd}')
            })
            .collect(),
        // T61String is in practice Latin-1.
        20 => match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(_) => data.iter().map(|&b| char::from(b)).collect(),
        },
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}

fn escape_go_value(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let last = chars.len().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => i == 0 || i == last,
            '#' => i == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (`2025-01-31T23:59:59Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(2_524_607_999), "2049-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn go_escaping_matches_rfc2253_rules() {
        assert_eq!(escape_go_value(" a,b "), "\\ a\\,b\\ ");
        assert_eq!(escape_go_value("#x#"), "\\#x#");
    }

    #[test]
    fn der_object_len_rejects_overruns() {
        assert_eq!(der_object_len(&[0x30, 0x03, 1, 2, 3]), Some(5));
        assert_eq!(der_object_len(&[0x30, 0x04, 1, 2, 3]), None);
        assert_eq!(der_object_len(&[0x30, 0x81, 0x01, 9]), Some(4));
        assert_eq!(der_object_len(&[0x30, 0x80]), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(Certificate::from_der(b"\x30\x03\x02\x01\x01").is_err());
        // A real certificate whose outer tag byte is changed to another encoding of tag number 16
        // (found by fuzzing: x509-parser accepted it); openssl rejects both.
        let dir = tempfile::tempdir().expect("temporary directory");
        let (_, mut der) = crate::detect::testing::openssl_certificate(dir.path(), "outer-tag");
        assert!(Certificate::from_der(&der).is_ok());
        for tag in [0x10, 0xd0] {
            der[0] = tag;
            assert!(
                Certificate::from_der(&der).is_err(),
                "outer tag {tag:#x} accepted"
            );
        }
        assert!(CertCache::new().get_or_parse(&[]).is_err());
    }
}
