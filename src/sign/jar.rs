//! JAR signatures (JAR, WAR, EAR, APK v1 schemes): every signer `META-INF/NAME.SF` with its
//! signature block `META-INF/NAME.RSA` / `.DSA` / `.EC`, verified as `jarsigner -verify -strict`
//! does:
//!
//! 1. the block is a detached PKCS#7 SignedData whose signature covers the `.SF` file's bytes;
//! 2. the `.SF` file vouches for the manifest: its `*-Digest-Manifest` is the digest of the whole
//!    `MANIFEST.MF`, or else each of its sections' `*-Digest` is the digest of the manifest section
//!    of the same name (the raw bytes, blank line included);
//! 3. the manifest vouches for the entries: each section's `*-Digest` is the digest of the entry's
//!    uncompressed bytes; an entry changed after signing fails, and so (as with `-strict`) does an
//!    entry the manifest does not cover.
//!
//! A zip with no `META-INF/MANIFEST.MF` is not a JAR (not signable); a JAR with no `.SF` file is
//! unsigned. Members are decompressed within the same bounds as the certificate scan.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rawzip::{CompressionMethod, ZipArchive};

use super::manifest::Manifest;
use super::verify::{self, ContentDigest, DigestAlgorithm};
use super::{SignOptions, Signature, SignatureFormat, Signed, cms};
use crate::analyzer::Limits;
use crate::cert::CertCache;
use crate::zip::{Budget, read_member};

const MANIFEST: &str = "META-INF/MANIFEST.MF";

/// A member of the archive, located but not yet decompressed.
struct Member<'a> {
    compressed: &'a [u8],
    method: CompressionMethod,
    declared: u64,
}

/// The archive's members by name, decompressed on demand within one budget.
struct Members<'a> {
    by_name: HashMap<String, Member<'a>>,
    budget: Budget,
    max_member: u64,
}

impl Members<'_> {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let member = self
            .by_name
            .get(name)
            .ok_or_else(|| format!("{name} is missing"))?;
        read_member(
            member.compressed,
            member.method,
            member.declared,
            self.max_member,
            &mut self.budget,
        )
        .map_err(|e| format!("{name}: {e}"))
    }

    /// The member whose name matches `name` ignoring ASCII case (signature file names are
    /// case-insensitive on the platforms that write them).
    fn find(&self, name: &str) -> Option<String> {
        self.by_name
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
    }
}

/// The signers of the JAR in `data`.
pub fn scan(data: &[u8], cache: &CertCache, options: &SignOptions) -> Signed {
    let Ok(archive) = ZipArchive::from_slice(data) else {
        return Signed::NotSignable;
    };
    let limits = Limits::default();
    let mut members = Members {
        by_name: HashMap::new(),
        budget: Budget {
            decompressed_left: limits.max_decompressed,
            members_skipped: 0,
        },
        max_member: limits.max_member_size,
    };
    let mut entries = archive.entries();
    while let Ok(Some(record)) = entries.next_entry() {
        if members.by_name.len() >= limits.max_archive_entries {
            break;
        }
        if record.is_dir() {
            continue;
        }
        let Ok(entry) = archive.get_entry(record.wayfinder()) else {
            continue;
        };
        let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
        members.by_name.insert(
            name,
            Member {
                compressed: entry.data(),
                method: record.compression_method(),
                declared: record.uncompressed_size_hint(),
            },
        );
    }
    let Some(manifest_name) = members.find(MANIFEST) else {
        return Signed::NotSignable;
    };
    let mut signers: Vec<String> = members
        .by_name
        .keys()
        .filter_map(|n| {
            let base = meta_inf_file(n)?;
            let stem = base.len().checked_sub(3).and_then(|at| {
                base.get(at..)
                    .filter(|ext| ext.eq_ignore_ascii_case(".SF"))
                    .and_then(|_| base.get(..at))
            })?;
            (!stem.is_empty()).then(|| stem.to_string())
        })
        .collect();
    if signers.is_empty() {
        return Signed::Unsigned;
    }
    signers.sort();

    let manifest_bytes = members.read(&manifest_name);
    // The entries are checked against the manifest once: every signer vouches for the same
    // manifest.
    let entries_checked = match (&manifest_bytes, options.verify) {
        (Ok(bytes), true) => Some(check_entries(&Manifest::parse(bytes), &mut members)),
        (Err(e), true) => Some(Err(e.clone())),
        (_, false) => None,
    };
    let signatures = signers
        .iter()
        .enumerate()
        .map(|(index, stem)| {
            let mut sig = signer(
                stem,
                &mut members,
                manifest_bytes.as_deref().ok(),
                cache,
                options,
            );
            sig.index = index as u32;
            if sig.verified == Some(true)
                && let Some(Err(reason)) = &entries_checked
            {
                sig.verified = Some(false);
                sig.verify_error = Some(reason.clone());
            }
            sig
        })
        .collect();
    Signed::Signatures(signatures)
}

/// One signer: its block parsed, and (when verifying) its signature over the `.SF` file and the
/// `.SF` file's digests of the manifest checked.
fn signer(
    stem: &str,
    members: &mut Members<'_>,
    manifest: Option<&[u8]>,
    cache: &CertCache,
    options: &SignOptions,
) -> Signature {
    let mut sig = Signature::blank(SignatureFormat::Jar, 0, false);
    sig.name = Some(stem.to_string());
    let sf_name = format!("META-INF/{stem}.SF");
    let sf = match members.find(&sf_name).map(|name| members.read(&name)) {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => return sig.fail(e),
        None => return sig.fail(format!("{sf_name} is missing")),
    };
    let block_name = ["RSA", "DSA", "EC"]
        .iter()
        .find_map(|ext| members.find(&format!("META-INF/{stem}.{ext}")));
    let Some(block_name) = block_name else {
        return sig.fail(format!(
            "{sf_name} has no signature block (.RSA, .DSA or .EC)"
        ));
    };
    let block = match members.read(&block_name) {
        Ok(bytes) => bytes,
        Err(e) => return sig.fail(e),
    };
    let sd = match cms::parse_content_info(&block) {
        Ok(sd) => sd,
        Err(e) => return sig.fail(format!("{block_name}: {e}")),
    };
    sig.certificates = cms::parse_certificates(&sd.certificates, cache);
    let Some(si) = sd.signer_infos.first() else {
        return sig.fail(format!("{block_name}: the SignedData has no SignerInfo"));
    };
    sig.signer = cms::signer(&si.sid, &sd.certificates, cache);
    sig.digest_algorithm = verify::digest_name(si.digest_algorithm.oid);
    sig.signing_time = si.signed_attrs.as_ref().and_then(cms::signing_time);
    sig.timestamp = si
        .unsigned_attrs
        .as_ref()
        .and_then(|attrs| cms::first_timestamp(attrs, &sd, cache));
    if !options.verify {
        return sig;
    }
    let Some(cert) = sd.signer_certificate(si) else {
        return sig.fail(format!(
            "{block_name}: the signer's certificate is not in the block"
        ));
    };
    match verify::verify_content(si, ContentDigest::Bytes(&sf), cert.der) {
        Ok(()) => {}
        Err(e) if e.is_unsupported() => {
            sig.verify_error = Some(e.to_string());
            return sig;
        }
        Err(e) => return sig.fail(format!("the signature over {sf_name}: {e}")),
    }
    let Some(manifest) = manifest else {
        return sig.fail(format!("{MANIFEST} cannot be read"));
    };
    match check_signature_file(&Manifest::parse(&sf), manifest) {
        Ok(()) => {
            sig.verified = Some(true);
            sig
        }
        Err(reason) => sig.fail(format!("{sf_name}: {reason}")),
    }
}

/// A manifest digest algorithm name (`SHA-256`, `SHA1`, `MD5`, …).
fn algorithm(name: &str) -> Option<DigestAlgorithm> {
    Some(match name.to_ascii_uppercase().replace('-', "").as_str() {
        "MD5" => DigestAlgorithm::Md5,
        "SHA" | "SHA1" => DigestAlgorithm::Sha1,
        "SHA224" => DigestAlgorithm::Sha224,
        "SHA256" => DigestAlgorithm::Sha256,
        "SHA384" => DigestAlgorithm::Sha384,
        "SHA512" => DigestAlgorithm::Sha512,
        _ => return None,
    })
}

/// Checks the supported digests among `digests` against `data`: `Ok(true)` when at least one was
/// checked and all checked match, `Ok(false)` when none could be checked.
fn check_digests<'d>(
    digests: impl Iterator<Item = (&'d str, &'d str)>,
    data: &[u8],
) -> Result<bool, String> {
    let mut checked = false;
    for (name, value) in digests {
        let Some(alg) = algorithm(name) else { continue };
        let expected = STANDARD
            .decode(value.trim())
            .map_err(|_| format!("the {name} digest is not base64"))?;
        if alg.digest(data) != expected {
            return Err(format!("{name} digest mismatch"));
        }
        checked = true;
    }
    Ok(checked)
}

/// Step 2: the `.SF` file's digests of the manifest.
fn check_signature_file(sf: &Manifest<'_>, manifest: &[u8]) -> Result<(), String> {
    if check_digests(sf.main.digests("-Digest-Manifest"), manifest) == Ok(true) {
        return Ok(());
    }
    // The whole-manifest digest is absent or stale (entries added since): every section the
    // signature file lists must still match.
    let parsed = Manifest::parse(manifest);
    if sf.sections.is_empty() {
        return Err("the manifest digest does not match and no section digests are given".into());
    }
    for section in &sf.sections {
        let name = section.name().unwrap_or_default();
        let Some(in_manifest) = parsed.section(name) else {
            return Err(format!("signs {name:?}, which the manifest does not list"));
        };
        match check_digests(section.digests("-Digest"), in_manifest.raw) {
            Ok(true) => {}
            Ok(false) => return Err(format!("no supported digest for {name:?}")),
            Err(e) => return Err(format!("manifest section {name:?}: {e}")),
        }
    }
    Ok(())
}

/// Step 3: every entry against the manifest, and no entry left out of it.
fn check_entries(manifest: &Manifest<'_>, members: &mut Members<'_>) -> Result<(), String> {
    let mut covered = 0usize;
    for section in &manifest.sections {
        let name = section.name().unwrap_or_default();
        if section.digests("-Digest").next().is_none() || !members.by_name.contains_key(name) {
            continue;
        }
        let data = members.read(name)?;
        match check_digests(section.digests("-Digest"), &data) {
            Ok(_) => covered += 1,
            Err(e) => return Err(format!("{name} was changed after signing: {e}")),
        }
    }
    let mut uncovered: Vec<&String> = members
        .by_name
        .keys()
        .filter(|n| !is_signature_related(n))
        .filter(|n| {
            manifest
                .section(n)
                .is_none_or(|s| s.digests("-Digest").next().is_none())
        })
        .collect();
    if !uncovered.is_empty() {
        uncovered.sort();
        return Err(format!(
            "{} entries are not covered by the signature (first: {}); {covered} are",
            uncovered.len(),
            uncovered[0]
        ));
    }
    Ok(())
}

/// The file name of a member directly in `META-INF/` (not in a subdirectory).
fn meta_inf_file(name: &str) -> Option<&str> {
    let rest = name
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("META-INF/"))
        .and_then(|_| name.get(9..))?;
    (!rest.contains('/')).then_some(rest)
}

/// The manifest, signature files and blocks, which the signature cannot cover.
fn is_signature_related(name: &str) -> bool {
    let Some(rest) = meta_inf_file(name) else {
        return false;
    };
    let upper = rest.to_ascii_uppercase();
    upper == "MANIFEST.MF"
        || upper.starts_with("SIG-")
        || [".SF", ".RSA", ".DSA", ".EC"]
            .iter()
            .any(|e| upper.ends_with(e))
}
