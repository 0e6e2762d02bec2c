//! What a user types as TARGET, and what reaches their terminal: a symbolic link to a file, a
//! target that cannot be read (as an unprivileged user), a mistyped path (with the network cut
//! off by `unshare -n`, so no request can be made), a bare name tried as a registry image,
//! `--no-registry`, files that are not images, output cut short by a closed pipe or a full disk,
//! hostile file names and certificate names in every text format, and `table` fitted to a
//! terminal. Ground truth: openssl's fingerprints; the exit codes the README promises.
//!
//! Needs root (runuser to `nobody`, unshare, mknod-free), openssl, util-linux (`script` for a
//! pseudo-terminal) and the fixtures of tests/fixtures/make.sh and signed.sh.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(60);

fn rootsift() -> &'static str {
    env!("CARGO_BIN_EXE_rootsift")
}

fn stdout(run: &Run) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

/// Runs a command line through `bash -c` (pipes, redirections, `unshare`, `runuser`); returns
/// (exit code, stdout, stderr).
fn sh(script: &str) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("RS", rootsift())
        .output()
        .unwrap_or_else(|e| panic!("sh -c {script}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one error line a failed command must print, and its exit code 2.
fn assert_one_error_line(run: &Run, wanted: &str) {
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}: {}",
        run.command,
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{}: not one line: {:?}",
        run.command,
        run.stderr
    );
    assert!(
        lines[0].starts_with("rootsift: error: ") && lines[0].contains(wanted),
        "{}: {:?} does not say {wanted:?}",
        run.command,
        lines[0]
    );
    assert!(run.stdout.is_empty(), "{}: printed a report", run.command);
}

fn fixture(relative: &str) -> PathBuf {
    fixtures().join("tree").join(relative)
}

#[test]
fn a_symlink_to_a_file_given_as_target_is_followed_and_named_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let real = fixture("etc/pki/fixtures/root-ca.pem");
    let link = dir.path().join("ISRG-like.pem");
    symlink(&real, &link).unwrap();
    let fp = openssl_fingerprint(&real, "pem", "sha256");
    let doc = scan_json(&link, &[]);
    let found = found_certificates(&doc);
    let expected = multiset([(link.to_string_lossy().into_owned(), fp)]);
    assert_multiset_eq("a symlinked file", &expected, &found);
    assert_eq!(doc["summary"]["files"], 1);
    // A relative link to a link, typed relative: located by its absolute path as typed.
    let chain = dir.path().join("chain.pem");
    symlink("ISRG-like.pem", &chain).unwrap();
    let run = sh(&format!(
        "cd {} && \"$RS\" scan -o json chain.pem",
        dir.path().display()
    ));
    assert_eq!(run.0, 0, "{}", run.2);
    let doc: serde_json::Value = serde_json::from_str(&run.1).unwrap();
    assert_eq!(
        field(&entries(&doc, "certificates")[0], "fileLocation"),
        chain.to_str().unwrap()
    );
    // Links inside a tree are still never followed.
    let tree = scan_json(dir.path(), &[]);
    assert!(entries(&tree, "certificates").is_empty(), "{tree}");
}

#[test]
fn a_target_that_cannot_be_read_is_exit_2_with_one_line() {
    let dir = tempfile::Builder::new()
        .prefix("unreadable")
        .tempdir()
        .unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("secret.pem");
    fs::copy(fixture("etc/pki/fixtures/root-ca.pem"), &file).unwrap();
    let sub = dir.path().join("private");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
    // A copy of the binary that `nobody` may run (target/ may be under /root).
    let bin = dir.path().join("rootsift");
    fs::copy(rootsift(), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    for (target, command) in [
        (&file, "scan"),
        (&sub, "scan"),
        (&file, "inspect"),
        (&sub, "sigscan fs"),
    ] {
        let (code, out, err) = sh(&format!(
            "runuser -u nobody -- {} {command} {} -o json",
            bin.display(),
            target.display()
        ));
        assert_eq!(code, 2, "{command} {}: {err}", target.display());
        assert!(out.is_empty(), "a report was printed: {out}");
        assert_eq!(
            err.trim_end(),
            format!(
                "rootsift: error: {}: cannot be read: Permission denied (os error 13)",
                target.display()
            )
        );
    }
    // Inside a tree, an unreadable entry is an error in the report, not the exit code.
    let (code, out, err) = sh(&format!(
        "runuser -u nobody -- {} scan -o json {}",
        bin.display(),
        dir.path().display()
    ));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut errors: Vec<&str> = entries(&doc, "errors")
        .iter()
        .map(|e| field(e, "fileLocation"))
        .collect();
    errors.sort_unstable();
    assert_eq!(errors, ["/private", "/secret.pem"], "{doc}");
}

#[test]
fn a_missing_path_is_no_such_file_and_no_request_is_made() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/nonexistent/rootsift", dir.path().join("dangling")).unwrap();
    fs::create_dir(dir.path().join("certs")).unwrap();
    // With the network namespace cut off, a request would fail with a resolver or connect error,
    // and the message would say it was tried as a registry image.
    for (arg, wanted) in [
        ("./nosuchdir", "./nosuchdir: no such file or directory"),
        (
            "/nonexistent/dir",
            "/nonexistent/dir: no such file or directory",
        ),
        ("~/nope", "~/nope: no such file or directory"),
        ("ca.pem", "ca.pem: no such file or directory"),
        ("certs/nosuch", "certs/nosuch: no such file or directory"),
        (
            "certs/bundle.crt",
            "certs/bundle.crt: no such file or directory",
        ),
        ("Nosuch", "Nosuch: no such file or directory"),
        (
            "dangling",
            "dangling: a symbolic link to /nonexistent/rootsift, which does not exist",
        ),
    ] {
        let (code, out, err) = sh(&format!(
            "cd {} && unshare -n \"$RS\" scan '{arg}'",
            dir.path().display()
        ));
        assert_eq!(code, 2, "{arg}: {err}");
        assert!(out.is_empty());
        assert_eq!(
            err.trim_end(),
            format!("rootsift: error: {wanted}"),
            "{arg}"
        );
    }
}

#[test]
fn a_bare_name_is_tried_as_a_registry_image_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = sh(&format!(
        "cd {} && unshare -n timeout 60 \"$RS\" scan nosuchdir",
        dir.path().display()
    ));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "rootsift: error: nosuchdir: not a file or directory; tried as docker://docker.io/library/nosuchdir:latest: "
        ),
        "{err}"
    );
    // Registry access off: by flag and by environment, for bare names and docker:// alike.
    for (env, flag) in [("", "--no-registry"), ("ROOTSIFT_NO_REGISTRY=1", "")] {
        let (code, _, err) = sh(&format!(
            "cd {} && {env} unshare -n \"$RS\" scan {flag} nosuchdir",
            dir.path().display()
        ));
        assert_eq!(code, 2);
        assert_eq!(
            err.trim_end(),
            "rootsift: error: nosuchdir: no such file or directory (not tried as a registry image: registry access is off)"
        );
        let (code, _, err) = sh(&format!(
            "{env} unshare -n \"$RS\" scan {flag} docker://registry.example/app:1"
        ));
        assert_eq!(code, 2);
        assert_eq!(
            err.trim_end(),
            "rootsift: error: docker://registry.example/app:1: registry access is off (--no-registry or ROOTSIFT_NO_REGISTRY)"
        );
    }
    // A local image still opens with registry access off.
    let layout = fixtures_base().join("images/oci");
    let run = run_rootsift(
        [
            "scan",
            "--no-registry",
            "-o",
            "json",
            &format!("oci:{}:test", layout.display()),
        ],
        T,
    );
    assert!(run.status.success(), "{}", run.stderr);
}

#[test]
fn what_is_not_an_image_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("passwd");
    fs::write(
        &text,
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            .repeat(20),
    )
    .unwrap();
    let short = dir.path().join("hostname");
    fs::write(&short, "host\n").unwrap();
    let d = dir.path().display();
    for (arg, wanted) in [
        (
            format!("docker-archive:{d}/hostname"),
            "hostname: not a tar archive",
        ),
        (
            format!("oci-archive:{d}/passwd"),
            "passwd: not a tar archive",
        ),
        (
            format!("docker-archive:{d}/nosuch.tar"),
            "nosuch.tar: no such file",
        ),
        (
            format!("docker-archive:{d}"),
            ": a directory, not a tar archive",
        ),
        (
            format!("oci:{d}/nonexistent:tag"),
            "nonexistent:tag: no such directory",
        ),
        (
            format!("oci:{d}:tag"),
            "not an OCI image layout (no oci-layout file in it)",
        ),
        (format!("oci:{d}/passwd"), "passwd: not a directory"),
    ] {
        let run = run_rootsift(["scan", arg.as_str()], T);
        assert_one_error_line(&run, wanted);
        assert!(
            !run.stderr.contains("root:x"),
            "the file's bytes were echoed: {}",
            run.stderr
        );
    }
    for (input, wanted) in [
        (&b"hello\n"[..], "-: the input is not a tar archive"),
        (&b""[..], "-: the input is empty"),
    ] {
        let stdin = dir.path().join("stdin");
        fs::write(&stdin, input).unwrap();
        let run = run_rootsift_with_stdin(
            ["scan", "-"],
            Stdio::from(fs::File::open(&stdin).unwrap()),
            T,
        );
        assert_one_error_line(&run, wanted);
    }
    // A tar whose second header is garbage: one line, the tar reader's quote of it left out.
    let image = fixtures_base().join("images/test.docker.tar");
    let cut = dir.path().join("cut.tar");
    let mut bytes = fs::read(&image).unwrap();
    let size = std::str::from_utf8(&bytes[124..136])
        .unwrap()
        .trim_matches(['\0', ' ']);
    let second = 512 + u64::from_str_radix(size, 8).unwrap().div_ceil(512) as usize * 512;
    bytes[second..second + 512].copy_from_slice(&[b'z'; 512]);
    fs::write(&cut, bytes).unwrap();
    let run = run_rootsift(["scan", &format!("docker-archive:{}", cut.display())], T);
    assert_one_error_line(&run, "malformed tar archive");
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    let tree = fixtures().join("tree");
    for format in ["table", "jsonl", "json", "pem", "wide"] {
        // The reader is gone before the first write.
        let mut child = Command::new(rootsift())
            .args(["scan", "-o", format])
            .arg(&tree)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format}");
    }
    // `| head -1` as a user types it.
    let (code, out, err) = sh(&format!(
        "set -o pipefail; \"$RS\" scan -o jsonl {} | head -n 1",
        tree.display()
    ));
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out.lines().count(), 1);
    let (code, _, err) = sh(&format!(
        "\"$RS\" scan -o json {} > /dev/full",
        tree.display()
    ));
    assert_eq!(code, 2);
    assert_eq!(
        err.trim_end(),
        "rootsift: error: writing output: No space left on device (os error 28)"
    );
}

/// A tree whose file names and certificate names try to drive the terminal or forge lines.
struct Hostile {
    dir: tempfile::TempDir,
    name: String,
    subject_fp: String,
}

const EVIL_NAME: &str = "evil\u{1b}[2J\u{1b}]0;pwned\u{7}\nforged line\r.pem";

fn hostile_tree() -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        fixture("etc/pki/fixtures/root-ca.pem"),
        dir.path().join(EVIL_NAME),
    )
    .unwrap();
    // A certificate whose common name holds ESC and a newline (openssl -utf8 writes it as it is).
    let keys = tempfile::tempdir().unwrap();
    let subject_fp = openssl_self_signed(
        &dir.path().join("evil-subject.pem"),
        &keys.path().join("evil.key"),
        "/CN=x\u{1b}[31mred\nline2/O=Evil",
    );
    // A signed PE under a hostile name, for sigscan's table.
    fs::copy(
        fixtures_base().join("signed/tree/opt/msvc/vcruntime140.dll"),
        dir.path().join("sig\u{1b}[1A\n.dll"),
    )
    .unwrap();
    Hostile {
        name: format!("/{EVIL_NAME}"),
        dir,
        subject_fp,
    }
}

/// No raw control character but the line breaks of the format itself.
fn assert_no_controls(what: &str, out: &str) {
    for (i, line) in out.lines().enumerate() {
        assert!(
            !line.chars().any(|c| c.is_control()),
            "{what}: line {} holds a control character: {line:?}",
            i + 1
        );
    }
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    let h = hostile_tree();
    let root = h.dir.path();
    let escaped_name = "/evil\\x1b[2J\\x1b]0;pwned\\x07\\nforged line\\r.pem";
    for format in ["table", "wide"] {
        let run = run_rootsift(["scan", "-o", format, root.to_str().unwrap()], T);
        assert!(run.status.success(), "{}", run.stderr);
        let out = stdout(&run);
        assert_no_controls(format, &out);
        // No forged line: every line is a row, a heading, blank or the summary.
        assert!(
            out.lines().all(|l| l.is_empty()
                || l.starts_with('/')
                || l.starts_with("FILE LOCATION")
                || l.starts_with("Found ")),
            "{format}:\n{out}"
        );
        assert!(out.contains(escaped_name), "{format}:\n{out}");
        assert!(out.contains("CN=x\\x1b[31mred\\nline2"), "{format}:\n{out}");
    }
    let run = run_rootsift(["scan", "-o", "pem", root.to_str().unwrap()], T);
    let out = stdout(&run);
    assert_no_controls("pem", &out);
    for line in out.lines() {
        assert!(
            line.starts_with("# ")
                || line.starts_with("-----")
                || line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
            "a line outside the PEM grammar: {line:?}"
        );
    }
    assert!(out.contains(&format!("# {escaped_name}\n")), "{out}");
    // Comment lines and blocks are as many as the certificates, openssl reads both back.
    let pem = root.join("out.pem.txt");
    fs::write(&pem, &out).unwrap();
    let (_, fps, _) = sh(&format!(
        "openssl storeutl -noout -certs {} | grep -c ': Certificate$'",
        pem.display()
    ));
    let blocks = out.matches("-----BEGIN CERTIFICATE-----").count();
    assert!(blocks >= 2, "{out}");
    assert_eq!(fps.trim(), blocks.to_string(), "{out}");
    fs::remove_file(&pem).unwrap();
    // The JSON report keeps the names exactly.
    let doc = scan_json(root, &[]);
    let locations: Vec<&str> = entries(&doc, "certificates")
        .iter()
        .map(|c| field(c, "fileLocation"))
        .collect();
    assert!(locations.contains(&h.name.as_str()), "{locations:?}");
    assert!(
        entries(&doc, "certificates")
            .iter()
            .any(|c| field(c, "fingerprintSHA256") == h.subject_fp),
        "{doc}"
    );
    // inspect's and validate's text, sigscan's tables.
    let policy_dir = tempfile::tempdir().unwrap();
    let policy = policy_dir.path().join("policy.yaml");
    fs::write(
        &policy,
        "version: \"1\"\nallow:\n  - subject: '^CN=nothing'\n",
    )
    .unwrap();
    for args in [
        vec!["inspect", "-o", "table"],
        vec!["validate", "-c", policy.to_str().unwrap()],
        vec!["sigscan", "fs", "-o", "table"],
        vec!["sigscan", "fs", "-o", "wide"],
    ] {
        let mut args = args.clone();
        args.push(root.to_str().unwrap());
        let run = run_rootsift(&args, T);
        let out = stdout(&run);
        assert_no_controls(&args.join(" "), &out);
        assert!(
            out.contains("\\x1b["),
            "{}: nothing escaped:\n{out}",
            args.join(" ")
        );
    }
    // An error message quoting a name stays one line.
    let run = run_rootsift(
        ["scan", &format!("{}/nosuch\n\u{1b}[2Jx", root.display())],
        T,
    );
    assert_one_error_line(&run, "no such file or directory");
    assert!(!run.stderr.contains('\u{1b}'));
}

/// Runs `command` (through sh) on a pseudo-terminal `columns` wide; returns what it printed.
fn on_terminal(command: &str, columns: usize) -> String {
    let out = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("stty cols {columns} rows 50; {command}"))
        .arg("/dev/null")
        .env("RS", rootsift())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

#[test]
fn table_on_a_terminal_fits_its_width_and_wide_keeps_everything() {
    use unicode_width::UnicodeWidthStr;
    let tree = fixtures().join("tree");
    let long = tempfile::tempdir().unwrap();
    let deep = long.path().join("a-rather-long-directory-name/".repeat(6));
    fs::create_dir_all(&deep).unwrap();
    fs::copy(
        fixture("etc/pki/fixtures/fullchain-rsa.pem"),
        deep.join("chain.pem"),
    )
    .unwrap();
    for target in [tree.as_path(), long.path()] {
        let doc = scan_json(target, &[]);
        let fingerprints: Vec<&str> = entries(&doc, "certificates")
            .iter()
            .map(|c| field(c, "fingerprintSHA256"))
            .collect();
        for columns in [100, 240] {
            let table = on_terminal(
                &format!("\"$RS\" scan {} 2>/dev/null", target.display()),
                columns,
            );
            let rows: Vec<&str> = table.lines().collect();
            assert!(rows.len() > 3, "{table}");
            for row in &rows {
                assert!(row.width() <= columns, "{} cells wide: {row}", row.width());
            }
            assert!(
                table.contains('…'),
                "nothing was cut at {columns}:\n{table}"
            );
            // Every certificate is there; its fingerprint keeps 15 digits on a narrow terminal,
            // all 64 on a wide one, where only paths and subjects give.
            for fp in &fingerprints {
                let kept = if columns > 200 { fp } else { &fp[..15] };
                assert!(table.contains(kept), "{kept} at {columns}:\n{table}");
            }
        }
        let wide = on_terminal(
            &format!("\"$RS\" scan -o wide {} 2>/dev/null", target.display()),
            150,
        );
        assert!(!wide.contains('…'), "wide was cut");
        assert!(wide.lines().any(|l| l.width() > 150));
    }
    // Not a terminal: nothing is cut.
    let run = run_rootsift(["scan", "-o", "table", long.path().to_str().unwrap()], T);
    assert!(!stdout(&run).contains('…'));
}

#[test]
fn counts_are_worded_for_one_and_many() {
    let run = run_rootsift(
        [
            "scan",
            "-o",
            "table",
            fixture("etc/pki/fixtures/root-ca.pem").to_str().unwrap(),
        ],
        T,
    );
    let out = stdout(&run);
    let summary = out.lines().last().unwrap();
    assert!(
        summary.starts_with("Found 1 certificate (1 unique), 0 partials, 0 errors in 1 file ("),
        "{summary}"
    );
    let help = Command::new(rootsift())
        .args(["validate", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    assert_eq!(text.matches("[default: text]").count(), 1, "{text}");
    let help = Command::new(rootsift())
        .args(["version", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("Mozilla"));
}
