//! Test support for the detectors: a recording sink, and certificates and stores made by the real
//! tools (openssl, keytool) at test time. A missing tool fails the test with a clear message:
//! these tests never skip.

use super::*;
use std::path::Path;
use std::process::{Command, Output};

/// Everything a scan reported, in order.
#[derive(Default, Debug)]
pub struct Recorder {
    /// (member path, offset, parser, SHA-256 hex)
    pub certs: Vec<(String, u64, Parser, String)>,
    /// (member path, offset, parser, reason)
    pub partials: Vec<(String, u64, Parser, String)>,
    stack: Vec<String>,
}

impl Recorder {
    fn path(&self) -> String {
        self.stack.iter().map(|m| format!("!/{m}")).collect()
    }
}

impl Sink for Recorder {
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser) {
        self.certs
            .push((self.path(), offset, parser, cert.sha256_hex()));
    }
    fn partial(&mut self, offset: u64, parser: Parser, reason: String) {
        self.partials.push((self.path(), offset, parser, reason));
    }
}

impl crate::analyzer::Output for Recorder {
    fn enter(&mut self, name: &str) {
        self.stack.push(name.to_string());
    }
    fn leave(&mut self) {
        self.stack.pop();
    }
    fn unsigned(&mut self) {}
    fn signatures(&mut self, _: [u8; 32], _: Vec<crate::signature::Signature>) {}
}

/// A fresh self-signed EC certificate made by `openssl` in `dir`: (PEM, DER).
pub fn openssl_certificate(dir: &std::path::Path, name: &str) -> (Vec<u8>, Vec<u8>) {
    use std::process::Command;
    let pem = dir.join(format!("{name}.pem"));
    let der = dir.join(format!("{name}.der"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-keyout",
            "/dev/null",
            "-days",
            "30",
            "-subj",
            &format!("/CN={name}"),
        ])
        .arg("-out")
        .arg(&pem)
        .status()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(status.success(), "openssl req failed");
    let status = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der)
        .status()
        .expect("openssl must be installed");
    assert!(status.success(), "openssl x509 failed");
    let read = |p: std::path::PathBuf| {
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    (read(pem), read(der))
}

/// SHA-256 of `der` as lowercase hex, as reports print it.
pub fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// Runs the full detector stack over `data` with default limits, archives opened.
pub fn scan(data: &[u8]) -> Recorder {
    let mut rec = Recorder::default();
    let options = crate::scan::ScanOptions::default();
    crate::scan::walk_buffer(&options, &CertCache::new(), data, &mut rec);
    rec
}

/// Runs `program` with the whitespace-separated `args` in `dir` and returns its standard
/// output; panics (failing the test) if it cannot be started or exits with an error.
pub(crate) fn run(dir: &Path, program: &str, args: &str) -> Vec<u8> {
    run_output(dir, program, args).stdout
}

/// Like [`run`], but returns standard output followed by standard error (`openssl pkcs12
/// -info` writes its findings to both).
pub(crate) fn run_merged(dir: &Path, program: &str, args: &str) -> Vec<u8> {
    let mut output = run_output(dir, program, args);
    output.stdout.extend_from_slice(&output.stderr);
    output.stdout
}

fn run_output(dir: &Path, program: &str, args: &str) -> Output {
    let output = Command::new(program)
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` (these tests need openssl and JDK 17's keytool): {e}")
        });
    assert!(
        output.status.success(),
        "`{program} {args}` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Lowercase hex without colons of every `<label>AA:BB:…` SHA-256 fingerprint line in `text`
/// (`openssl x509 -fingerprint` prints `sha256 Fingerprint=…`, `keytool -list -v` `SHA256: …`).
pub(crate) fn fingerprints(text: &[u8], label: &str) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix(label)?;
            let hex: String = rest.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
            let hex = hex.to_lowercase();
            (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
        })
        .collect()
}

/// SHA-256 fingerprint of the PEM certificate in `file`, as openssl prints it.
pub(crate) fn openssl_fingerprint(dir: &Path, file: &str) -> String {
    let args = format!("x509 -in {file} -noout -fingerprint -sha256");
    let out = run(dir, "openssl", &args);
    let found = fingerprints(&out, "sha256 Fingerprint=");
    let text = String::from_utf8_lossy(&out);
    assert_eq!(found.len(), 1, "unexpected openssl output: {text}");
    found.into_iter().next().unwrap_or_default()
}

/// Makes a self-signed EC CA `name.pem`/`name.key` in `dir`; returns its SHA-256 fingerprint.
pub(crate) fn self_signed(dir: &Path, name: &str) -> String {
    let args = format!(
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {name}.key \
         -out {name}.pem -days 30 -subj /CN={name}"
    );
    run(dir, "openssl", &args);
    openssl_fingerprint(dir, &format!("{name}.pem"))
}

/// Makes `name.pem`/`name.key`, an RSA leaf certificate issued by the CA `ca`; returns its
/// SHA-256 fingerprint.
pub(crate) fn issued(dir: &Path, name: &str, ca: &str) -> String {
    let args =
        format!("req -newkey rsa:2048 -nodes -keyout {name}.key -out {name}.csr -subj /CN={name}");
    run(dir, "openssl", &args);
    let args = format!(
        "x509 -req -in {name}.csr -CA {ca}.pem -CAkey {ca}.key -CAcreateserial -days 30 \
         -out {name}.pem"
    );
    run(dir, "openssl", &args);
    openssl_fingerprint(dir, &format!("{name}.pem"))
}

/// Concatenates files of `dir` into `out`.
pub(crate) fn concat(dir: &Path, parts: &[&str], out: &str) {
    let all: Vec<u8> = parts.iter().flat_map(|part| read(dir, part)).collect();
    std::fs::write(dir.join(out), all).unwrap_or_else(|e| panic!("write {out}: {e}"));
}

/// Reads a file of `dir`.
pub(crate) fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Sorted copy, for comparing sets of fingerprints.
pub(crate) fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort();
    v
}

/// Lengths at which to cut a file of `len` bytes in the truncation tests: every cut in the
/// first 64 bytes (headers), a spread through the rest, and every cut in the last 24.
pub(crate) fn cut_points(len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..len.min(64)).collect();
    cuts.extend((1..40).map(|i| len * i / 40));
    cuts.extend(len.saturating_sub(24)..len);
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}
