//! A tree built to make a careless scanner hang, escape its root, or give up: a FIFO, a character
//! device (/dev/zero's numbers), a unix socket, symlink loops (file and directory), symlinks that
//! leave the root (absolute and relative) to a certificate outside it, a link to /proc/self/fd, and
//! a 6 GiB sparse file with a certificate past 4 GiB. Every scan runs under a watchdog.
//!
//! Needs root (mknod) and openssl (certificates and their fingerprints, made at test time).

mod common;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const GIB: u64 = 1 << 30;
/// Where the certificate sits in the sparse file: past 4 GiB, not page-aligned.
const SPARSE_OFFSET: u64 = 4 * GIB + 4097;
const SPARSE_LEN: u64 = 6 * GIB;

struct Hostile {
    _base: tempfile::TempDir,
    root: PathBuf,
    ordinary_fp: String,
    sparse_fp: String,
    outside_fp: String,
    _socket: UnixListener,
}

/// A fresh self-signed EC certificate (PEM) at `path`, its key in `keys`; returns openssl's SHA-256.
fn make_cert(path: &Path, keys: &Path, cn: &str) -> String {
    let key = keys.join(format!("{cn}.key"));
    openssl_self_signed(path, &key, &format!("/O=Rootsift Hostile Test/CN={cn}"))
}

fn run_tool(program: &str, args: &[&std::ffi::OsStr], what: &str) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}\nThis test builds special files and must run as root (CI runs as root); \
         it does not skip.",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

fn build() -> Hostile {
    // Under target/ (CARGO_TARGET_TMPDIR): a real disk filesystem with sparse files, unlike a small tmpfs.
    let base = tempfile::Builder::new()
        .prefix("hostile")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir under CARGO_TARGET_TMPDIR");
    let keys = base.path().join("keys");
    let root = base.path().join("root");
    for d in ["plain", "big", "special", "loop/dir", "links"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::create_dir_all(&keys).unwrap();

    // Outside the root: a certificate that only symlinks reach.
    let outside = base.path().join("outside.pem");
    let outside_fp = make_cert(&outside, &keys, "outside-the-root");

    // An ordinary PEM file.
    let ordinary_fp = make_cert(&root.join("plain/ordinary.pem"), &keys, "ordinary");

    // A 6 GiB sparse file holding one PEM certificate past 4 GiB.
    let sparse_pem = keys.join("sparse.pem");
    let sparse_fp = make_cert(&sparse_pem, &keys, "past-four-gib");
    {
        let mut f = File::create(root.join("big/sparse.img")).unwrap();
        f.set_len(SPARSE_LEN).unwrap();
        f.seek(SeekFrom::Start(SPARSE_OFFSET)).unwrap();
        f.write_all(&fs::read(&sparse_pem).unwrap()).unwrap();
        f.sync_all().unwrap();
    }
    assert_eq!(
        fs::metadata(root.join("big/sparse.img")).unwrap().len(),
        SPARSE_LEN
    );

    // Special files: a FIFO nobody writes to, /dev/zero's device node, a listening unix socket.
    let fifo = root.join("special/fifo");
    run_tool("mkfifo", &[fifo.as_os_str()], "mkfifo");
    let zero = root.join("special/zero");
    run_tool(
        "mknod",
        &[zero.as_os_str(), "c".as_ref(), "1".as_ref(), "5".as_ref()],
        "mknod c 1 5 (a /dev/zero node)",
    );
    let socket =
        UnixListener::bind(root.join("special/sock")).expect("bind a unix socket in the tree");

    // Symlinks: a loop of two, a directory loop, out of the root (absolute and relative), dangling,
    // into /proc and to a device outside.
    symlink("b", root.join("loop/a")).unwrap();
    symlink("a", root.join("loop/b")).unwrap();
    symlink("..", root.join("loop/dir/up")).unwrap();
    symlink(&outside, root.join("links/abs.pem")).unwrap();
    symlink("../outside.pem", root.join("escape.pem")).unwrap();
    symlink("/nonexistent/rootsift-hostile", root.join("links/dangling")).unwrap();
    symlink("/proc/self/fd", root.join("links/fd")).unwrap();
    symlink("/dev/zero", root.join("links/zero")).unwrap();
    assert!(
        fs::read_to_string(root.join("escape.pem"))
            .unwrap()
            .contains("BEGIN CERTIFICATE"),
        "escape.pem resolves outside"
    );

    Hostile {
        _base: base,
        root,
        ordinary_fp,
        sparse_fp,
        outside_fp,
        _socket: socket,
    }
}

fn check(extra: &[&str]) {
    let h = build();
    let doc = scan_json(&h.root, extra);

    let expected = multiset([
        ("/plain/ordinary.pem".to_string(), h.ordinary_fp.clone()),
        ("/big/sparse.img".to_string(), h.sparse_fp.clone()),
    ]);
    let found = found_certificates(&doc);
    assert_multiset_eq(&format!("hostile tree {extra:?}"), &expected, &found);

    let escaped: Vec<_> = entries(&doc, "certificates")
        .iter()
        .filter(|c| c["fingerprintSHA256"] == h.outside_fp.as_str())
        .collect();
    assert!(
        escaped.is_empty(),
        "the certificate outside the root was found through a symlink: {escaped:?}"
    );

    let sparse = entries(&doc, "certificates")
        .iter()
        .find(|c| c["fileLocation"] == "/big/sparse.img")
        .unwrap();
    if let Some(offset) = sparse.get("offset") {
        assert_eq!(
            offset.as_u64(),
            Some(SPARSE_OFFSET),
            "offset of the certificate past 4 GiB: {sparse}"
        );
    }

    assert_locations_confined(&doc, &h.root);
    assert_no_errors(&doc);
    assert!(
        entries(&doc, "partials").is_empty(),
        "partials in the hostile tree: {:?}",
        entries(&doc, "partials")
    );
}

#[test]
fn hostile_tree_is_scanned_without_hanging_or_escaping() {
    check(&[]);
}

#[test]
fn hostile_tree_with_one_file_system() {
    check(&["--one-file-system"]);
}
