//! Replays fuzz inputs through the very functions the fuzz targets run (`fuzz/src/lib.rs`, included
//! below), so that a crash once found by `cargo fuzz` stays fixed under a plain `cargo test`.
//!
//! For each target, it replays:
//! - every file in `fuzz/regressions/<target>/` (minimised crashes; committed);
//! - every file in `fuzz/corpus/<target>/`, when a local corpus exists (`fuzz/seed.sh`, fuzzing);
//! - known-good fixture files from `tests/fixtures/make.sh` (PEM, DER, PKCS#7, PKCS#12, JKS, JCEKS,
//!   nested zip, an ELF), with many truncations and byte flips of each.
//!
//! Each known-good file must also yield exactly the certificates the reference tools counted in it,
//! so a replay that finds nothing cannot pass silently.

mod common;
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use fuzz_targets::{Counts, Target};

/// Known-good inputs for each target: real fixture files (`tests/fixtures/make.sh`, made by openssl,
/// keytool, gcc and zip), each of which the target alone must read completely: the number of
/// certificates it reports must be the number `expected.tsv` (computed by openssl and keytool) holds
/// for that file and its archive members.
fn known_good(target: &str) -> &'static [&'static str] {
    const PEM: &[&str] = &[
        "etc/pki/fixtures/fullchain-rsa.pem",
        "etc/pki/odd/tabbed.pem",
        "etc/pki/odd/truncated-then-good.pem",
        "root/.kube/config",
        "srv/config/app.json",
        "srv/config/app.yaml",
    ];
    const DER: &[&str] = &["etc/pki/der/cert.der", "var/lib/fixtures/v1-embedded.bin"];
    match target {
        "pem" => PEM,
        "der" => DER,
        "pkcs7" => &["etc/pki/pkcs7/chain.p7c"],
        "pkcs12" => &[
            "etc/pki/pkcs12/changeit.p12",
            "etc/pki/pkcs12/empty-aes.p12",
        ],
        "jks" => &["opt/java/server.jks", "opt/java/truststore.jceks"],
        "archive" => &["opt/app.war", "opt/lib/certs.jar"],
        "policy" | "ccadb" | "authenticode" | "kmod" | "jar" | "cms" | "layer" | "manifest" => &[],
        "detector" => &[
            "etc/pki/fixtures/fullchain-rsa.pem",
            "root/.kube/config",
            "etc/pki/der/cert.der",
            "usr/bin/certprint",
            "etc/pki/pkcs7/chain.p7b",
            "etc/pki/pkcs7/chain.p7c",
            "etc/pki/pkcs12/changeit.p12",
            "opt/java/server.jks",
            "opt/java/truststore.jceks",
            "opt/app.war",
        ],
        other => unreachable!("no known-good inputs for target {other}"),
    }
}

/// Known-good inputs kept in the repository (not certificate fixtures): Paranoia's and rootsift's
/// policies for `policy` (each must parse: at least one entry), the CCADB-shaped CSV for `ccadb`
/// (it must be accepted).
fn repository_inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let signed = common::fixtures_base().join("signed/tree");
    let images = common::fixtures_base().join("images");
    let paths = match target {
        "policy" => files_in(&tests.join("policy_configs")),
        "ccadb" => vec![tests.join("fixtures/ccadb-removed-sample.csv")],
        "authenticode" => [
            "opt/signtest/pe/nested.efi",
            "boot/efi/EFI/debian/fbx64.efi",
            "opt/msvc/vcruntime140.dll",
        ]
        .iter()
        .map(|f| signed.join(f))
        .collect(),
        "kmod" | "cms" => vec![first_module(&signed.join("lib/modules"))],
        "layer" => files_in(&images.join("oci-uncompressed/blobs/sha256"))
            .into_iter()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 4096))
            .collect(),
        "manifest" => vec![
            images.join("oci/index.json"),
            images.join("multi/index.json"),
        ],
        "jar" => [
            "opt/signtest/jar/three-signers.jar",
            "opt/signtest/jar/timestamped.jar",
        ]
        .iter()
        .map(|f| signed.join(f))
        .collect(),
        _ => Vec::new(),
    };
    paths
        .into_iter()
        .map(|path| {
            let data = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "reading {}: {e} (tests/fixtures/signed.sh makes the signed-code fixtures)",
                    path.display()
                )
            });
            let name = path.display().to_string();
            if target == "cms" {
                // The PKCS#7 SignedData appended to a signed kernel module.
                let parts = rootsift::sign::kmod::split(&data)
                    .and_then(Result::ok)
                    .unwrap_or_else(|| panic!("{name} carries no module signature"));
                (format!("{name} (its PKCS#7)"), parts.pkcs7.to_vec())
            } else {
                (name, data)
            }
        })
        .collect()
}

/// The first signed kernel module (`*.ko`) under `dir`, in name order.
fn first_module(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    let mut found = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ko")
                && !path.to_string_lossy().contains("unsigned")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found.into_iter().next().unwrap_or_else(|| {
        panic!(
            "no kernel module under {}: run tests/fixtures/signed.sh",
            dir.display()
        )
    })
}

/// How many certificates `expected.tsv` lists for the fixture at `relative` (members included).
fn expected_certificates(fixtures: &Path, relative: &str) -> usize {
    let location = format!("/{relative}");
    let nested = format!("{location}!/");
    common::read_tsv(&fixtures.join("expected.tsv"))
        .iter()
        .filter(|row| row[0] == location || row[0].starts_with(&nested))
        .count()
}

/// Truncations (prefixes and suffixes) and single-byte corruptions of `data`.
fn mutations(data: &[u8]) -> Vec<Vec<u8>> {
    let len = data.len();
    let step = (len / 150).max(1);
    let mut cuts: Vec<usize> = (0..len.min(48)).chain((48..len).step_by(step)).collect();
    cuts.extend(len.saturating_sub(24)..len);
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<Vec<u8>> = cuts.iter().map(|&n| data[..n].to_vec()).collect();
    out.extend(
        (1..len)
            .step_by((len / 20).max(1))
            .map(|k| data[k..].to_vec()),
    );
    for at in (0..len).step_by((len / 60).max(1)) {
        for flip in [0xff, 0x80, 0x01] {
            let mut corrupt = data.to_vec();
            corrupt[at] ^= flip;
            out.push(corrupt);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Replaying

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

fn target_fn(target: &str) -> Target {
    fuzz_targets::target(target).unwrap_or_else(|| panic!("no fuzz target named {target}"))
}

/// Runs one input, turning a panic into a message naming the input.
fn run(f: Target, what: &str, data: &[u8], failures: &mut Vec<String>) -> Option<Counts> {
    match catch_unwind(AssertUnwindSafe(|| f(data))) {
        Ok(counts) => Some(counts),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{what} ({} bytes): {message}", data.len()));
            None
        }
    }
}

fn replay(target: &str) {
    let f = target_fn(target);
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    let mut replayed = 0usize;
    let mut from_files = [0usize; 2];

    // Every target has its regressions folder (kept by a .gitkeep when empty): a missing one
    // means a renamed target or a lost folder, and replaying nothing would pass unnoticed.
    let regressions = fuzz_dir.join("regressions").join(target);
    assert!(
        regressions.is_dir(),
        "{}: missing; every fuzz target has a regressions folder",
        regressions.display()
    );
    let corpus = fuzz_dir.join("corpus").join(target);
    for (i, dir) in [regressions, corpus].iter().enumerate() {
        for path in files_in(dir) {
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            run(f, &path.display().to_string(), &data, &mut failures);
            replayed += 1;
            from_files[i] += 1;
        }
    }

    for (name, data) in repository_inputs(target) {
        if let Some(counts) = run(f, &name, &data, &mut failures)
            && counts.certificates == 0
        {
            failures.push(format!(
                "{name}: a known-good input was rejected ({counts:?})"
            ));
        }
        replayed += 1;
        for (k, mutated) in mutations(&data).iter().enumerate() {
            run(f, &format!("{name} mutation #{k}"), mutated, &mut failures);
            replayed += 1;
        }
    }

    let fixtures = common::fixtures();
    for relative in known_good(target) {
        let path = fixtures.join("tree").join(relative);
        let data =
            std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let expected = expected_certificates(&fixtures, relative);
        assert!(
            expected > 0,
            "expected.tsv lists no certificate in {relative}"
        );
        if let Some(counts) = run(f, relative, &data, &mut failures)
            && counts.certificates != expected
        {
            failures.push(format!(
                "{relative}: {} certificate(s) found, {expected} expected ({counts:?})",
                counts.certificates
            ));
        }
        replayed += 1;
        for (k, mutated) in mutations(&data).iter().enumerate() {
            run(
                f,
                &format!("{relative} mutation #{k}"),
                mutated,
                &mut failures,
            );
            replayed += 1;
        }
    }

    eprintln!(
        "{target}: replayed {replayed} inputs ({} regressions, {} corpus files, the rest fixtures and their mutations)",
        from_files[0], from_files[1]
    );
    assert!(replayed > 0, "{target}: nothing was replayed");
    assert!(
        failures.is_empty(),
        "{target}: {} input(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn pem() {
    replay("pem");
}

#[test]
fn der() {
    replay("der");
}

#[test]
fn pkcs7() {
    replay("pkcs7");
}

#[test]
fn pkcs12() {
    replay("pkcs12");
}

#[test]
fn jks() {
    replay("jks");
}

#[test]
fn archive() {
    replay("archive");
}

#[test]
fn detector() {
    replay("detector");
}

#[test]
fn policy() {
    replay("policy");
}

#[test]
fn ccadb() {
    replay("ccadb");
}

#[test]
fn authenticode() {
    replay("authenticode");
}

#[test]
fn kmod() {
    replay("kmod");
}

#[test]
fn jar() {
    replay("jar");
}

#[test]
fn cms() {
    replay("cms");
}

#[test]
fn layer() {
    replay("layer");
}

#[test]
fn manifest() {
    replay("manifest");
}

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = fuzz_targets::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "pem",
            "der",
            "pkcs7",
            "pkcs12",
            "jks",
            "archive",
            "detector",
            "policy",
            "ccadb",
            "authenticode",
            "kmod",
            "jar",
            "cms",
            "layer",
            "manifest"
        ]
    );
    for name in &names {
        assert!(fuzz_targets::target(name).is_some(), "{name}");
    }
    // smoke.sh fuzzes the same list.
    let smoke =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/smoke.sh"))
            .unwrap();
    assert!(
        smoke.contains(&format!("all_targets=({})", names.join(" "))),
        "fuzz/smoke.sh does not fuzz exactly {names:?}"
    );
}
