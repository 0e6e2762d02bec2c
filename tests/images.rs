//! Container images as targets, against real images made by umoci and skopeo
//! (`tests/fixtures/images.sh`), with ground truth from openssl over the same layers.
//!
//! The same three-layer image (a file replaced in layer 2; a whiteout, a directory whiteout and
//! an opaque directory in layer 3) is read as an OCI layout with gzip, zstd and uncompressed
//! layers, as an OCI archive, as a docker-archive file and as a `docker save` stream on stdin;
//! each must give exactly the certificates of the squashed tree, and `--all-layers` exactly those
//! of every layer, with their layer digests.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use serde_json::Value;

/// The image fixtures; panics with instructions when they are missing.
fn images() -> PathBuf {
    let dir = fixtures_base().join("images");
    if !dir.join(".complete").exists() {
        panic!(
            "the image fixtures are missing from {}.\nBuild them first (needs umoci, skopeo, openssl, zstd, python3):\n\n    bash tests/fixtures/images.sh\n",
            dir.display()
        );
    }
    dir
}

/// Runs `rootsift ARGS… -o json --cache-dir CACHE` and returns (exit code, document or Null, stderr).
fn run_json(args: &[&str], cache: &Path, stdin: Option<&Path>) -> (i32, Value, String) {
    let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    all.extend([
        "-o".into(),
        "json".into(),
        "--cache-dir".into(),
        cache.into(),
    ]);
    let stdin = match stdin {
        Some(path) => Stdio::from(File::open(path).expect("stdin fixture")),
        None => Stdio::null(),
    };
    let run = run_rootsift_with_stdin(&all, stdin, SCAN_TIMEOUT);
    let doc = serde_json::from_slice(&run.stdout).unwrap_or(Value::Null);
    (run.status.code().unwrap_or(-1), doc, run.stderr)
}

fn scan_ok(args: &[&str], cache: &Path, stdin: Option<&Path>) -> Value {
    let (code, doc, stderr) = run_json(args, cache, stdin);
    assert_eq!(code, 0, "rootsift {args:?} failed:\n{stderr}");
    assert_no_errors(&doc);
    doc
}

fn three_columns(path: &Path) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = read_tsv(path)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    rows.sort();
    rows
}

#[test]
fn every_image_form_gives_the_squashed_trees_certificates() {
    let dir = images();
    let expected = read_multiset(&dir.join("expected.tsv"));
    let cache = tempfile::tempdir().unwrap();
    let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
    let forms = [
        format!("oci:{}:test", path("oci")),
        path("oci"),
        format!("oci:{}:test", path("oci-zstd")),
        format!("oci:{}:test", path("oci-uncompressed")),
        format!("oci-archive:{}:test", path("test.oci.tar")),
        path("test.oci.tar"),
        format!("docker-archive:{}", path("test.docker.tar")),
        path("test.docker.tar"),
    ];
    for form in &forms {
        let doc = scan_ok(&["scan", form], cache.path(), None);
        assert_multiset_eq(form, &expected, &found_certificates(&doc));
        for c in entries(&doc, "certificates") {
            assert!(
                field(c, "layer").starts_with("sha256:"),
                "{form}: finding without its layer: {c}"
            );
            assert!(
                c.get("shadowed").is_none(),
                "{form}: shadowed without --all-layers"
            );
        }
    }
    // A `docker save` stream on stdin, read once as a stream.
    let doc = scan_ok(
        &["scan", "-"],
        cache.path(),
        Some(&dir.join("test.docker.tar")),
    );
    assert_multiset_eq(
        "docker-archive on stdin",
        &expected,
        &found_certificates(&doc),
    );
    // An OCI archive on stdin (what Docker 25+ writes).
    let doc = scan_ok(
        &["scan", "-"],
        cache.path(),
        Some(&dir.join("test.oci.tar")),
    );
    assert_multiset_eq("oci-archive on stdin", &expected, &found_certificates(&doc));
}

#[test]
fn the_image_matches_its_unpacked_tree() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let unpacked = found_certificates(&scan_json(&dir.join("squashed"), &[]));
    let image = found_certificates(&scan_ok(
        &["scan", &format!("oci:{}:test", dir.join("oci").display())],
        cache.path(),
        None,
    ));
    assert_multiset_eq("image vs umoci unpack", &unpacked, &image);
}

#[test]
fn all_layers_reports_what_later_layers_deleted_or_replaced() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:test", dir.join("oci").display());
    let doc = scan_ok(&["scan", "--all-layers", &target], cache.path(), None);
    let mut found: Vec<(String, String, String)> = entries(&doc, "certificates")
        .iter()
        .map(|c| {
            (
                field(c, "fileLocation").to_string(),
                field(c, "fingerprintSHA256").to_string(),
                field(c, "layer").to_string(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found, three_columns(&dir.join("expected-all-layers.tsv")));
    let shadowed = multiset(
        entries(&doc, "certificates")
            .iter()
            .filter(|c| c["shadowed"] == Value::Bool(true))
            .map(|c| {
                (
                    field(c, "fileLocation").to_string(),
                    field(c, "fingerprintSHA256").to_string(),
                )
            }),
    );
    assert_multiset_eq(
        "shadowed findings vs deleted.tsv",
        &read_multiset(&dir.join("deleted.tsv")),
        &shadowed,
    );
}

#[test]
fn platforms_are_chosen_from_an_index_and_a_missing_one_is_named() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:multi", dir.join("multi").display());
    for (platform, file) in [
        ("linux/amd64", "multi-expected-amd64.tsv"),
        ("linux/arm64", "multi-expected-arm64.tsv"),
        ("linux/arm/v7", "multi-expected-arm-v7.tsv"),
    ] {
        let doc = scan_ok(
            &["scan", "--platform", platform, &target],
            cache.path(),
            None,
        );
        assert_multiset_eq(
            platform,
            &read_multiset(&dir.join(file)),
            &found_certificates(&doc),
        );
    }
    let (code, _, stderr) = run_json(
        &["scan", "--platform", "linux/s390x", &target],
        cache.path(),
        None,
    );
    assert_eq!(code, 2, "a missing platform is an error: {stderr}");
    assert!(
        stderr.contains("linux/s390x")
            && stderr.contains("linux/amd64")
            && stderr.contains("linux/arm64")
            && stderr.contains("linux/arm/v7"),
        "the error names the wanted and the available platforms: {stderr}"
    );
}

/// Copies the OCI layout to a temporary directory.
fn copy_layout(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .args(["-a", &format!("{}/.", from.display())])
        .arg(to.path())
        .status()
        .unwrap();
    assert!(status.success());
    to
}

/// The blob path of the layout's layer `n` (1-based, as layers.tsv numbers them).
fn layer_blob(layout: &Path, layers_tsv: &Path, n: usize) -> (PathBuf, String) {
    let row = read_tsv(layers_tsv)
        .into_iter()
        .find(|r| r[0] == n.to_string())
        .expect("layer row");
    let digest = row[1].clone();
    let hex = digest.trim_start_matches("sha256:");
    (layout.join("blobs/sha256").join(hex), digest)
}

#[test]
fn a_corrupt_layer_is_an_error_naming_it_and_nothing_is_scanned() {
    let dir = images();
    let layout = copy_layout(&dir.join("oci"));
    let (blob, digest) = layer_blob(layout.path(), &dir.join("layers.tsv"), 1);
    let mut data = std::fs::read(&blob).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x55;
    std::fs::write(&blob, &data).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:test", layout.path().display());
    let (code, doc, stderr) = run_json(&["scan", &target], cache.path(), None);
    assert_eq!(
        code, 2,
        "a layer that fails verification fails the image: {stderr}"
    );
    assert!(
        entries(&doc, "certificates").is_empty(),
        "nothing from a bad image is reported"
    );
    let errors = entries(&doc, "errors");
    assert!(
        errors.iter().any(|e| field(e, "error").contains(&digest)),
        "the error names the layer {digest}: {errors:?}"
    );
    // Nothing of the bad layer entered the cache.
    let cached: Vec<_> = walk_files(cache.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    assert!(
        cached.len() <= 2,
        "only the good layers may be cached: {cached:?}"
    );

    // A truncated blob is an error too.
    let layout = copy_layout(&dir.join("oci"));
    let (blob, digest) = layer_blob(layout.path(), &dir.join("layers.tsv"), 2);
    let data = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &data[..data.len() / 2]).unwrap();
    let target = format!("oci:{}:test", layout.path().display());
    let (code, doc, _) = run_json(
        &["scan", &target],
        tempfile::tempdir().unwrap().path(),
        None,
    );
    assert_eq!(code, 2);
    assert!(
        entries(&doc, "errors")
            .iter()
            .any(|e| field(e, "error").contains(&digest))
    );

    // A layer listed but missing is an error when the image is opened.
    let layout = copy_layout(&dir.join("oci"));
    let (blob, _) = layer_blob(layout.path(), &dir.join("layers.tsv"), 3);
    std::fs::remove_file(&blob).unwrap();
    let target = format!("oci:{}:test", layout.path().display());
    let (code, _, stderr) = run_json(&["scan", &target], cache.path(), None);
    assert_eq!(code, 2);
    assert!(stderr.contains("not in the image"), "{stderr}");
}

#[test]
fn a_truncated_docker_archive_on_stdin_is_an_error() {
    let dir = images();
    let data = std::fs::read(dir.join("test.docker.tar")).unwrap();
    let cut = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cut.path(), &data[..data.len() / 3]).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_json(&["scan", "-"], cache.path(), Some(cut.path()));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !stderr.is_empty() && !stderr.contains("panicked"),
        "{stderr}"
    );
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_second_scan_reads_layers_from_the_cache() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:test", dir.join("oci-zstd").display());
    scan_ok(&["scan", &target], cache.path(), None);
    let tars: Vec<PathBuf> = walk_files(cache.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    assert_eq!(
        tars.len(),
        3,
        "the three decompressed layers are cached: {tars:?}"
    );
    // The cache is keyed by diff_id (the uncompressed digest), as layers.tsv lists them.
    for row in read_tsv(&dir.join("layers.tsv")) {
        let hex = row[2].trim_start_matches("sha256:");
        assert!(
            tars.iter().any(|t| t.file_stem().is_some_and(|s| s == hex)),
            "no cached layer for diff_id {hex}"
        );
    }
    // Remove the source's layer blobs: a second scan must still work, from the cache alone.
    let layout = copy_layout(&dir.join("oci-zstd"));
    let manifest_and_config: Vec<PathBuf> = walk_files(&layout.path().join("blobs"))
        .into_iter()
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() < 4096)
                .unwrap_or(false)
        })
        .collect();
    for blob in walk_files(&layout.path().join("blobs")) {
        if !manifest_and_config.contains(&blob) {
            std::fs::write(&blob, b"").unwrap(); // emptied: any read would fail its digest
        }
    }
    let target = format!("oci:{}:test", layout.path().display());
    let doc = scan_ok(&["scan", &target], cache.path(), None);
    assert_multiset_eq(
        "second scan from the cache",
        &read_multiset(&dir.join("expected.tsv")),
        &found_certificates(&doc),
    );
}

#[test]
fn inspect_validate_and_sigscan_accept_images() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("docker-archive:{}", dir.join("test.docker.tar").display());
    let (code, doc, stderr) = run_json(&["inspect", &target], cache.path(), None);
    assert!(code == 0 || code == 1, "{stderr}");
    assert_multiset_eq(
        "inspect",
        &read_multiset(&dir.join("expected.tsv")),
        &found_certificates(&doc),
    );
    let policy = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(policy.path(), "version: \"1\"\n").unwrap();
    let policy_path = policy.path().to_string_lossy().into_owned();
    let (code, doc, stderr) = run_json(
        &["validate", "-c", &policy_path, &target],
        cache.path(),
        None,
    );
    assert!(code == 0 || code == 1, "{stderr}");
    assert!(doc.is_object(), "validate printed JSON: {stderr}");
    let (code, doc, stderr) = run_json(&["sigscan", "fs", &target], cache.path(), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(doc["filesystem"].is_object(), "{doc}");
}

#[test]
fn bad_image_names_are_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    for (arg, says) in [
        ("oci:/nonexistent/layout:x", "layout:x: no such directory"),
        (
            "docker-archive:/nonexistent.tar",
            "nonexistent.tar: no such file",
        ),
        (
            "Not_A_Reference",
            "Not_A_Reference: no such file or directory",
        ),
        ("docker://UPPER/Case", "a repository is lowercase"),
        ("docker://{\"manifests\":[x/y", "invalid registry host"),
    ] {
        let (code, _, stderr) = run_json(&["scan", arg], cache.path(), None);
        assert_eq!(code, 2, "{arg}: {stderr}");
        assert!(
            stderr.contains(says),
            "{arg}: the error names {says}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
}

mod registry_targets {
    //! The same images pushed by skopeo to a real `docker-registry` on 127.0.0.1.

    use super::common::registry::{RegistryAuth, TestRegistry};
    use super::*;

    fn pushed(auth: RegistryAuth) -> (TestRegistry, PathBuf) {
        let dir = images();
        let registry = TestRegistry::start(auth);
        registry.push(
            &format!("oci:{}:test", dir.join("oci").display()),
            "rootsift/test:v1",
        );
        (registry, dir)
    }

    #[test]
    fn a_registry_image_gives_the_same_findings_and_a_second_scan_fetches_no_blob() {
        let (registry, dir) = pushed(RegistryAuth::None);
        let cache = tempfile::tempdir().unwrap();
        let target = format!("{}/rootsift/test:v1", registry.addr());
        let before = registry.blob_gets();
        let doc = scan_ok(&["scan", "--insecure", &target], cache.path(), None);
        assert_multiset_eq(
            "registry image",
            &read_multiset(&dir.join("expected.tsv")),
            &found_certificates(&doc),
        );
        let first = registry.blob_gets() - before;
        assert_eq!(
            first, 4,
            "the config and three layers are fetched once each"
        );
        // docker:// spelling, second scan: everything comes from the cache.
        let doc = scan_ok(
            &["scan", "--insecure", &format!("docker://{target}")],
            cache.path(),
            None,
        );
        assert_multiset_eq(
            "registry image, second scan",
            &read_multiset(&dir.join("expected.tsv")),
            &found_certificates(&doc),
        );
        assert_eq!(
            registry.blob_gets() - before,
            first,
            "the second scan fetched a blob"
        );
        // Pinned by digest (skopeo pushes the layout's manifest bytes unchanged), with --all-layers.
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("oci/index.json")).unwrap()).unwrap();
        let manifest = index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let pinned = format!("{}/rootsift/test@{manifest}", registry.addr());
        let digest = read_tsv(&dir.join("layers.tsv"))[0][1].clone();
        let doc = scan_ok(
            &["scan", "--insecure", "--all-layers", &pinned],
            cache.path(),
            None,
        );
        assert!(
            entries(&doc, "certificates")
                .iter()
                .any(|c| field(c, "layer") == digest && c["shadowed"] == Value::Bool(true)),
            "--all-layers shows what layer 1 had and layer 3 deleted"
        );
    }

    #[test]
    fn multi_platform_indexes_from_a_registry() {
        let dir = images();
        let registry = TestRegistry::start(RegistryAuth::None);
        registry.push_all(
            &format!("oci:{}:multi", dir.join("multi").display()),
            "rootsift/multi:m",
        );
        let cache = tempfile::tempdir().unwrap();
        let target = format!("{}/rootsift/multi:m", registry.addr());
        let doc = scan_ok(
            &["scan", "--insecure", "--platform", "linux/arm64", &target],
            cache.path(),
            None,
        );
        assert_multiset_eq(
            "arm64 from the registry",
            &read_multiset(&dir.join("multi-expected-arm64.tsv")),
            &found_certificates(&doc),
        );
        let (code, _, stderr) = run_json(
            &["scan", "--insecure", "--platform", "windows/amd64", &target],
            cache.path(),
            None,
        );
        assert_eq!(code, 2);
        assert!(stderr.contains("linux/arm/v7"), "{stderr}");
    }

    #[test]
    fn htpasswd_and_token_registries_want_the_right_credentials() {
        for auth in [
            RegistryAuth::htpasswd("alice", "s3cret"),
            RegistryAuth::token("carol", "t0ken"),
        ] {
            let creds = auth.creds().expect("credentials");
            let (registry, dir) = pushed(auth);
            let target = format!("{}/rootsift/test:v1", registry.addr());
            let cache = tempfile::tempdir().unwrap();
            let doc = scan_ok(
                &["scan", "--insecure", "--creds", &creds, &target],
                cache.path(),
                None,
            );
            assert_multiset_eq(
                "with credentials",
                &read_multiset(&dir.join("expected.tsv")),
                &found_certificates(&doc),
            );
            let user = creds.split(':').next().unwrap();
            let (code, _, stderr) = run_json(
                &[
                    "scan",
                    "--insecure",
                    "--creds",
                    &format!("{user}:wrong"),
                    &target,
                ],
                tempfile::tempdir().unwrap().path(),
                None,
            );
            assert_eq!(code, 2, "wrong credentials fail: {stderr}");
            assert!(stderr.contains("authentication failed"), "{stderr}");
            assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
        }
    }
}

#[test]
fn a_layer_verified_in_place_is_hashed_again_once_its_file_changes() {
    let dir = images();
    let copy = tempfile::tempdir().unwrap();
    let archive = copy.path().join("test.docker.tar");
    std::fs::copy(dir.join("test.docker.tar"), &archive).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("docker-archive:{}", archive.display());
    scan_ok(&["scan", &target], cache.path(), None);
    let inplace: Vec<PathBuf> = walk_files(cache.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "inplace"))
        .collect();
    assert_eq!(
        inplace.len(),
        3,
        "each uncompressed layer remembered as verified in place"
    );
    scan_ok(&["scan", &target], cache.path(), None);
    // Change one byte of a certificate inside a layer: the stamp no longer matches, the layer
    // is hashed again, and the mismatch is an error.
    let mut data = std::fs::read(&archive).unwrap();
    let at = data
        .windows(27)
        .position(|w| w == b"-----BEGIN CERTIFICATE-----")
        .expect("a PEM certificate in the archive");
    data[at + 40] ^= 0x01;
    std::fs::write(&archive, &data).unwrap();
    let (code, doc, stderr) = run_json(&["scan", &target], cache.path(), None);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        entries(&doc, "errors")
            .iter()
            .any(|e| field(e, "error").contains("digest mismatch")),
        "{doc}"
    );
}

#[test]
fn tables_mark_shadowed_files_and_wide_shows_the_layer() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let target = format!("oci:{}:test", dir.join("oci").display());
    let run = run_rootsift(
        [
            "scan",
            "-o",
            "wide",
            "--all-layers",
            "--cache-dir",
            &cache.path().to_string_lossy(),
            &target,
        ],
        SCAN_TIMEOUT,
    );
    assert!(run.status.success(), "{}", run.stderr_tail());
    let text = String::from_utf8_lossy(&run.stdout);
    let header = text.lines().next().unwrap();
    assert!(header.contains("LAYER"), "{header}");
    let shadowed = text.lines().filter(|l| l.contains(" (shadowed)")).count();
    assert_eq!(shadowed, read_tsv(&dir.join("deleted.tsv")).len(), "{text}");
    let first_layer = read_tsv(&dir.join("layers.tsv"))[0][1].clone();
    let short = &first_layer["sha256:".len().."sha256:".len() + 12];
    assert!(
        text.lines()
            .any(|l| l.starts_with("/etc/ssl/certs/gone.pem (shadowed)") && l.contains(short)),
        "{text}"
    );
    // A directory has no layers: no LAYER column.
    let run = run_rootsift(
        [
            "scan",
            "-o",
            "wide",
            &dir.join("squashed").to_string_lossy(),
        ],
        SCAN_TIMEOUT,
    );
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(!text.lines().next().unwrap().contains("LAYER"), "{text}");
}
