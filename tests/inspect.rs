//! `rootsift inspect` against real certificates, with expectations from openssl and from certifi's
//! own releases, never from rootsift:
//!
//! - Debian's Mozilla roots judged against a fixed clock: the expired and soon-expiring sets are the
//!   ones openssl's `notAfter` dates give;
//! - an old certifi bundle: the roots Mozilla removed since are exactly those the newest certifi
//!   release no longer carries (`tests/fixtures/mozilla.sh`);
//! - certificates made here by openssl: a private root, a weak RSA-1024 leaf signed with SHA-1, a
//!   leaf dropped into a trust store;
//! - the exit codes of `--fail-on`, `--mozilla-data` with a CCADB-shaped CSV, and a run with no
//!   network at all (`unshare -n`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// `rootsift inspect -o json ARGS…`: asserts the exit code and returns the document.
fn inspect_json(args: &[&OsStr], expected_code: i32) -> Value {
    let mut all: Vec<&OsStr> = vec![OsStr::new("inspect"), OsStr::new("-o"), OsStr::new("json")];
    all.extend_from_slice(args);
    let run = run_rootsift(&all, SCAN_TIMEOUT);
    assert_eq!(
        run.status.code(),
        Some(expected_code),
        "`{}` exited with {}\n--- stderr ---\n{}",
        run.command,
        run.status,
        run.stderr_tail()
    );
    serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` printed no JSON document: {e}", run.command))
}

/// sha256 → the issue kinds inspect gave that certificate (from every entry holding it).
fn issue_kinds(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut kinds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in entries(doc, "certificates") {
        let set = kinds
            .entry(field(entry, "fingerprintSHA256").to_string())
            .or_default();
        for issue in entry["issues"]
            .as_array()
            .unwrap_or_else(|| panic!("certificate entry without `issues`: {entry}"))
        {
            set.insert(field(issue, "kind").to_string());
            let level = field(issue, "level");
            assert!(
                level == "error" || level == "warning",
                "odd level in {issue}"
            );
            assert!(
                !field(issue, "message").is_empty(),
                "issue without a message: {issue}"
            );
        }
    }
    kinds
}

fn with_kind(kinds: &BTreeMap<String, BTreeSet<String>>, kind: &str) -> BTreeSet<String> {
    kinds
        .iter()
        .filter(|(_, k)| k.contains(kind))
        .map(|(fp, _)| fp.clone())
        .collect()
}

fn run_openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn debian_roots_expiry_against_a_fixed_clock_matches_openssl() {
    let mozilla = fixtures().join("tree/usr/share/ca-certificates/mozilla");
    let mut roots = Vec::new();
    for entry in std::fs::read_dir(&mozilla).expect("Debian's roots in the fixture tree") {
        let path = entry.expect("directory entry").path();
        let out = openssl(&[
            OsStr::new("x509"),
            OsStr::new("-in"),
            path.as_os_str(),
            OsStr::new("-noout"),
            OsStr::new("-enddate"),
            OsStr::new("-dateopt"),
            OsStr::new("iso_8601"),
        ]);
        let not_after = iso_seconds(out.trim().trim_start_matches("notAfter="));
        roots.push((not_after, openssl_fingerprint(&path, "pem", "sha256")));
    }
    roots.sort();
    assert!(
        roots.len() > 100,
        "Debian's bundle has {} roots",
        roots.len()
    );
    // A clock one day after the first root expires, and a window reaching one day past the next
    // expiry: whatever release of Debian's bundle this is, both sets are non-empty.
    let day = 86_400;
    let now = (roots[0].0 / day + 1) * day;
    let next = roots
        .iter()
        .find(|(t, _)| *t >= now)
        .expect("a root still valid")
        .0;
    let window_days = (next - now) / day + 1;
    let window = window_days * day;
    let expired: BTreeSet<String> = roots
        .iter()
        .filter(|(t, _)| *t < now)
        .map(|r| r.1.clone())
        .collect();
    let expiring: BTreeSet<String> = roots
        .iter()
        .filter(|(t, _)| *t >= now && *t - now <= window)
        .map(|r| r.1.clone())
        .collect();
    let all: BTreeSet<String> = roots.iter().map(|r| r.1.clone()).collect();

    let clock = format!("@{now}");
    let clock = rfc3339_via_date(&clock);
    let window_arg = format!("{window_days}d");
    let judge = |extra: &[&str], code: i32| {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("--now"),
            OsStr::new(&clock),
            OsStr::new("--expiry-window"),
            OsStr::new(&window_arg),
        ];
        args.extend(extra.iter().map(OsStr::new));
        args.push(mozilla.as_os_str());
        inspect_json(&args, code)
    };
    let doc = judge(&[], 0);
    let kinds = issue_kinds(&doc);
    assert_eq!(kinds.keys().cloned().collect::<BTreeSet<_>>(), all);
    assert_eq!(
        with_kind(&kinds, "expired"),
        expired,
        "expired roots at {clock}"
    );
    assert_eq!(
        with_kind(&kinds, "expiring_soon"),
        expiring,
        "roots expiring within {window_days} days of {clock}"
    );
    assert!(with_kind(&kinds, "not_yet_valid").is_empty());
    // Every Debian root is a Mozilla root: none is unknown, none is a non-CA in a trust store.
    assert!(with_kind(&kinds, "unknown_root").is_empty(), "{kinds:?}");
    assert!(with_kind(&kinds, "not_a_ca").is_empty(), "{kinds:?}");
    assert_eq!(doc["inspection"]["now"], clock.as_str());

    // --fail-on: expired roots are errors, soon-expiring ones warnings.
    judge(&["--fail-on", "error"], 1);
    judge(&["--fail-on", "warning"], 1);
}

/// `date -u -d @SECONDS +%Y-%m-%dT%H:%M:%SZ`: the clock as coreutils writes it.
fn rfc3339_via_date(at: &str) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", at, "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date runs");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_string()
}

#[test]
fn roots_removed_by_mozilla_are_those_newer_certifi_dropped() {
    let (old, removed, kept) = certifi_history();

    let doc = inspect_json(&[old.as_os_str()], 0);
    let kinds = issue_kinds(&doc);
    assert_eq!(
        with_kind(&kinds, "removed_from_mozilla"),
        removed,
        "roots flagged as removed vs roots the newest certifi no longer carries"
    );
    for fp in &kept {
        let k = &kinds[fp];
        assert!(
            !k.contains("removed_from_mozilla") && !k.contains("unknown_root"),
            "{fp} is still in Mozilla's store but was flagged {k:?}"
        );
    }
    // Removals are errors.
    inspect_json(
        &[
            OsStr::new("--fail-on"),
            OsStr::new("error"),
            old.as_os_str(),
        ],
        1,
    );
}

/// A tree of certificates made by openssl: a private root, a weak leaf it signed with SHA-1, and a
/// strong leaf placed in `etc/ssl/certs/` (a trust store) although it is no CA.
struct Made {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    ca_fp: String,
    weak_fp: String,
    leaf_fp: String,
}

fn make_tree() -> Made {
    let dir = tempfile::tempdir().expect("temporary directory");
    let d = dir.path();
    let days = "3650";
    run_openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Inspect Private Root/O=Rootsift Tests",
            "-days",
            days,
            "-sha256",
        ],
    );
    std::fs::write(d.join("leaf.ext"), "basicConstraints=CA:FALSE\n").unwrap();
    run_openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:1024",
            "-nodes",
            "-keyout",
            "weak.key",
            "-out",
            "weak.csr",
            "-subj",
            "/CN=weak.inspect.test",
        ],
    );
    run_openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "weak.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "weak.pem",
            "-days",
            days,
            "-sha1",
            "-extfile",
            "leaf.ext",
        ],
    );
    run_openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=leaf.inspect.test",
        ],
    );
    run_openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            days,
            "-sha256",
            "-extfile",
            "leaf.ext",
        ],
    );
    let root = d.join("root");
    std::fs::create_dir_all(root.join("etc/ssl/certs")).unwrap();
    std::fs::create_dir_all(root.join("srv/tls")).unwrap();
    std::fs::copy(d.join("ca.pem"), root.join("srv/tls/private-root.pem")).unwrap();
    std::fs::copy(d.join("weak.pem"), root.join("srv/tls/weak.pem")).unwrap();
    std::fs::copy(d.join("leaf.pem"), root.join("etc/ssl/certs/leaf.pem")).unwrap();
    Made {
        ca_fp: openssl_fingerprint(&d.join("ca.pem"), "pem", "sha256"),
        weak_fp: openssl_fingerprint(&d.join("weak.pem"), "pem", "sha256"),
        leaf_fp: openssl_fingerprint(&d.join("leaf.pem"), "pem", "sha256"),
        root,
        _dir: dir,
    }
}

#[test]
fn private_root_weak_leaf_and_trust_store_hygiene() {
    let made = make_tree();
    let doc = inspect_json(&[made.root.as_os_str()], 0);
    let kinds = issue_kinds(&doc);
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        kinds[&made.ca_fp],
        set(&["unknown_root"]),
        "the private root"
    );
    assert_eq!(
        kinds[&made.weak_fp],
        set(&["weak_key", "weak_signature"]),
        "RSA-1024 leaf signed with SHA-1"
    );
    assert_eq!(
        kinds[&made.leaf_fp],
        set(&["not_a_ca"]),
        "a leaf in /etc/ssl/certs"
    );
    let weak = entries(&doc, "certificates")
        .iter()
        .find(|e| field(e, "fingerprintSHA256") == made.weak_fp)
        .expect("the weak leaf is reported");
    let levels: BTreeMap<&str, &str> = weak["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (field(i, "kind"), field(i, "level")))
        .collect();
    assert_eq!(levels["weak_key"], "error");
    assert!(field(&weak["issues"][0], "message").contains("1024"));
    assert_eq!(doc["summary"]["certificatesWithIssues"], 3);

    // --fail-on error fails on the weak key; a tree of only warnings passes it and fails `warning`.
    inspect_json(
        &[
            OsStr::new("--fail-on"),
            OsStr::new("error"),
            made.root.as_os_str(),
        ],
        1,
    );
    let root_only = made.root.join("srv/tls/private-root.pem");
    inspect_json(
        &[
            OsStr::new("--fail-on"),
            OsStr::new("error"),
            root_only.as_os_str(),
        ],
        0,
    );
    inspect_json(
        &[
            OsStr::new("--fail-on"),
            OsStr::new("warning"),
            root_only.as_os_str(),
        ],
        1,
    );

    // SARIF: one result per issue and location; CycloneDX: one component per certificate.
    let document = |format: &str| -> Value {
        let run = run_rootsift(
            ["inspect", "-o", format]
                .iter()
                .map(OsStr::new)
                .chain([made.root.as_os_str()]),
            SCAN_TIMEOUT,
        );
        assert!(run.status.success(), "{}: {}", run.command, run.stderr);
        serde_json::from_slice(&run.stdout).expect("a JSON document")
    };
    let sarif = document("sarif");
    let results = sarif["runs"][0]["results"]
        .as_array()
        .expect("SARIF results");
    let rules: BTreeSet<&str> = results.iter().map(|r| field(r, "ruleId")).collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(
        rules,
        BTreeSet::from(["not_a_ca", "unknown_root", "weak_key", "weak_signature"])
    );
    let bom = document("cyclonedx");
    let certificates = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["cryptoProperties"]["assetType"] == "certificate")
        .count();
    assert_eq!(certificates, 3);

    // The table names every flagged certificate and where it is.
    let run = run_rootsift(
        ["inspect", "-o", "table"]
            .iter()
            .map(OsStr::new)
            .chain([made.root.as_os_str()]),
        SCAN_TIMEOUT,
    );
    let table = String::from_utf8_lossy(&run.stdout);
    for needle in [
        "unknown_root",
        "weak_key",
        "weak_signature",
        "not_a_ca",
        "/etc/ssl/certs/leaf.pem",
        &made.ca_fp,
    ] {
        assert!(table.contains(needle), "table lacks {needle}:\n{table}");
    }
}

#[test]
fn ccadb_removed_ca_csv_marks_a_root_removed() {
    let made = make_tree();
    // The columns CCADB's "Removed CA Certificate Report" CSV has, with an uppercase, colon-separated
    // fingerprint as some exports write it.
    let colons: Vec<String> = made
        .ca_fp
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let csv = format!(
        "\"CA Owner\",\"Root Certificate Name\",\"SHA-256 Fingerprint\",\"Removal Bug No. or Date\",\"Comments\"\n\
         \"Rootsift Tests\",\"Inspect Private Root\",\"{}\",\"2024-01-02\",\"Distrusted, see bug 1\"\n",
        colons.join(":")
    );
    let csv_path = made.root.parent().unwrap().join("removed.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let root_only = made.root.join("srv/tls/private-root.pem");
    let doc = inspect_json(
        &[
            OsStr::new("--mozilla-data"),
            csv_path.as_os_str(),
            root_only.as_os_str(),
        ],
        0,
    );
    let entry = &entries(&doc, "certificates")[0];
    let removed = entry["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| field(i, "kind") == "removed_from_mozilla")
        .unwrap_or_else(|| panic!("no removal issue: {entry}"));
    let message = field(removed, "message");
    assert!(
        message.contains("2024-01-02") && message.contains("Distrusted, see bug 1"),
        "{message}"
    );

    // A CSV without the fingerprint column is an error (exit 2), with one line naming the problem.
    std::fs::write(&csv_path, "\"CA Owner\",\"Comments\"\n\"x\",\"y\"\n").unwrap();
    let run = run_rootsift(
        [
            OsStr::new("inspect"),
            OsStr::new("--mozilla-data"),
            csv_path.as_os_str(),
            root_only.as_os_str(),
        ],
        SCAN_TIMEOUT,
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("SHA-256 Fingerprint"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn inspect_needs_no_network() {
    let made = make_tree();
    let with_network = inspect_json(
        &[
            OsStr::new("--now"),
            OsStr::new("2030-01-01"),
            made.root.as_os_str(),
        ],
        0,
    );
    // The same run inside a new network namespace: no interface but a down loopback.
    let out = Command::new("unshare")
        .args(["-n", "--"])
        .arg(env!("CARGO_BIN_EXE_rootsift"))
        .args(["inspect", "-o", "json", "--now", "2030-01-01"])
        .arg(&made.root)
        .output()
        .expect("unshare runs (util-linux; the test needs root)");
    assert!(
        out.status.success(),
        "inspect under `unshare -n` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline: Value = serde_json::from_slice(&out.stdout).expect("JSON from the offline run");
    assert_eq!(issue_kinds(&offline), issue_kinds(&with_network));
    assert!(!issue_kinds(&offline).is_empty());
}
