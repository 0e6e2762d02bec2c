//! `rootsift mount` for real: images made by `tests/fixtures/images.sh` mounted with FUSE
//! (`/dev/fuse`, as root), walked with std::fs and with `find`, `cat` and `stat`, written to (and
//! refused), scanned, and unmounted every way a user would.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn images() -> PathBuf {
    let dir = fixtures_base().join("images");
    assert!(
        dir.join(".complete").exists(),
        "the image fixtures are missing from {}; build them: bash tests/fixtures/images.sh",
        dir.display()
    );
    dir
}

/// Whether `path` is a mount point now (`/proc/self/mountinfo`, field 5).
fn is_mounted(path: &Path) -> bool {
    let path = path.to_string_lossy().replace(' ', "\\040");
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path.as_str()))
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A foreground `rootsift mount` child; unmounted and reaped on drop whatever happened.
struct Mounted {
    child: Child,
    point: tempfile::TempDir,
    _cache: Option<tempfile::TempDir>,
}

impl Mounted {
    fn start(image: &str, extra: &[&str]) -> Mounted {
        let cache = tempfile::tempdir().unwrap();
        let mut mounted = Self::start_with_cache(image, extra, cache.path());
        mounted._cache = Some(cache);
        mounted
    }

    fn start_with_cache(image: &str, extra: &[&str], cache: &Path) -> Mounted {
        let point = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_rootsift"))
            .args(["mount", "--cache-dir"])
            .arg(cache)
            .args(extra)
            .arg(image)
            .arg(point.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting rootsift mount");
        let mut mounted = Mounted {
            child,
            point,
            _cache: None,
        };
        let path = mounted.path().to_path_buf();
        wait_until("the image is mounted", Duration::from_secs(30), || {
            if let Ok(Some(status)) = mounted.child.try_wait() {
                let mut err = String::new();
                use std::io::Read;
                let _ = mounted
                    .child
                    .stderr
                    .take()
                    .map(|mut e| e.read_to_string(&mut err));
                panic!("rootsift mount exited with {status} before mounting:\n{err}");
            }
            is_mounted(&path)
        });
        mounted
    }

    fn path(&self) -> &Path {
        self.point.path()
    }

    /// Waits for the process to end after an unmount or a signal; returns its exit code.
    fn wait_exit(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the mount process did not end"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if is_mounted(self.point.path()) {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(self.point.path())
                .status();
        }
    }
}

fn oci_test() -> String {
    format!("oci:{}:test", images().join("oci").display())
}

/// Every entry under `root`, relative, with what it is, never following links.
fn listing(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let ft = meta.file_type();
            let what = if ft.is_dir() {
                stack.push(path.clone());
                "dir".to_string()
            } else if ft.is_symlink() {
                format!("link->{}", fs::read_link(&path).unwrap().display())
            } else if ft.is_fifo() {
                "fifo".to_string()
            } else if ft.is_file() {
                format!(
                    "file {:o} {}",
                    meta.permissions().mode() & 0o7777,
                    meta.len()
                )
            } else {
                "other".to_string()
            };
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, what));
        }
    }
    out.sort();
    out
}

#[test]
fn the_mount_shows_exactly_the_squashed_image() {
    let dir = images();
    let mount = Mounted::start(&oci_test(), &[]);
    let root = mount.path();
    // Same entries, kinds, modes, sizes and link targets as umoci's unpacked tree.
    assert_eq!(listing(root), listing(&dir.join("squashed")));
    // Same bytes in every regular file (hardlinks included).
    for (rel, what) in listing(root) {
        if what.starts_with("file") {
            assert_eq!(
                fs::read(root.join(&rel)).unwrap(),
                fs::read(dir.join("squashed").join(&rel)).unwrap(),
                "{rel}"
            );
        }
    }
    // Whiteouts, the opaque directory and the replaced file.
    assert!(!root.join("etc/ssl/certs/gone.pem").exists());
    assert!(!root.join("etc/ssl/old").exists());
    assert!(!root.join("opt/app/certs/hidden.pem").exists());
    assert!(root.join("opt/app/certs/new.pem").exists());
    // Owners and times as the image records them (umoci unpack keeps both).
    let here = fs::metadata(root.join("etc/ssl/certs/ec.pem")).unwrap();
    let there = fs::metadata(dir.join("squashed/etc/ssl/certs/ec.pem")).unwrap();
    assert_eq!(
        (here.uid(), here.gid(), here.mtime()),
        (there.uid(), there.gid(), there.mtime())
    );
    // External tools see the same.
    let find = Command::new("find")
        .arg(root)
        .args(["-type", "f"])
        .output()
        .unwrap();
    let find_there = Command::new("find")
        .arg(dir.join("squashed"))
        .args(["-type", "f"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&find.stdout).lines().count(),
        String::from_utf8_lossy(&find_there.stdout).lines().count()
    );
    let cat = Command::new("cat")
        .arg(root.join("etc/ssl/certs/bundle.pem"))
        .output()
        .unwrap();
    assert!(cat.status.success());
    assert_eq!(
        cat.stdout,
        fs::read(dir.join("squashed/etc/ssl/certs/bundle.pem")).unwrap()
    );
    let stat = Command::new("stat")
        .args(["-c", "%F %a"])
        .arg(root.join("etc/ssl/certs/fifo.pem"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&stat.stdout).trim(), "fifo 644");
}

#[test]
fn every_change_is_refused_as_read_only() {
    let mount = Mounted::start(&oci_test(), &[]);
    let root = mount.path();
    let erofs = |r: std::io::Result<()>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{what}: {e}");
    };
    erofs(fs::write(root.join("new-file"), b"x"), "create");
    erofs(fs::write(root.join("etc/os-release"), b"x"), "write");
    erofs(fs::remove_file(root.join("etc/os-release")), "unlink");
    erofs(fs::create_dir(root.join("d")), "mkdir");
    erofs(
        fs::rename(root.join("etc/os-release"), root.join("etc/x")),
        "rename",
    );
    erofs(
        fs::set_permissions(
            root.join("etc/os-release"),
            fs::Permissions::from_mode(0o777),
        ),
        "chmod",
    );
    erofs(std::os::unix::fs::symlink("x", root.join("l")), "symlink");
    // The mount options the issue asks for.
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(&*root.to_string_lossy()))
        .expect("the mount in mountinfo");
    for option in ["ro", "nosuid", "nodev", "default_permissions"] {
        assert!(
            line.split([' ', ',']).any(|o| o == option),
            "{option} missing: {line}"
        );
    }
}

#[test]
fn scanning_the_mount_equals_scanning_the_image() {
    let dir = images();
    let mount = Mounted::start(&oci_test(), &[]);
    let doc = scan_json(mount.path(), &[]);
    assert_no_errors(&doc);
    assert_multiset_eq(
        "scan of the mount",
        &read_multiset(&dir.join("expected.tsv")),
        &found_certificates(&doc),
    );
}

#[test]
fn unmounting_ends_the_process_and_signals_unmount() {
    // fusermount3 -u from outside ends the process.
    let mut mount = Mounted::start(&oci_test(), &[]);
    let status = Command::new("fusermount3")
        .arg("-u")
        .arg(mount.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(mount.wait_exit(), 0);
    // SIGTERM and SIGINT unmount cleanly.
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut mount = Mounted::start(&oci_test(), &[]);
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(mount.child.id() as i32, signal) };
        assert_eq!(mount.wait_exit(), 0, "signal {signal}");
        assert!(
            !is_mounted(mount.path()),
            "still mounted after signal {signal}"
        );
    }
}

#[test]
fn a_stale_mount_of_a_killed_process_is_cleared_and_daemon_mode_detaches() {
    let mut first = Mounted::start(&oci_test(), &[]);
    let point = first.point.path().to_path_buf();
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let stale = fs::read_dir(&point).expect_err("a dead mount");
    assert_eq!(stale.raw_os_error(), Some(libc::ENOTCONN));
    let cache = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_rootsift"))
        .args(["mount", "--daemon", "--cache-dir"])
        .arg(cache.path())
        .arg(oci_test())
        .arg(&point)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("stale"),
        "the stale mount is named: {stderr}"
    );
    assert!(is_mounted(&point));
    assert!(point.join("etc/ssl/certs/ca.pem").is_file());
    let status = Command::new("fusermount3")
        .arg("-u")
        .arg(&point)
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("the detached process ends", Duration::from_secs(20), || {
        let out = Command::new("pgrep")
            .args(["-f", &format!("mount.*{}", point.display())])
            .output();
        out.map(|o| o.stdout.is_empty()).unwrap_or(true)
    });
    drop(first);
}

#[test]
fn a_layer_that_cannot_be_read_gives_eio_and_the_rest_stays_readable() {
    let dir = images();
    let cache = tempfile::tempdir().unwrap();
    let image = format!("oci:{}:test", dir.join("oci-zstd").display());
    let mount = Mounted::start_with_cache(&image, &[], cache.path());
    let root = mount.path();
    assert!(root.join("etc").is_dir()); // the view is built: every layer is in the cache now
    // Layer 2 (server.pem, added.crt) loses its bytes under the mount.
    let diff_id = read_tsv(&dir.join("layers.tsv"))[1][2]
        .trim_start_matches("sha256:")
        .to_string();
    let layer = cache.path().join(format!("layers/sha256/{diff_id}.tar"));
    fs::OpenOptions::new()
        .write(true)
        .open(&layer)
        .unwrap()
        .set_len(0)
        .unwrap();
    let err = fs::read(root.join("usr/local/share/ca-certificates/added.crt")).expect_err("EIO");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    // Other layers' files still read, and the mount is still up.
    assert_eq!(
        fs::read(root.join("etc/ssl/certs/ec.pem")).unwrap(),
        fs::read(dir.join("squashed/etc/ssl/certs/ec.pem")).unwrap()
    );
    assert!(matches!(fs::read(root.join("nope")), Err(e) if e.kind() == ErrorKind::NotFound));
}

mod from_a_registry {
    use super::common::registry::{RegistryAuth, TestRegistry};
    use super::*;

    #[test]
    fn mounting_fetches_only_metadata_and_layers_on_first_need() {
        let dir = images();
        let registry = TestRegistry::start(RegistryAuth::None);
        registry.push(
            &format!("oci:{}:test", dir.join("oci").display()),
            "rootsift/test:v1",
        );
        let before = registry.blob_gets();
        let image = format!("{}/rootsift/test:v1", registry.addr());
        let mount = Mounted::start(&image, &["--insecure"]);
        assert_eq!(
            registry.blob_gets() - before,
            1,
            "only the config is fetched to mount"
        );
        let doc = scan_json(mount.path(), &[]);
        assert_multiset_eq(
            "scan of a registry image's mount",
            &read_multiset(&dir.join("expected.tsv")),
            &found_certificates(&doc),
        );
        assert_eq!(
            registry.blob_gets() - before,
            4,
            "each layer fetched once, on first need"
        );
    }

    #[test]
    fn a_layer_the_registry_cannot_serve_is_logged_and_the_mount_stays_up() {
        let dir = images();
        let registry = TestRegistry::start(RegistryAuth::None);
        registry.push(
            &format!("oci:{}:test", dir.join("oci").display()),
            "rootsift/test:v1",
        );
        let image = format!("{}/rootsift/test:v1", registry.addr());
        let mut mount = Mounted::start(&image, &["--insecure"]);
        // Layer 2's blob disappears from the registry after the mount read the manifest.
        let digest = read_tsv(&dir.join("layers.tsv"))[1][1].clone();
        let hex = digest.trim_start_matches("sha256:");
        let blob = registry
            .dir()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex);
        fs::remove_dir_all(&blob).unwrap();
        // Layers 1 and 3 are served; layer 2's file is missing; the mount is up.
        let root = mount.path().to_path_buf();
        assert_eq!(
            fs::read(root.join("etc/ssl/certs/ec.pem")).unwrap(),
            fs::read(dir.join("squashed/etc/ssl/certs/ec.pem")).unwrap()
        );
        assert!(root.join("opt/app/certs/new.pem").is_file());
        assert!(
            !root
                .join("usr/local/share/ca-certificates/added.crt")
                .exists()
        );
        assert!(is_mounted(&root));
        // The log line names the layer.
        Command::new("fusermount3")
            .arg("-u")
            .arg(&root)
            .status()
            .unwrap();
        assert_eq!(mount.wait_exit(), 0);
        let mut err = String::new();
        use std::io::Read;
        mount
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            err.contains(&digest) && err.contains("missing from the mount"),
            "{err}"
        );
    }
}

#[test]
fn a_large_directory_lists_whole_across_readdir_calls() {
    use common::registry::OciLayout;
    let dir = tempfile::tempdir().unwrap();
    let mut layout = OciLayout::new(dir.path());
    let names: Vec<String> = (0..5000)
        .map(|i| format!("big/file-{i:05}-{}", "x".repeat(40)))
        .collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"data"[..])).collect();
    layout.add_image("big", &[&files]);
    let mount = Mounted::start(&layout.reference("big"), &[]);
    let mut listed: Vec<String> = fs::read_dir(mount.path().join("big"))
        .unwrap()
        .map(|e| format!("big/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    listed.sort();
    assert_eq!(
        listed, names,
        "every entry exactly once (many readdir calls, each resuming at its offset)"
    );
}
