//! Shared helpers for the integration tests that run the `rootsift` binary against real material.
//!
//! The material and its ground truth are made by `tests/fixtures/make.sh` (certificates, stores,
//! archives, odd places; expectations computed by openssl and keytool) and `tests/fixtures/rootfs.sh`
//! (a debootstrapped Debian rootfs). Neither is ever computed by rootsift. A missing fixture is a
//! test failure with instructions, never a silent skip.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod registry;

/// How long one scan may take before the watchdog kills it and fails the test.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(120);

/// (fileLocation, fingerprintSHA256) → how many times it occurs.
pub type Multiset = BTreeMap<(String, String), usize>;

/// The directory `make.sh` writes to: `$ROOTSIFT_FIXTURES`, else `<crate>/target/fixtures`.
/// Not checked; see [`fixtures`] and [`rootfs`].
pub fn fixtures_base() -> PathBuf {
    match std::env::var_os("ROOTSIFT_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("fixtures"),
    }
}

/// The fixtures made by `tests/fixtures/make.sh`; panics with instructions when they are missing.
pub fn fixtures() -> PathBuf {
    let dir = fixtures_base();
    let needed = [
        "tree",
        "expected.tsv",
        "expected-partials.tsv",
        "expected-clean.tsv",
        "sha1.tsv",
        "owners.tsv",
        "offsets.tsv",
    ];
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|n| !dir.join(n).exists())
        .collect();
    if !missing.is_empty() {
        panic!(
            "the certificate fixtures are missing from {} ({}).\n\
             Build them first (needs openssl, a JDK, gcc, xxd, zip, dpkg-deb and apt; see the script's first line):\n\
             \n    bash tests/fixtures/make.sh{}\n\n\
             (set ROOTSIFT_FIXTURES to use another directory)",
            dir.display(),
            missing.join(", "),
            if std::env::var_os("ROOTSIFT_FIXTURES").is_some() {
                format!(" {}", dir.display())
            } else {
                String::new()
            },
        );
    }
    dir
}

/// The Debian rootfs made by `tests/fixtures/rootfs.sh`: `$ROOTSIFT_ROOTFS`, else
/// `<fixtures>/rootfs`; panics with instructions when it is missing.
pub fn rootfs() -> PathBuf {
    let dir = match std::env::var_os("ROOTSIFT_ROOTFS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => fixtures_base().join("rootfs"),
    };
    if !dir.join("etc/ssl/certs/ca-certificates.crt").is_file() {
        panic!(
            "the Debian rootfs fixture is missing: {} has no etc/ssl/certs/ca-certificates.crt.\n\
             Build it first (as root, needs debootstrap and the Debian mirror, about a minute):\n\
             \n    bash tests/fixtures/rootfs.sh {}\n",
            dir.display(),
            dir.display(),
        );
    }
    dir
}

/// What one run of the binary gave.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl Run {
    pub fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let from = lines.len().saturating_sub(40);
        lines[from..].join("\n")
    }
}

/// Runs `rootsift ARGS…` under a watchdog: the child is killed and the test fails if it has not
/// exited after `timeout`. stdout and stderr are drained by threads, so a large output never
/// blocks the child.
pub fn run_rootsift<I, S>(args: I, timeout: Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_rootsift_with_stdin(args, Stdio::null(), timeout)
}

/// [`run_rootsift`] with the child's standard input given (a file, for `rootsift scan -`).
pub fn run_rootsift_with_stdin<I, S>(args: I, stdin: Stdio, timeout: Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let command = std::iter::once("rootsift".to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rootsift"))
        .args(&args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr =
                    String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
                panic!(
                    "`{command}` did not finish within {} s and was killed (a hang: a FIFO, a device node, \
                     a symlink loop?)\n--- stderr (tail) ---\n{}",
                    timeout.as_secs(),
                    tail(&stderr, 40)
                );
            }
            Ok(None) => thread::sleep(Duration::from_millis(25)),
            Err(e) => panic!("waiting for `{command}`: {e}"),
        }
    };
    let elapsed = start.elapsed();
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    Run {
        status,
        stdout,
        stderr,
        elapsed,
        command,
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `rootsift scan -o json EXTRA… TARGET` under the watchdog; asserts exit code 0 and returns the
/// parsed document.
pub fn scan_json(target: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<std::ffi::OsString> = vec!["scan".into(), "-o".into(), "json".into()];
    args.extend(extra.iter().map(Into::into));
    args.push(target.as_os_str().to_os_string());
    let run = run_rootsift(&args, SCAN_TIMEOUT);
    assert!(
        run.status.success(),
        "`{}` exited with {} (expected 0: the scan completes)\n--- stderr (tail) ---\n{}",
        run.command,
        run.status,
        run.stderr_tail()
    );
    let doc: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&run.stdout);
        panic!(
            "`{}` printed no valid JSON document: {e}\n--- stdout (first 2000 chars) ---\n{}\n--- stderr (tail) ---\n{}",
            run.command,
            text.chars().take(2000).collect::<String>(),
            run.stderr_tail()
        )
    });
    for key in ["certificates", "partials", "errors"] {
        assert!(
            doc[key].is_array(),
            "`{}`: the JSON has no `{key}` array: {}",
            run.command,
            abbreviate(&doc)
        );
    }
    assert!(
        doc["summary"].is_object(),
        "`{}`: the JSON has no `summary` object",
        run.command
    );
    doc
}

fn abbreviate(doc: &Value) -> String {
    doc.to_string().chars().take(1000).collect()
}

/// The entries of a top-level array (`certificates`, `partials`, `errors`).
pub fn entries<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no `{key}` array in the JSON"))
}

/// A string field of an entry; panics, naming the entry, when it is absent.
pub fn field<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key]
        .as_str()
        .unwrap_or_else(|| panic!("entry without a string `{key}`: {entry}"))
}

/// Counts the pairs.
pub fn multiset<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Multiset {
    let mut set = Multiset::new();
    for key in pairs {
        *set.entry(key).or_default() += 1;
    }
    set
}

/// The multiset of (fileLocation, fingerprintSHA256) of the certificates in a scan.
pub fn found_certificates(doc: &Value) -> Multiset {
    let mut set = Multiset::new();
    for c in entries(doc, "certificates") {
        let key = (
            field(c, "fileLocation").to_string(),
            field(c, "fingerprintSHA256").to_string(),
        );
        *set.entry(key).or_default() += 1;
    }
    set
}

/// The multiset of (fileLocation, parser) of the partials in a scan.
pub fn found_partials(doc: &Value) -> Multiset {
    let mut set = Multiset::new();
    for p in entries(doc, "partials") {
        let key = (
            field(p, "fileLocation").to_string(),
            field(p, "parser").to_string(),
        );
        *set.entry(key).or_default() += 1;
    }
    set
}

/// Reads a TSV file of the fixtures (no header; UTF-8; `\t` between fields).
pub fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// A two-column TSV file as a multiset.
pub fn read_multiset(path: &Path) -> Multiset {
    let mut set = Multiset::new();
    for row in read_tsv(path) {
        assert_eq!(row.len(), 2, "{}: not two columns: {row:?}", path.display());
        *set.entry((row[0].clone(), row[1].clone())).or_default() += 1;
    }
    set
}

/// What `expected` has and `found` lacks, and the reverse, each as "LOCATION<TAB>VALUE" lines
/// (repeated as often as the count differs).
pub fn multiset_diff(expected: &Multiset, found: &Multiset) -> (Vec<String>, Vec<String>) {
    let mut missing = Vec::new();
    let mut unexpected = Vec::new();
    for (key, &n) in expected {
        let m = found.get(key).copied().unwrap_or(0);
        for _ in m..n {
            missing.push(format!("{}\t{}", key.0, key.1));
        }
    }
    for (key, &m) in found {
        let n = expected.get(key).copied().unwrap_or(0);
        for _ in n..m {
            unexpected.push(format!("{}\t{}", key.0, key.1));
        }
    }
    (missing, unexpected)
}

/// Panics with a readable diff unless the two multisets are equal.
pub fn assert_multiset_eq(what: &str, expected: &Multiset, found: &Multiset) {
    let (missing, unexpected) = multiset_diff(expected, found);
    if missing.is_empty() && unexpected.is_empty() {
        return;
    }
    let total_expected: usize = expected.values().sum();
    let total_found: usize = found.values().sum();
    let mut msg = format!(
        "{what}: rootsift's findings differ from the ground truth \
         ({total_expected} expected, {total_found} found; {} missing, {} unexpected)\n",
        missing.len(),
        unexpected.len()
    );
    msg.push_str("--- missing (expected, not found) ---\n");
    for line in &missing {
        msg.push_str(&format!("- {line}\n"));
    }
    msg.push_str("--- unexpected (found, not expected) ---\n");
    for line in &unexpected {
        msg.push_str(&format!("+ {line}\n"));
    }
    panic!("{msg}");
}

/// The file part of a location: everything before the first `!/` (archive members follow it).
pub fn outer_path(location: &str) -> &str {
    location.split("!/").next().unwrap_or(location)
}

/// Every certificate and partial names a location that starts with `/`, has no `..` or `.`
/// component, and whose file part is a regular file inside `root` (checked with lstat: never a
/// symlink, a device, a FIFO or a socket, never a path outside the root).
pub fn assert_locations_confined(doc: &Value, root: &Path) {
    let mut bad = Vec::new();
    for key in ["certificates", "partials"] {
        for entry in entries(doc, key) {
            let loc = field(entry, "fileLocation");
            let outer = outer_path(loc);
            let problem = if !loc.starts_with('/') {
                Some("does not start with /".to_string())
            } else if loc.split('/').any(|c| c == ".." || c == ".") {
                Some("has a `.` or `..` component".to_string())
            } else {
                let on_disk = root.join(outer.trim_start_matches('/'));
                match std::fs::symlink_metadata(&on_disk) {
                    Ok(m) if m.file_type().is_file() => None,
                    Ok(m) if m.file_type().is_symlink() => Some(format!(
                        "{} is a symlink (must never be followed)",
                        on_disk.display()
                    )),
                    Ok(m) => Some(format!(
                        "{} is not a regular file ({:?})",
                        on_disk.display(),
                        m.file_type()
                    )),
                    Err(e) => Some(format!(
                        "{} does not exist in the scanned root: {e}",
                        on_disk.display()
                    )),
                }
            };
            if let Some(p) = problem {
                bad.push(format!("{key}: {loc}: {p}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "locations outside the scanned root or not regular files:\n{}",
        bad.join("\n")
    );
}

/// Panics listing the errors, unless the scan reported none.
pub fn assert_no_errors(doc: &Value) {
    let errors = entries(doc, "errors");
    assert!(
        errors.is_empty(),
        "the scan reported {} error(s), expected none:\n{}",
        errors.len(),
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs `openssl ARGS…` and returns its stdout; panics (naming the missing package) on failure.
pub fn openssl(args: &[&OsStr]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run openssl ({e}): install it (apt-get install openssl); the tests need it for ground truth")
    });
    assert!(
        out.status.success(),
        "openssl {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("openssl printed UTF-8")
}

/// A fresh self-signed EC P-256 certificate made by `openssl req -x509 -utf8`: PEM at `cert`, its
/// key at `key` (keep it out of a tree that is scanned), `subject` in openssl's `/K=V/…` form
/// (UTF-8, control characters and all), valid for 30 days. Returns openssl's SHA-256 of it.
pub fn openssl_self_signed(cert: &Path, key: &Path, subject: &str) -> String {
    openssl(&[
        OsStr::new("req"),
        OsStr::new("-x509"),
        OsStr::new("-newkey"),
        OsStr::new("ec"),
        OsStr::new("-pkeyopt"),
        OsStr::new("ec_paramgen_curve:P-256"),
        OsStr::new("-nodes"),
        OsStr::new("-days"),
        OsStr::new("30"),
        OsStr::new("-utf8"),
        OsStr::new("-subj"),
        OsStr::new(subject),
        OsStr::new("-keyout"),
        key.as_os_str(),
        OsStr::new("-out"),
        cert.as_os_str(),
    ]);
    openssl_fingerprint(cert, "pem", "sha256")
}

/// openssl's `-fingerprint` line ("sha256 Fingerprint=AB:CD:…") as lowercase hex without colons.
pub fn normalise_fingerprint(line: &str) -> String {
    let value = line.trim().rsplit('=').next().unwrap_or("");
    value
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The fingerprint (`sha256` or `sha1`) of the first certificate in `path` (`pem` or `der`), by openssl.
pub fn openssl_fingerprint(path: &Path, form: &str, digest: &str) -> String {
    let out = openssl(&[
        OsStr::new("x509"),
        OsStr::new("-inform"),
        OsStr::new(form),
        OsStr::new("-in"),
        path.as_os_str(),
        OsStr::new("-noout"),
        OsStr::new("-fingerprint"),
        OsStr::new(&format!("-{digest}")),
    ]);
    let fp = normalise_fingerprint(&out);
    let len = if digest == "sha1" { 40 } else { 64 };
    assert!(
        fp.len() == len && fp.bytes().all(|b| b.is_ascii_hexdigit()),
        "odd openssl fingerprint {out:?} of {}",
        path.display()
    );
    fp
}

/// The subject of the first certificate in `path`, as `openssl x509 -subject -nameopt RFC2253` prints it.
pub fn openssl_subject_rfc2253(path: &Path) -> String {
    let out = openssl(&[
        OsStr::new("x509"),
        OsStr::new("-in"),
        path.as_os_str(),
        OsStr::new("-noout"),
        OsStr::new("-subject"),
        OsStr::new("-nameopt"),
        OsStr::new("RFC2253"),
    ]);
    out.trim().trim_start_matches("subject=").to_string()
}

/// Seconds since the Unix epoch of an ISO 8601 UTC time as openssl's `-dateopt iso_8601`
/// (`2025-05-12 23:59:00Z`) or RFC 3339 (`2025-05-12T23:59:00Z`) writes it.
pub fn iso_seconds(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| -> i64 {
        text.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("odd openssl date {text:?}"))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    // Days from civil (Howard Hinnant), independent of rootsift's own date code.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19)
}

/// The certifi fixtures of `tests/fixtures/mozilla.sh`: an old certifi bundle, and the SHA-256s
/// (lowercase) of its roots that the newest certifi dropped and kept, computed by openssl and comm.
pub fn certifi_history() -> (
    PathBuf,
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    let dir = fixtures_base().join("mozilla");
    let old = dir.join("old-cacert.pem");
    assert!(
        old.is_file(),
        "{} is missing: run `bash tests/fixtures/mozilla.sh`",
        old.display()
    );
    let read_set = |name: &str| -> std::collections::BTreeSet<String> {
        read_tsv(&dir.join(name))
            .into_iter()
            .map(|row| row[0].to_ascii_lowercase())
            .collect()
    };
    let removed = read_set("expected-removed.tsv");
    let kept = read_set("expected-included.tsv");
    assert!(!removed.is_empty() && !kept.is_empty());
    (old, removed, kept)
}
