//! Linux kernel module signatures: a PKCS#7 SignedData appended to the module's ELF.
//!
//! `scripts/sign-file` appends, in order: the DER PKCS#7 (detached: no content, the module bytes
//! before it are what is signed), a 12-byte `struct module_signature { u8 algo, hash, id_type,
//! signer_len, key_id_len, pad[3]; __be32 sig_len }` (id_type 2 = PKCS#7, the other bytes 0), and
//! the 28-byte marker `~Module signature appended~\n`.
//!
//! The SignedData names its signer by issuer and serial number only; distributions' modules
//! (Debian's, for one) carry no certificate — it is in the kernel's built-in keyring — so the
//! signature cannot be checked from the file alone and `verified` is `None`. When the signature
//! does carry the signer's certificate, the module bytes before the signature are hashed with the
//! SignerInfo's digest algorithm and the signature is verified.
//!
//! Compressed modules (`.ko.xz`, `.ko.zst`, `.ko.gz`) carry the signature inside the compressed
//! data; they are not ELF and are `NotSignable` here until decompressed.

use super::cms::{self, SignedData};
use super::verify::{self, ContentDigest};
use super::{SignOptions, Signature, SignatureFormat, Signed};
use crate::cert::CertCache;

/// The marker that ends a signed module.
pub const MAGIC: &[u8] = b"~Module signature appended~\n";

/// Size of `struct module_signature`.
const INFO_LEN: usize = 12;

/// `PKEY_ID_PKCS7`.
const ID_PKCS7: u8 = 2;

/// ELF `e_type` of a relocatable object (what a module is).
const ET_REL: u16 = 1;

/// Why an appended module signature cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleSignatureError {
    /// The file is too short for the structure before the marker.
    #[error("the module signature trailer is cut off ({0} bytes before the marker)")]
    Truncated(usize),
    /// The signature is not PKCS#7.
    #[error("the module signature's id_type is {0}, not PKCS#7 (2)")]
    NotPkcs7(u8),
    /// `sig_len` points before the start of the file.
    #[error("the module signature claims {sig_len} bytes but only {available} precede it")]
    BadLength {
        /// The declared PKCS#7 length.
        sig_len: u32,
        /// The bytes before `struct module_signature`.
        available: usize,
    },
}

/// The parts of a signed module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedModule<'a> {
    /// The module bytes the signature covers (everything before the PKCS#7).
    pub module: &'a [u8],
    /// The PKCS#7 SignedData.
    pub pkcs7: &'a [u8],
}

/// Splits a module ending in [`MAGIC`] into its parts; `None` when it does not end so.
pub fn split(data: &[u8]) -> Option<Result<SignedModule<'_>, ModuleSignatureError>> {
    let body = data.strip_suffix(MAGIC)?;
    Some(split_body(body))
}

fn split_body(body: &[u8]) -> Result<SignedModule<'_>, ModuleSignatureError> {
    let info_at = body
        .len()
        .checked_sub(INFO_LEN)
        .ok_or(ModuleSignatureError::Truncated(body.len()))?;
    let info = &body[info_at..];
    if info[2] != ID_PKCS7 {
        return Err(ModuleSignatureError::NotPkcs7(info[2]));
    }
    let sig_len = u32::from_be_bytes([info[8], info[9], info[10], info[11]]);
    let start = usize::try_from(sig_len)
        .ok()
        .and_then(|n| info_at.checked_sub(n))
        .ok_or(ModuleSignatureError::BadLength {
            sig_len,
            available: info_at,
        })?;
    Ok(SignedModule {
        module: &body[..start],
        pkcs7: &body[start..info_at],
    })
}

/// The ELF `e_type`, honouring the file's byte order; `None` when the header is cut off.
fn elf_type(data: &[u8]) -> Option<u16> {
    let bytes = [*data.get(16)?, *data.get(17)?];
    Some(match data.get(5)? {
        2 => u16::from_be_bytes(bytes),
        _ => u16::from_le_bytes(bytes),
    })
}

/// Reads a kernel module's appended signature, and verifies it when `options.verify` and the
/// signature carries its signer's certificate.
///
/// Not an ELF file: `NotSignable`. An ELF relocatable object (`.ko`) without the marker:
/// `Unsigned`; any other ELF without it (executables, shared libraries): `NotSignable`.
pub fn scan(data: &[u8], cache: &CertCache, options: &SignOptions) -> Signed {
    if !data.starts_with(b"\x7fELF") {
        return Signed::NotSignable;
    }
    let Some(parts) = split(data) else {
        return match elf_type(data) {
            Some(ET_REL) => Signed::Unsigned,
            _ => Signed::NotSignable,
        };
    };
    let sig = match parts {
        Ok(parts) => match cms::parse_content_info(parts.pkcs7) {
            Ok(sd) => signature(&sd, parts.module, cache, options),
            Err(e) => Signature::blank(SignatureFormat::KernelModule, 0, false)
                .fail(format!("the module's PKCS#7 SignedData: {e}")),
        },
        Err(e) => Signature::blank(SignatureFormat::KernelModule, 0, false).fail(e.to_string()),
    };
    Signed::Signatures(vec![sig])
}

/// Verifies a signed module with a certificate from elsewhere — the kernel's module-signing
/// certificate, which distributions' modules do not carry; `Err` says why it does not verify.
pub fn verify_with_certificate(data: &[u8], certificate_der: &[u8]) -> Result<(), String> {
    let parts = split(data)
        .ok_or("the module carries no appended signature")?
        .map_err(|e| e.to_string())?;
    let sd = cms::parse_content_info(parts.pkcs7).map_err(|e| e.to_string())?;
    let si = sd
        .signer_infos
        .first()
        .ok_or("the SignedData has no SignerInfo")?;
    verify::verify_content(si, ContentDigest::Bytes(parts.module), certificate_der)
        .map_err(|e| e.to_string())
}

fn signature(
    sd: &SignedData<'_>,
    module: &[u8],
    cache: &CertCache,
    options: &SignOptions,
) -> Signature {
    let mut sig = Signature::blank(SignatureFormat::KernelModule, 0, false);
    sig.certificates = cms::parse_certificates(&sd.certificates, cache);
    let Some(si) = sd.signer_infos.first() else {
        sig.verified = Some(false);
        sig.verify_error = Some("the SignedData has no SignerInfo".into());
        return sig;
    };
    sig.signer = cms::signer(&si.sid, &sd.certificates, cache);
    sig.digest_algorithm = verify::digest_name(si.digest_algorithm.oid);
    sig.signing_time = si.signed_attrs.as_ref().and_then(cms::signing_time);
    if !options.verify {
        return sig;
    }
    if sd.certificates.is_empty() {
        sig.verify_error = Some(
            "the signature carries no certificate (the kernel's built-in keyring holds it)".into(),
        );
        return sig;
    }
    let Some(cert) = sd.signer_certificate(si) else {
        sig.verify_error = Some(format!(
            "the signer's certificate is not among the {} the signature carries",
            sd.certificates.len()
        ));
        return sig;
    };
    match verify::verify_content(si, ContentDigest::Bytes(module), cert.der) {
        Ok(()) => sig.verified = Some(true),
        Err(e) if e.is_unsupported() => sig.verify_error = Some(e.to_string()),
        Err(e) => {
            sig.verified = Some(false);
            sig.verify_error = Some(e.to_string());
        }
    }
    sig
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::{cut_points, read, run};
    use crate::sign::cms::samples::sample_find;

    fn one(data: &[u8], verify: bool) -> Signature {
        match scan(data, &CertCache::new(), &SignOptions { verify }) {
            Signed::Signatures(mut s) if s.len() == 1 => s.remove(0),
            other => panic!("expected one signature, got {other:?}"),
        }
    }

    /// A minimal little-endian ELF header of type `e_type`, then some bytes.
    fn elf(e_type: u16) -> Vec<u8> {
        let mut data = b"\x7fELF\x02\x01\x01\0".to_vec();
        data.resize(16, 0);
        data.extend_from_slice(&e_type.to_le_bytes());
        data.resize(64, 0);
        data.extend((0..4096u32).map(|i| (i * 7 % 251) as u8));
        data
    }

    /// `module` with `pkcs7` appended as `scripts/sign-file` does.
    fn append(module: &[u8], pkcs7: &[u8]) -> Vec<u8> {
        let mut out = module.to_vec();
        out.extend_from_slice(pkcs7);
        out.extend_from_slice(&[0, 0, ID_PKCS7, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(pkcs7.len() as u32).to_be_bytes());
        out.extend_from_slice(MAGIC);
        out
    }

    /// A Debian module (`dummy.ko`): signed by the build's throwaway key, no certificate in the
    /// signature.
    #[test]
    fn debian_module_without_certificate() {
        let data = sample_find("lib/modules", |path| {
            path.ends_with("/kernel/drivers/net/dummy.ko")
        });
        let s = one(&data, true);
        assert_eq!(s.format, SignatureFormat::KernelModule);
        assert_eq!(s.signer.issuer, "CN=Build time autogenerated kernel key");
        // The serial of each kernel build's throwaway key (modinfo's sig_key).
        assert!(
            s.signer.serial.len() >= 32 && s.signer.serial.bytes().all(|b| b.is_ascii_hexdigit())
        );
        assert_eq!(
            (s.signer.subject.as_ref(), s.signer.certificate.as_ref()),
            (None, None)
        );
        assert_eq!(s.digest_algorithm, "sha256");
        assert!(s.certificates.is_empty());
        assert_eq!(s.verified, None);
        assert_eq!(
            s.verify_error.as_deref(),
            Some("the signature carries no certificate (the kernel's built-in keyring holds it)")
        );
        let s = one(&data, false);
        assert_eq!((s.verified, s.verify_error), (None, None));

        // Without its signature it is an unsigned module; an executable ELF is not signable.
        let module = split(&data).unwrap().unwrap().module;
        let cache = CertCache::new();
        let options = SignOptions::default();
        assert_eq!(scan(module, &cache, &options), Signed::Unsigned);
        let mut exec = module.to_vec();
        exec[16] = 2; // ET_EXEC
        assert_eq!(scan(&exec, &cache, &options), Signed::NotSignable);
        assert_eq!(scan(b"MZ\x90\0", &cache, &options), Signed::NotSignable);
        assert_eq!(scan(MAGIC, &cache, &options), Signed::NotSignable);
    }

    #[test]
    fn module_signed_with_its_certificate_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let module = elf(ET_REL);
        std::fs::write(d.join("module.bin"), &module).unwrap();
        run(
            d,
            "openssl",
            "req -x509 -newkey rsa:2048 -nodes -keyout k.key -out k.pem -days 30 \
             -subj /CN=module-signer",
        );
        run(d, "openssl", "x509 -in k.pem -outform DER -out k.der");
        run(
            d,
            "openssl",
            "cms -sign -binary -noattr -nocerts -md sha256 -in module.bin -signer k.pem \
             -inkey k.key -outform DER -out nocert.p7s",
        );
        let signed = append(&module, &read(d, "nocert.p7s"));
        let s = one(&signed, true);
        assert_eq!(s.verified, None);
        assert_eq!(s.signer.issuer, "CN=module-signer");
        assert_eq!(verify_with_certificate(&signed, &read(d, "k.der")), Ok(()));
        let mut tampered = signed.clone();
        tampered[70] ^= 1;
        assert!(verify_with_certificate(&tampered, &read(d, "k.der")).is_err());
        assert!(verify_with_certificate(&module, &read(d, "k.der")).is_err());

        for (attrs, tampered_error) in [
            ("-noattr", "the RSA PKCS#1 v1.5 signature does not verify"),
            ("", "messageDigest attribute mismatch: signed sha256 "),
        ] {
            run(
                d,
                "openssl",
                &format!(
                    "cms -sign -binary {attrs} -md sha256 -in module.bin -signer k.pem \
                     -inkey k.key -outform DER -out m.p7s"
                ),
            );
            let pkcs7 = read(d, "m.p7s");
            assert_eq!(
                cms::parse_content_info(&pkcs7).unwrap().content,
                None,
                "not detached"
            );
            let signed = append(&module, &pkcs7);
            let s = one(&signed, true);
            assert_eq!(s.verified, Some(true), "{attrs}: {:?}", s.verify_error);
            assert_eq!(s.signer.subject.as_deref(), Some("CN=module-signer"));
            assert_eq!(s.signer.issuer, "CN=module-signer");
            assert_eq!(s.certificates.len(), 1);
            assert_eq!(s.digest_algorithm, "sha256");
            assert_eq!(s.signing_time.is_some(), attrs.is_empty());

            let mut tampered = signed.clone();
            tampered[100] ^= 1;
            let s = one(&tampered, true);
            assert_eq!(s.verified, Some(false), "{attrs}");
            assert!(
                s.verify_error
                    .as_deref()
                    .unwrap()
                    .starts_with(tampered_error),
                "{attrs}: {:?}",
                s.verify_error
            );
        }
    }

    #[test]
    fn malformed_trailers_and_truncations() {
        let data = sample_find("lib/modules", |path| {
            path.ends_with("/kernel/drivers/net/dummy.ko")
        });
        let body = data.strip_suffix(MAGIC).unwrap();
        // Not PKCS#7.
        let mut other = data.clone();
        other[body.len() - 10] = 1;
        let s = one(&other, true);
        assert_eq!(s.verified, Some(false));
        assert_eq!(
            s.verify_error.as_deref(),
            Some("the module signature's id_type is 1, not PKCS#7 (2)")
        );
        // A length reaching before the file, and one that misses the PKCS#7's start.
        for (len, what) in [(u32::MAX, "claims"), (100, "SignedData")] {
            let mut bad = data.clone();
            bad[body.len() - 4..body.len()].copy_from_slice(&len.to_be_bytes());
            let s = one(&bad, true);
            assert_eq!(s.verified, Some(false));
            assert!(s.verify_error.as_deref().unwrap().contains(what), "{s:?}");
        }
        let s = one(&[b"\x7fELF".as_slice(), MAGIC].concat(), true);
        assert!(
            s.verify_error.as_deref().unwrap().contains("cut off"),
            "{s:?}"
        );
        // Cut anywhere: an unsigned ELF object or a failing signature, never a panic.
        let cache = CertCache::new();
        for cut in cut_points(data.len()) {
            match scan(&data[..cut], &cache, &SignOptions::default()) {
                Signed::NotSignable => assert!(cut < 18, "cut at {cut}"),
                Signed::Unsigned => {}
                Signed::Signatures(s) => panic!("cut at {cut}: {s:?}"),
            }
        }
    }
}
