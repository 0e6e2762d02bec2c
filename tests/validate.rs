//! `rootsift validate` with Paranoia's `.paranoia.yaml` policies: the examples from Paranoia's
//! README and repository verbatim, strict and permissive modes, rootsift's extensions, broken
//! policies (exit 2 with one line naming the line), and `--quiet`. Expected fingerprints come from
//! openssl and from certifi's releases (`tests/fixtures/mozilla.sh`), never from rootsift.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Writes `policy` next to the tests' temporary files and runs `rootsift validate -c POLICY
/// ARGS… TARGET`.
fn validate(dir: &Path, policy: &str, args: &[&str], target: &Path) -> Run {
    let path = dir.join("policy.yaml");
    std::fs::write(&path, policy).expect("policy written");
    let mut all: Vec<&OsStr> = vec![OsStr::new("validate"), OsStr::new("-c"), path.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    all.push(target.as_os_str());
    run_rootsift(&all, SCAN_TIMEOUT)
}

fn code(run: &Run) -> i32 {
    run.status.code().unwrap_or(-1)
}

fn stdout(run: &Run) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn json(run: &Run) -> Value {
    serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("`{}` printed no JSON: {e}\n{}", run.command, run.stderr))
}

fn fingerprints(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|e| field(e, "fingerprintSHA256").to_string())
        .collect()
}

/// A certificate made by openssl in `dir`, and its SHA-256 and SHA-1 fingerprints.
fn private_certificate(dir: &Path) -> (PathBuf, String, String) {
    let pem = dir.join("internal.pem");
    let sha256 = openssl_self_signed(
        &pem,
        &dir.join("internal.key"),
        "/CN=Internal Test CA/O=Rootsift Tests",
    );
    let sha1 = openssl_fingerprint(&pem, "pem", "sha1");
    (pem, sha256, sha1)
}

#[test]
fn paranoia_readme_forbid_example_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let (pem, sha256, sha1) = private_certificate(dir.path());
    std::fs::copy(&pem, tree.join("internal.pem")).unwrap();
    // From Paranoia's README, byte for byte.
    let readme = "version: \"1\"
forbid:
  - comment: \"An internal-only cert\"
    fingerprints:
      sha256: bd40be0eccfce513ab318882f03962e4e2ec3799b51392e82805d9249e426d28
";
    // Strict mode: with no allow list, every certificate found is not allowed (as in Paranoia).
    let run = validate(dir.path(), readme, &[], &tree);
    assert_eq!(code(&run), 1, "{}", run.stderr);
    let text = stdout(&run);
    assert!(text.starts_with("Validating certificates with 0 allowed, 1 forbidden and 0 required entries, strict mode\n"), "{text}");
    assert!(
        text.contains(&format!(
            "Certificate with SHA256 fingerprint {} in location /internal.pem was not allowed",
            sha256.to_uppercase()
        )),
        "{text}"
    );
    // Permissive: only the forbid list counts, and that certificate is not here.
    let run = validate(dir.path(), readme, &["--permissive"], &tree);
    assert_eq!(code(&run), 0, "{}\n{}", stdout(&run), run.stderr);
    assert!(
        stdout(&run).contains("Scanned 1 certificates in"),
        "{}",
        stdout(&run)
    );

    // The same policy naming the certificate that is here, by SHA-256 in capitals and by SHA-1.
    for (algorithm, value) in [("sha256", sha256.to_uppercase()), ("sha1", sha1.clone())] {
        let policy = readme.replace("sha256", algorithm).replace(
            "bd40be0eccfce513ab318882f03962e4e2ec3799b51392e82805d9249e426d28",
            &value,
        );
        let run = validate(dir.path(), &policy, &["--permissive"], &tree);
        assert_eq!(code(&run), 1, "{algorithm}: {}", stdout(&run));
        assert!(
            stdout(&run).contains("was forbidden! Comment: An internal-only cert"),
            "{}",
            stdout(&run)
        );
        // --quiet keeps the report but not the failure, as in Paranoia.
        let run = validate(dir.path(), &policy, &["--permissive", "--quiet"], &tree);
        assert_eq!(code(&run), 0);
        assert!(stdout(&run).contains("was forbidden!"));
    }
}

#[test]
fn paranoia_repository_require_policy_verbatim() {
    // Paranoia's own `.paranoia.yaml`.
    let policy = "version: \"1\"
require:
  - fingerprints:
      sha256: 4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161
    comment: \"DigiCert Global Root, required for fetching Mozilla CA list\"
";
    let mozilla = fixtures().join("tree/usr/share/ca-certificates/mozilla");
    let present: BTreeSet<String> = std::fs::read_dir(&mozilla)
        .unwrap()
        .map(|e| openssl_fingerprint(&e.unwrap().path(), "pem", "sha256"))
        .collect();
    let required = "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161";
    let dir = tempfile::tempdir().unwrap();
    let run = validate(
        dir.path(),
        policy,
        &["--permissive", "-o", "json"],
        &mozilla,
    );
    let doc = json(&run);
    assert_eq!(doc["passed"], present.contains(required), "{doc}");
    assert_eq!(code(&run), if present.contains(required) { 0 } else { 1 });
    // In strict mode a require entry also allows its certificate; everything else is not allowed.
    let run = validate(dir.path(), policy, &["-o", "json"], &mozilla);
    let doc = json(&run);
    let mut expected = present.clone();
    expected.remove(required);
    assert_eq!(fingerprints(&doc["notAllowed"]), expected);
    assert_eq!(code(&run), 1);

    // A directory without it: the requirement fails, naming the entry's line and comment.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = validate(dir.path(), policy, &["--permissive"], &empty);
    assert_eq!(code(&run), 1);
    let text = stdout(&run);
    assert!(text.contains("was required, but was not found. Comment: DigiCert Global Root, required for fetching Mozilla CA list (policy line 3)"), "{text}");
}

#[test]
fn mozilla_extensions_match_certifis_history() {
    let (old, removed, _) = certifi_history();
    // "Allow everything Mozilla currently includes; forbid what Mozilla removed."
    let policy = "version: \"1\"
allow:
  - mozilla: included
    comment: Mozilla's current roots
forbid:
  - mozilla: removed
    comment: Mozilla removed it
";
    let tmp = tempfile::tempdir().unwrap();
    let run = validate(tmp.path(), policy, &["-o", "json"], &old);
    assert_eq!(code(&run), 1);
    let doc = json(&run);
    assert_eq!(fingerprints(&doc["forbidden"]), removed);
    assert_eq!(fingerprints(&doc["notAllowed"]), removed);
    assert_eq!(doc["forbidden"][0]["rule"]["line"], 6);

    // Selectors by subject and issuer pattern, and `expired`.
    let policy = "version: \"1\"
allow:
  - subject: '^CN=Internal Test CA,'
    issuer: 'O=Rootsift Tests'
forbid:
  - expired: true
";
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let (pem, sha256, _) = private_certificate(tmp.path());
    std::fs::copy(&pem, tree.join("ca.pem")).unwrap();
    let run = validate(tmp.path(), policy, &[], &tree);
    assert_eq!(code(&run), 0, "{}", stdout(&run));
    // Ten years on it has expired.
    let run = validate(
        tmp.path(),
        policy,
        &["--now", "2040-01-01", "-o", "json"],
        &tree,
    );
    assert_eq!(code(&run), 1);
    assert_eq!(
        fingerprints(&json(&run)["forbidden"]),
        BTreeSet::from([sha256])
    );
}

#[test]
fn broken_policies_are_errors_that_name_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path();
    let valid = "4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161";
    let cases = [
        (format!("allow:\n  - fingerprints:\n      sha256: {valid}\n"), "line 1", "version"),
        (format!("version: \"2\"\nallow:\n  - fingerprints:\n      sha256: {valid}\n"), "line 1", "version"),
        (format!("version: \"1\"\nalow:\n  - fingerprints:\n      sha256: {valid}\n"), "line 2", "alow"),
        (format!("version: \"1\"\nallow:\n  - fingerprints:\n      sha256: {valid}\n    coment: typo\n"), "line 5", "coment"),
        ("version: \"1\"\nforbid:\n  - fingerprints:\n      sha256: abc\n".to_string(), "line 4", "64 hex digits"),
        ("version: \"1\"\nforbid:\n  - fingerprints:\n      sha1: zz00000000000000000000000000000000000000\n".to_string(), "line 4", "sha1"),
        ("version: \"1\"\nallow:\n  - subject: '(unclosed'\n".to_string(), "line 3", "subject"),
        ("version: \"1\"\nallow: [\n".to_string(), "line 3", ""),
    ];
    for (policy, line, word) in &cases {
        let run = validate(tmp.path(), policy, &[], target);
        assert_eq!(code(&run), 2, "policy {policy:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "one line for {policy:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!("{line},")) && run.stderr.contains(word),
            "policy {policy:?}: wanted {line:?} and {word:?} in {:?}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "nothing on stdout for a broken policy"
        );
    }
    // A missing policy file is an error too.
    let run = run_rootsift(
        [
            OsStr::new("validate"),
            OsStr::new("-c"),
            tmp.path().join("nope.yaml").as_os_str(),
            target.as_os_str(),
        ],
        SCAN_TIMEOUT,
    );
    assert_eq!(code(&run), 2);
}
