//! DER certificates embedded anywhere in a buffer: ELF `.rodata`, PE resources, Go, Java and Rust
//! executables, firmware, unknown containers.
//!
//! The search is structural: every `30 82 LL LL` (a SEQUENCE with a two-byte length, the outer header
//! of every certificate between 256 bytes and 64 KiB, i.e. all real ones) is checked for the shape of
//! a certificate — a TBSCertificate SEQUENCE right inside it that starts with a version tag `A0 03 02
//! 01 0v` (v2/v3) or a serial INTEGER (v1), followed by the signature AlgorithmIdentifier SEQUENCE and
//! the signature BIT STRING, with lengths that add up exactly. Only candidates of that shape are
//! hashed and fully parsed, and only a full parse makes a finding: no false positives.
//!
//! Certificates under 256 bytes or over 64 KiB are found when they are a whole file or sit in a
//! structure (PKCS#7, PKCS#12, JKS), not when embedded bare in a binary.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::{Detector, Parser, Sink};
use crate::cert::der_object_len;

static ANCHOR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(&[0x30, 0x82]));

/// Reports every DER certificate embedded in `data`.
pub fn scan(det: &Detector<'_>, data: &[u8], sink: &mut dyn Sink) {
    DerSearch::default().advance(det, data, sink, data.len());
}

/// An incremental search over one buffer (see [`super::pem::PemSearch`] for why).
#[derive(Default)]
pub(crate) struct DerSearch {
    pos: usize,
    /// End of the last certificate reported: anchors inside it are not searched again.
    next_free: usize,
}

impl DerSearch {
    /// Handles every anchor that starts before `limit`.
    pub(crate) fn advance(
        &mut self,
        det: &Detector<'_>,
        data: &[u8],
        sink: &mut dyn Sink,
        limit: usize,
    ) {
        let start = self.pos.max(self.next_free);
        if start < limit {
            let window = &data[start..data.len().min(limit + 1)];
            for at in ANCHOR.find_iter(window).map(|i| start + i) {
                if at >= limit {
                    break;
                }
                if at < self.next_free {
                    continue; // inside a certificate already reported
                }
                let Some(len) = certificate_shape(&data[at..]) else {
                    continue;
                };
                if let Ok(cert) = det.cache.get_or_parse(&data[at..at + len]) {
                    sink.certificate(cert, at as u64, Parser::Der);
                    self.next_free = at + len;
                }
            }
        }
        self.pos = self.pos.max(limit);
    }
}

/// If `data` starts with something shaped like a certificate with a `30 82` outer header, returns
/// its length. Cheap: reads a few headers, never parses names or extensions.
pub fn certificate_shape(data: &[u8]) -> Option<usize> {
    let total = der_object_len(data)?;
    if data.get(1) != Some(&0x82) {
        return None;
    }
    let body = &data[4..total];
    // TBSCertificate: SEQUENCE with a one- or two-byte length.
    if body.first() != Some(&0x30) || !matches!(body.get(1), Some(0x81 | 0x82)) {
        return None;
    }
    let tbs_len = der_object_len(body)?;
    let tbs_header = if body[1] == 0x81 { 3 } else { 4 };
    let tbs_content = &body[tbs_header..tbs_len];
    let versioned = tbs_content.starts_with(&[0xa0, 0x03, 0x02, 0x01])
        && matches!(tbs_content.get(4), Some(0x00..=0x02));
    if !versioned && tbs_content.first() != Some(&0x02) {
        return None;
    }
    // signatureAlgorithm SEQUENCE, then signatureValue BIT STRING, ending exactly at the end.
    let rest = &body[tbs_len..];
    if rest.first() != Some(&0x30) {
        return None;
    }
    let alg_len = der_object_len(rest)?;
    let sig = &rest[alg_len..];
    if sig.first() != Some(&0x03) || der_object_len(sig)? != sig.len() {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rejects_near_misses() {
        assert_eq!(
            certificate_shape(&[0x30, 0x82, 0x00, 0x04, 0x30, 0x00, 0x03, 0x00]),
            None
        );
        assert_eq!(certificate_shape(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(certificate_shape(&[]), None);
    }
}
