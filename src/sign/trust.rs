//! Chain trust, the question `--trust-roots` asks: does a signature's signer certificate chain,
//! through the certificates the signature carries, to one of the given roots?
//!
//! Each link is checked cryptographically (the child's signature verified with the parent's key),
//! names are matched as rootsift prints them, and chains are at most [`MAX_DEPTH`] long. Validity
//! periods are not checked: code signatures are judged at their timestamp, which this does not
//! attempt; `verified` already says whether the signature itself holds.

use std::sync::Arc;

use x509_parser::prelude::{FromDer, X509Certificate};

use super::Signature;
use super::cms::AlgorithmIdentifier;
use super::verify::{self, DigestAlgorithm};
use crate::cert::Certificate;

/// The longest chain followed, root included.
pub const MAX_DEPTH: usize = 8;

/// Whether `signature`'s signer chains to one of `roots`.
pub fn is_trusted(signature: &Signature, roots: &[Arc<Certificate>]) -> bool {
    let Some(mut current) = signature.signer.certificate.clone() else {
        return false;
    };
    for _ in 0..MAX_DEPTH {
        if roots.iter().any(|r| r.sha256 == current.sha256) {
            return true;
        }
        let issuer = roots
            .iter()
            .chain(&signature.certificates)
            .find(|candidate| {
                candidate.subject == current.issuer
                    && candidate.sha256 != current.sha256
                    && signed_by(&current, candidate)
            });
        match issuer {
            Some(issuer) if roots.iter().any(|r| r.sha256 == issuer.sha256) => return true,
            Some(issuer) => current = Arc::clone(issuer),
            None => return false,
        }
    }
    false
}

/// Whether `child`'s signature verifies with `parent`'s public key.
pub fn signed_by(child: &Certificate, parent: &Certificate) -> bool {
    let Ok((_, x509)) = X509Certificate::from_der(&child.der) else {
        return false;
    };
    let oid = x509.signature_algorithm.algorithm.as_bytes();
    let Some(digest) = signature_digest(oid) else {
        return false;
    };
    let algorithm = AlgorithmIdentifier {
        oid,
        parameters: None,
    };
    let hash = digest.digest(x509.tbs_certificate.as_ref());
    verify::verify_prehashed(
        &parent.der,
        &algorithm,
        digest,
        &hash,
        &x509.signature_value.data,
    )
    .is_ok()
}

/// The digest of a certificate signature algorithm (RSA PKCS#1 v1.5, ECDSA and DSA with a hash).
fn signature_digest(oid: &[u8]) -> Option<DigestAlgorithm> {
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04];
    const NIST_DSA: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03];
    match oid {
        [rest @ .., 0x01] if rest == ECDSA => Some(DigestAlgorithm::Sha1),
        [rest @ .., 0x03, n] if rest == ECDSA => match n {
            1 => Some(DigestAlgorithm::Sha224),
            2 => Some(DigestAlgorithm::Sha256),
            3 => Some(DigestAlgorithm::Sha384),
            4 => Some(DigestAlgorithm::Sha512),
            _ => None,
        },
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03] => Some(DigestAlgorithm::Sha1),
        [rest @ .., n] if rest == NIST_DSA => match n {
            1 => Some(DigestAlgorithm::Sha224),
            2 => Some(DigestAlgorithm::Sha256),
            _ => None,
        },
        // sha*WithRSAEncryption: `from_oid` knows the RSA-with-hash OIDs.
        _ => DigestAlgorithm::from_oid(oid),
    }
}
