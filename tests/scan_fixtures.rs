//! `rootsift scan -o json` over the fixtures of `tests/fixtures/make.sh`, compared with the ground
//! truth that openssl and keytool computed there: Debian's ca-certificates (files, bundle, absolute
//! symlinks), Java stores (JKS, JCEKS, keytool PKCS#12), openssl PKCS#7/PKCS#12, DER, TRUSTED and
//! X509 CERTIFICATE PEM, a v1 certificate, an ELF binary, JAR/WAR/wheel/zip members, certificates in
//! JSON, YAML, kubeconfig, Go and C sources, damaged blocks next to good ones, negative controls.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use common::*;

/// One scan of the whole tree, shared by the tests of this file.
fn tree_scan() -> &'static Value {
    static SCAN: OnceLock<Value> = OnceLock::new();
    SCAN.get_or_init(|| scan_json(&fixtures().join("tree"), &[]))
}

#[test]
fn certificates_equal_openssl_and_keytool_ground_truth_exactly() {
    let dir = fixtures();
    let expected = read_multiset(&dir.join("expected.tsv"));
    assert!(
        expected.values().sum::<usize>() > 300,
        "expected.tsv is suspiciously short; rerun make.sh"
    );
    let found = found_certificates(tree_scan());
    assert_multiset_eq("scan of the fixture tree (expected.tsv)", &expected, &found);
}

#[test]
fn expected_partials_are_reported() {
    let dir = fixtures();
    let expected = read_multiset(&dir.join("expected-partials.tsv"));
    assert!(
        !expected.is_empty(),
        "expected-partials.tsv is empty; rerun make.sh"
    );
    let found = found_partials(tree_scan());
    let (missing, _) = multiset_diff(&expected, &found);
    let others: Vec<String> = found
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .map(|(l, p)| format!("{l}\t{p}"))
        .collect();
    if !others.is_empty() {
        // Not a failure by itself (see negative_controls_yield_nothing for files that must stay clean).
        eprintln!(
            "note: partials beyond expected-partials.tsv:\n{}",
            others.join("\n")
        );
    }
    assert!(
        missing.is_empty(),
        "expected partials (LOCATION<TAB>PARSER) not reported:\n{}\n--- all partials reported ---\n{}",
        missing.join("\n"),
        entries(tree_scan(), "partials")
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn negative_controls_yield_nothing() {
    let dir = fixtures();
    let clean: BTreeSet<String> = read_tsv(&dir.join("expected-clean.tsv"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(
        !clean.is_empty(),
        "expected-clean.tsv is empty; rerun make.sh"
    );
    let doc = tree_scan();
    let mut bad = Vec::new();
    for key in ["certificates", "partials"] {
        for entry in entries(doc, key) {
            if clean.contains(field(entry, "fileLocation")) {
                bad.push(format!("{key}: {entry}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "negative controls (prose mentioning PEM lines, random bytes, a private key) gave findings:\n{}",
        bad.join("\n")
    );
}

#[test]
fn findings_stay_inside_the_tree_and_never_follow_symlinks() {
    let tree = fixtures().join("tree");
    let doc = tree_scan();
    assert_locations_confined(doc, &tree);
    // Debian's /etc/ssl/certs: NAME.pem are absolute symlinks into /usr/share/ca-certificates,
    // HASH.0 relative ones; following either would add findings (or leave the root).
    let mut symlinked = Vec::new();
    for c in entries(doc, "certificates") {
        let loc = field(c, "fileLocation");
        let name = loc
            .strip_prefix("/etc/ssl/certs/")
            .unwrap_or("ca-certificates.crt");
        if name != "ca-certificates.crt" && !name.starts_with("java/") {
            symlinked.push(loc.to_string());
        }
    }
    assert!(
        symlinked.is_empty(),
        "findings at symlinks under /etc/ssl/certs: {symlinked:?}"
    );
}

#[test]
fn scan_reports_no_errors() {
    assert_no_errors(tree_scan());
}

#[test]
fn summary_agrees_with_the_lists() {
    let doc = tree_scan();
    let summary = &doc["summary"];
    for (count, list) in [
        ("certificates", "certificates"),
        ("partials", "partials"),
        ("errors", "errors"),
    ] {
        assert_eq!(
            summary[count].as_u64(),
            Some(entries(doc, list).len() as u64),
            "summary.{count} differs from the number of `{list}` entries: {summary}"
        );
    }
    let unique: BTreeSet<&str> = entries(doc, "certificates")
        .iter()
        .map(|c| field(c, "fingerprintSHA256"))
        .collect();
    assert_eq!(
        summary["uniqueCertificates"].as_u64(),
        Some(unique.len() as u64),
        "summary: {summary}"
    );
}

#[test]
fn debian_bundle_alone_as_a_single_file_target() {
    let dir = fixtures();
    let bundle = dir.join("tree/etc/ssl/certs/ca-certificates.crt");
    let doc = scan_json(&bundle, &[]);
    assert_no_errors(&doc);
    let certs = entries(&doc, "certificates");
    let locations: BTreeSet<&str> = certs.iter().map(|c| field(c, "fileLocation")).collect();
    assert_eq!(
        locations.len(),
        1,
        "one file scanned, several locations: {locations:?}"
    );
    let loc = *locations.iter().next().unwrap();
    assert!(
        loc.starts_with('/') && loc.ends_with("ca-certificates.crt"),
        "location of a single-file target: {loc:?}"
    );

    // openssl's fingerprints of the bundle's blocks (make.sh), as a multiset.
    let expected: Vec<String> = read_tsv(&dir.join("expected.tsv"))
        .into_iter()
        .filter(|r| r[0] == "/etc/ssl/certs/ca-certificates.crt")
        .map(|r| r[1].clone())
        .collect();
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert_eq!(
        expected.len(),
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        "expected.tsv vs the bundle"
    );
    assert_eq!(
        certs.len(),
        expected.len(),
        "the bundle holds {} certificates, rootsift found {}",
        expected.len(),
        certs.len()
    );
    let expected = multiset(expected.into_iter().map(|f| (loc.to_string(), f)));
    let found = multiset(
        certs
            .iter()
            .map(|c| (loc.to_string(), field(c, "fingerprintSHA256").to_string())),
    );
    assert_multiset_eq("ca-certificates.crt alone", &expected, &found);
    assert!(
        entries(&doc, "partials").is_empty(),
        "partials in Debian's bundle: {:?}",
        entries(&doc, "partials")
    );
}

#[test]
fn sha1_fingerprints_equal_openssl() {
    let dir = fixtures();
    let sha1: std::collections::BTreeMap<String, String> = read_tsv(&dir.join("sha1.tsv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for c in entries(tree_scan(), "certificates") {
        let Some(want) = sha1.get(field(c, "fingerprintSHA256")) else {
            continue;
        };
        checked += 1;
        if c["fingerprintSHA1"].as_str() != Some(want) {
            wrong.push(format!(
                "{} {}: SHA-1 {} (openssl: {want})",
                field(c, "fileLocation"),
                field(c, "fingerprintSHA256"),
                c["fingerprintSHA1"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "SHA-1 fingerprints differ from openssl's:\n{}",
        wrong.join("\n")
    );
    assert!(
        checked > 300,
        "only {checked} certificates had a known SHA-1"
    );

    // And a few straight from openssl at test time.
    let tree = dir.join("tree");
    for (loc, form) in [
        ("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt", "pem"),
        ("/etc/pki/fixtures/root-ca.pem", "pem"),
        ("/etc/pki/der/v1.der", "der"),
    ] {
        let path = tree.join(loc.trim_start_matches('/'));
        let want = openssl_fingerprint(&path, form, "sha1");
        let at: Vec<&Value> = entries(tree_scan(), "certificates")
            .iter()
            .filter(|c| c["fileLocation"] == loc)
            .collect();
        assert_eq!(at.len(), 1, "{loc}: {} findings", at.len());
        assert_eq!(
            at[0]["fingerprintSHA1"].as_str(),
            Some(want.as_str()),
            "{loc}: SHA-1"
        );
        let want256 = openssl_fingerprint(&path, form, "sha256");
        assert_eq!(
            at[0]["fingerprintSHA256"].as_str(),
            Some(want256.as_str()),
            "{loc}: SHA-256"
        );
    }
}

#[test]
fn owner_is_the_rfc2253_subject() {
    let dir = fixtures();
    let tree = dir.join("tree");
    // ISRG Root X1's subject has only C, O and CN: Go's pkix.Name.String() and openssl's RFC 2253
    // agree on it ("CN=ISRG Root X1,O=Internet Security Research Group,C=US").
    let isrg = "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt";
    let want = openssl_subject_rfc2253(&tree.join(isrg.trim_start_matches('/')));
    assert_eq!(
        want, "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
        "openssl's view of ISRG Root X1"
    );
    let mut owners: Vec<(String, String)> = vec![(isrg.to_string(), want)];
    owners.extend(
        read_tsv(&dir.join("owners.tsv"))
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone())),
    );
    let mut wrong = Vec::new();
    for (loc, want) in &owners {
        let at: Vec<&Value> = entries(tree_scan(), "certificates")
            .iter()
            .filter(|c| c["fileLocation"] == loc.as_str())
            .collect();
        if at.is_empty() {
            wrong.push(format!("{loc}: no finding"));
        }
        for c in at {
            if c["owner"].as_str() != Some(want.as_str()) {
                wrong.push(format!(
                    "{loc}: owner {} (openssl RFC 2253: {want:?})",
                    c["owner"]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "owners:\n{}", wrong.join("\n"));
}

#[test]
fn offsets_are_where_the_certificates_start() {
    let dir = fixtures();
    let doc = tree_scan();
    let mut wrong = Vec::new();
    for row in read_tsv(&dir.join("offsets.tsv")) {
        let (loc, fp, offset) = (&row[0], &row[1], row[2].parse::<u64>().expect("offset"));
        let offsets: Vec<Option<u64>> = entries(doc, "certificates")
            .iter()
            .filter(|c| c["fileLocation"] == loc.as_str() && c["fingerprintSHA256"] == fp.as_str())
            .map(|c| c["offset"].as_u64())
            .collect();
        if !offsets.contains(&Some(offset)) {
            wrong.push(format!(
                "{loc} {fp}: expected offset {offset}, found {offsets:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "offsets (byte search / by construction in make.sh):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn symlinks_in_the_fixture_tree_are_really_there() {
    // Guards the fixture itself: if make.sh stopped making Debian's links, the test above proves nothing.
    let certs = fixtures().join("tree/etc/ssl/certs");
    let link = certs.join("ISRG_Root_X1.pem");
    let target = std::fs::read_link(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    assert_eq!(
        target,
        Path::new("/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")
    );
    let hash_links = std::fs::read_dir(&certs)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".0"))
        .count();
    assert!(
        hash_links > 100,
        "only {hash_links} HASH.0 links in {}",
        certs.display()
    );
}
