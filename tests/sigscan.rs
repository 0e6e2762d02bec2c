//! `rootsift sigscan fs` over real signed code (`tests/fixtures/signed.sh`): Debian's Secure Boot
//! binaries and signed kernel, Microsoft-signed DLLs with nested timestamped signatures (also inside
//! a wheel), PE files signed by osslsigncode and sbsign, JARs signed by jarsigner (RSA, EC, DSA,
//! three signers, a chain, a timestamp, inside a WAR), Debian's signed kernel modules, tampered and
//! unsigned copies. Every expected value comes from osslsigncode, sbverify, jarsigner, keytool,
//! modinfo, openssl or sha256sum (`target/fixtures/signed/expected/`), never from rootsift.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

fn signed_fixtures() -> PathBuf {
    let dir = fixtures_base().join("signed");
    assert!(
        dir.join("expected/authenticode.tsv").is_file(),
        "the signed-code fixtures are missing from {}: run `bash tests/fixtures/signed.sh`",
        dir.display()
    );
    dir
}

fn sigscan(extra: &[&str]) -> Value {
    let tree = signed_fixtures().join("tree");
    let mut args: Vec<&OsStr> = ["sigscan", "fs", "-o", "json"]
        .iter()
        .map(OsStr::new)
        .collect();
    args.extend(extra.iter().map(OsStr::new));
    args.push(tree.as_os_str());
    let run = run_rootsift(&args, SCAN_TIMEOUT);
    assert!(
        run.status.success(),
        "`{}`: {}",
        run.command,
        run.stderr_tail()
    );
    serde_json::from_slice(&run.stdout).expect("sigscan prints one JSON document")
}

/// A signature's identity: (path, format, index).
type Key = (String, String, u64);

/// The key of an expected row (`index` 0 when the format has one signature per file).
fn key(row: &BTreeMap<String, String>, format: &str) -> Key {
    let index = row.get("index").map_or(0, |i| i.parse().expect("index"));
    (row["location"].clone(), format.to_string(), index)
}

/// Each row with the signature found for it; a row with none is a difference.
fn matched<'r, 'd>(
    found: &BTreeMap<Key, &'d Value>,
    rows: impl IntoIterator<Item = &'r BTreeMap<String, String>>,
    format: &str,
    differences: &mut Vec<String>,
) -> Vec<(&'r BTreeMap<String, String>, &'d Value)> {
    let mut pairs = Vec::new();
    for row in rows {
        let key = key(row, format);
        match found.get(&key) {
            Some(sig) => pairs.push((row, *sig)),
            None => differences.push(format!("{key:?}: not reported")),
        }
    }
    pairs
}

fn assert_no_differences(differences: &[String]) {
    assert!(
        differences.is_empty(),
        "{} differences:\n  {}",
        differences.len(),
        differences.join("\n  ")
    );
}

/// (path, format, index) → the signature object.
fn by_key(doc: &Value) -> BTreeMap<Key, &Value> {
    let signatures = doc["filesystem"]["signatures"]
        .as_array()
        .expect("filesystem.signatures");
    let mut map = BTreeMap::new();
    for s in signatures {
        let key = (
            field(s, "path").to_string(),
            field(s, "format").to_string(),
            s["index"].as_u64().expect("index"),
        );
        assert!(
            map.insert(key.clone(), s).is_none(),
            "{key:?} reported twice"
        );
    }
    map
}

/// Expected TSV rows (after the `#` header) as maps from column name to value.
fn expected(name: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(signed_fixtures().join("expected").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .and_then(|h| h.strip_prefix('#'))
        .unwrap_or_else(|| panic!("{name} has no # header"))
        .split('\t')
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The attributes of a distinguished name, in a canonical order: `CN=a,OU=b+OU=c` (Go's
/// `pkix.Name` form, which rootsift prints, merging repeated types into one RDN) and openssl's RFC
/// 2253 `CN=a,OU=c,OU=b` name the same attributes.
fn dn_atoms(dn: &str) -> Vec<String> {
    let mut atoms = Vec::new();
    let mut current = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' | '+' => atoms.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    atoms.push(current);
    atoms.sort();
    atoms
}

fn text_or_dash(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| "-".to_string(), str::to_string)
}

fn seconds_or_dash(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| "-".to_string(), |t| iso_seconds(t).to_string())
}

/// Compares one expected row with the signature found, collecting every difference.
fn compare(
    row: &BTreeMap<String, String>,
    found: &Value,
    columns: &[(&str, &str)],
    differences: &mut Vec<String>,
) {
    for (column, key) in columns {
        let want = &row[*column];
        let got = match *key {
            "signingTime" | "timestampTime" => seconds_or_dash(&found[*key]),
            "nested" => u8::from(found[*key] == true).to_string(),
            "certificates" => found[*key].as_array().map_or(0, Vec::len).to_string(),
            "timestampKind" => text_or_dash(&found[*key]),
            "verified" => match found[*key].as_bool() {
                Some(true) => "ok".into(),
                Some(false) => "fail".into(),
                None => "-".into(),
            },
            _ => text_or_dash(&found[*key]),
        };
        let same = match *key {
            "subjectname" | "issuer" | "timestampSigner" => dn_atoms(&got) == dn_atoms(want),
            // The reference tools print these values trimmed.
            "programName" | "programUrl" => got.trim() == want.trim(),
            _ => &got == want,
        };
        if !same {
            differences.push(format!(
                "{} #{} {column}: expected {want:?}, found {got:?}",
                row["location"],
                row.get("index").map_or("0", String::as_str)
            ));
        }
    }
}

#[test]
fn authenticode_matches_osslsigncode_and_sbverify() {
    let doc = sigscan(&[]);
    let found = by_key(&doc);
    let rows = expected("authenticode.tsv");
    assert!(
        rows.len() >= 20,
        "only {} expected Authenticode signatures",
        rows.len()
    );
    let mut differences = Vec::new();
    for (row, sig) in matched(&found, &rows, "authenticode", &mut differences) {
        compare(
            row,
            sig,
            &[
                ("nested", "nested"),
                ("signer_subject", "subjectname"),
                ("signer_issuer", "issuer"),
                ("signer_serial", "serialNumber"),
                ("digest", "digestAlgorithm"),
                ("signing_time", "signingTime"),
                ("program_name", "programName"),
                ("program_url", "programUrl"),
                ("certificates", "certificates"),
                ("timestamp", "timestampKind"),
                ("timestamp_subject", "timestampSigner"),
                ("timestamp_time", "timestampTime"),
                ("verified", "verified"),
            ],
            &mut differences,
        );
    }
    let reported: BTreeSet<_> = found
        .keys()
        .filter(|k| k.1 == "authenticode")
        .cloned()
        .collect();
    let wanted: BTreeSet<_> = rows.iter().map(|r| key(r, "authenticode")).collect();
    for extra in reported.difference(&wanted) {
        differences.push(format!(
            "{extra:?}: reported, but the reference tools list no such signature"
        ));
    }
    assert_no_differences(&differences);
    // The tampered image is caught by its digest.
    let tampered = &found[&(
        "/opt/signtest/pe/tampered.efi".to_string(),
        "authenticode".to_string(),
        0,
    )];
    assert!(
        field(tampered, "verifyError").contains("image digest mismatch"),
        "{tampered}"
    );
}

#[test]
fn jar_signers_match_jarsigner() {
    let doc = sigscan(&[]);
    let found = by_key(&doc);
    let rows = expected("jar.tsv");
    assert!(rows.len() >= 8, "only {} expected JAR signers", rows.len());
    let mut differences = Vec::new();
    for (row, sig) in matched(&found, &rows, "jar", &mut differences) {
        compare(
            row,
            sig,
            &[
                ("name", "name"),
                ("signer_subject", "subjectname"),
                ("signer_issuer", "issuer"),
                ("signer_serial", "serialNumber"),
                ("digest", "digestAlgorithm"),
                ("certificates", "certificates"),
                ("timestamp_subject", "timestampSigner"),
                ("timestamp_time", "timestampTime"),
                ("verified", "verified"),
            ],
            &mut differences,
        );
        let timestamped = sig["timestampKind"].is_string();
        if timestamped != (row["timestamp"] == "yes") {
            differences.push(format!(
                "{:?}: timestamp {timestamped}, jarsigner says {}",
                key(row, "jar"),
                row["timestamp"]
            ));
        }
    }
    let reported = found.keys().filter(|k| k.1 == "jar").count();
    if reported != rows.len() {
        differences.push(format!(
            "{reported} JAR signers reported, {} expected",
            rows.len()
        ));
    }
    assert_no_differences(&differences);
}

#[test]
fn kernel_modules_match_modinfo() {
    let doc = sigscan(&[]);
    let found = by_key(&doc);
    let rows = expected("kmod.tsv");
    assert!(!rows.is_empty());
    let mut differences = Vec::new();
    // Compressed copies too (.ko.xz, .ko.zst): the signature is inside the compressed data.
    assert!(rows.iter().any(|r| r["compression"] != "none"));
    for (row, sig) in matched(&found, &rows, "kernel-module", &mut differences) {
        compare(
            row,
            sig,
            &[
                ("issuer", "issuer"),
                ("serial", "serialNumber"),
                ("digest", "digestAlgorithm"),
                ("certificates", "certificates"),
                ("verified", "verified"),
            ],
            &mut differences,
        );
    }
    assert_no_differences(&differences);
}

#[test]
fn digests_unsigned_files_and_no_verify() {
    let doc = sigscan(&[]);
    let digests: BTreeMap<String, String> = expected("digests.tsv")
        .into_iter()
        .map(|r| (r["location"].clone(), r["sha256"].clone()))
        .collect();
    let unsigned: BTreeSet<String> =
        std::fs::read_to_string(signed_fixtures().join("expected/unsigned.txt"))
            .expect("unsigned.txt")
            .lines()
            .map(str::to_string)
            .collect();
    let found = by_key(&doc);
    let mut checked = 0;
    for ((path, _, _), sig) in &found {
        assert!(
            !unsigned.contains(path),
            "{path} has no signature, yet one was reported"
        );
        // `digest` is the SHA-256 of the whole file (sha256sum), never of anything else.
        if let Some(want) = digests.get(path) {
            assert_eq!(field(sig, "digest"), want, "{path}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} digests compared");
    assert_eq!(doc["summary"]["errors"], 0);
    assert_eq!(
        doc["summary"]["signatures"].as_u64(),
        Some(found.len() as u64)
    );
    assert!(
        doc["summary"]["unsigned"].as_u64() >= Some(5),
        "{}",
        doc["summary"]
    );

    // --no-verify: the same signatures, none judged.
    let unverified = sigscan(&["--no-verify"]);
    let again = by_key(&unverified);
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        found.keys().collect::<Vec<_>>()
    );
    assert!(
        again.values().all(|s| s["verified"].is_null()),
        "--no-verify still verified something"
    );
}

#[test]
fn trust_roots_match_osslsigncode_chain_checks() {
    // osslsigncode verify -CAfile ANCHOR: "ok" when the digest, the signature and the chain to the
    // anchor all hold; rootsift's `verified` and `trusted` together must say the same.
    let expected_dir = signed_fixtures().join("expected");
    let rows: Vec<_> = expected("trusted.tsv")
        .into_iter()
        .filter(|r| r["tool"] == "osslsigncode")
        .collect();
    assert!(rows.len() >= 10, "only {} chain checks", rows.len());
    let anchors: BTreeSet<String> = rows.iter().map(|r| r["anchor"].clone()).collect();
    let mut differences = Vec::new();
    for anchor in &anchors {
        let file = match anchor.as_str() {
            "debian-ca" => expected_dir.join("debian-ca.der"),
            other => expected_dir.join("anchors").join(format!("{other}.der")),
        };
        let doc = sigscan(&["--trust-roots", file.to_str().expect("UTF-8 path")]);
        let found = by_key(&doc);
        assert!(
            found.values().all(|s| s["trusted"].is_boolean()),
            "every signature gets `trusted`"
        );
        let checks = rows.iter().filter(|r| &r["anchor"] == anchor);
        for (row, sig) in matched(&found, checks, "authenticode", &mut differences) {
            let ok = sig["verified"] == true && sig["trusted"] == true;
            if ok != (row["result"] == "ok") {
                differences.push(format!(
                    "{:?} with {anchor}: osslsigncode says {}, rootsift verified {} trusted {}",
                    key(row, "authenticode"),
                    row["result"],
                    sig["verified"],
                    sig["trusted"]
                ));
            }
        }
    }
    assert_no_differences(&differences);
}
