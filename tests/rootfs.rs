//! `rootsift scan` over a real Debian bookworm rootfs made by `tests/fixtures/rootfs.sh`
//! (debootstrap --variant=minbase --include=ca-certificates): device nodes in /dev, `/dev/fd ->
//! /proc/self/fd`, Debian's absolute symlinks in /etc/ssl/certs. Ground truth from openssl at test time.

mod common;

use std::collections::BTreeSet;

use common::*;

#[test]
fn debian_rootfs_matches_openssl_and_stays_inside() {
    let root = rootfs();
    let doc = scan_json(&root, &[]);

    // /usr/share/ca-certificates/mozilla/*.crt: one certificate per file, openssl's fingerprints.
    let mozilla_dir = root.join("usr/share/ca-certificates/mozilla");
    let mut expected = Multiset::new();
    for entry in std::fs::read_dir(&mozilla_dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".crt") {
            continue;
        }
        let fp = openssl_fingerprint(&entry.path(), "pem", "sha256");
        *expected
            .entry((format!("/usr/share/ca-certificates/mozilla/{name}"), fp))
            .or_default() += 1;
    }
    assert!(
        expected.len() > 100,
        "only {} Mozilla roots in {}",
        expected.len(),
        mozilla_dir.display()
    );
    let found = found_certificates(&doc);
    let found_mozilla: Multiset = found
        .iter()
        .filter(|(k, _)| k.0.starts_with("/usr/share/ca-certificates/mozilla/"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_multiset_eq(
        "/usr/share/ca-certificates/mozilla in the rootfs",
        &expected,
        &found_mozilla,
    );

    // /etc/ssl/certs/ca-certificates.crt: as many certificates as the bundle has blocks, and the
    // same set as the Mozilla files (update-ca-certificates enables them all by default).
    let bundle_path = root.join("etc/ssl/certs/ca-certificates.crt");
    let blocks = std::fs::read_to_string(&bundle_path)
        .unwrap()
        .matches("-----BEGIN CERTIFICATE-----")
        .count();
    let bundle: Vec<&str> = entries(&doc, "certificates")
        .iter()
        .filter(|c| c["fileLocation"] == "/etc/ssl/certs/ca-certificates.crt")
        .map(|c| field(c, "fingerprintSHA256"))
        .collect();
    assert_eq!(
        bundle.len(),
        blocks,
        "ca-certificates.crt has {blocks} blocks, rootsift found {}",
        bundle.len()
    );
    let bundle_set: BTreeSet<&str> = bundle.iter().copied().collect();
    let mozilla_set: BTreeSet<&str> = expected.keys().map(|k| k.1.as_str()).collect();
    assert_eq!(
        bundle_set, mozilla_set,
        "the bundle's certificates are not the Mozilla files' (openssl)"
    );

    // Nothing outside: no /proc, /sys, /dev (device nodes, /dev/fd -> /proc/self/fd), no symlink
    // (/etc/ssl/certs/*.pem are absolute links), no host path; every file part is a regular file
    // of the rootfs.
    for key in ["certificates", "partials", "errors"] {
        for e in entries(&doc, key) {
            let loc = field(e, "fileLocation");
            for pseudo in ["/proc/", "/sys/", "/dev/"] {
                assert!(!loc.starts_with(pseudo), "{key} entry under {pseudo}: {e}");
            }
        }
    }
    assert_locations_confined(&doc, &root);
    assert_no_errors(&doc);

    // Debian's /etc/ssl/certs symlinks are really there (else the checks above prove little).
    let link = root.join("etc/ssl/certs/ISRG_Root_X1.pem");
    let target = std::fs::read_link(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    assert!(
        target.is_absolute(),
        "{} -> {} is not absolute",
        link.display(),
        target.display()
    );
    assert_eq!(
        std::fs::read_link(root.join("dev/fd")).ok().as_deref(),
        Some(std::path::Path::new("/proc/self/fd"))
    );
}
