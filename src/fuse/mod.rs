//! `rootsift mount`: a read-only FUSE view of an image's squashed filesystem, a thin layer over
//! the layer set ([`crate::source::image::LayerSet`]) and nothing else.
//!
//! [`view`] numbers the squashed tree into inodes; [`fs`] answers the kernel from it and reads
//! data from the layers' uncompressed tars; this module mounts (`ro`, `nosuid`, `nodev`,
//! `default_permissions`; pure-Rust `mount(2)` as root, `fusermount3` otherwise), serves on
//! several threads, and ends cleanly: on SIGINT or SIGTERM it unmounts, and an unmount from
//! outside (`fusermount3 -u`, `umount`) ends the process. A mount point left stale by a killed
//! process (`ENOTCONN`) is detected and cleared before mounting again.

pub mod fs;
pub mod view;

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fuser::{Config, MountOption};

use crate::source::image::LayerSet;

/// Whether `mountpoint` is a FUSE mount whose process is gone (`ENOTCONN` on stat).
pub fn is_stale(mountpoint: &Path) -> bool {
    matches!(std::fs::metadata(mountpoint), Err(e) if e.raw_os_error() == Some(libc::ENOTCONN))
}

/// Unmounts `mountpoint` lazily: `umount2(MNT_DETACH)` as root, else `fusermount3 -u -z`.
pub fn unmount(mountpoint: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(mountpoint.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the mount point"))?;
    // SAFETY: umount2 with a valid NUL-terminated path; no memory is shared.
    if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } == 0 {
        return Ok(());
    }
    let status = std::process::Command::new("fusermount3")
        .args(["-u", "-z"])
        .arg(mountpoint)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "fusermount3 -u failed ({status})"
        )))
    }
}

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts afterwards, so that only
/// [`serve`]'s signal thread receives them. Call before starting any thread.
pub fn block_termination_signals() {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask only changes
    // this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Waits for SIGINT or SIGTERM (blocked by [`block_termination_signals`]).
fn wait_for_termination() -> i32 {
    // SAFETY: as in block_termination_signals; sigwait writes the signal number into `sig`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let mut sig = 0;
        libc::sigwait(&set, &mut sig);
        sig
    }
}

/// Mounts `set` at `mountpoint` and serves it on `threads` threads until it is unmounted (from
/// outside, or here on SIGINT/SIGTERM). `mounted` is called once the mount is in place.
/// [`block_termination_signals`] must have been called first.
pub fn serve(
    set: Arc<LayerSet>,
    mountpoint: &Path,
    threads: usize,
    mounted: impl FnOnce(),
) -> io::Result<()> {
    let threads = match threads {
        0 => crate::parallel::threads(0).max(4),
        n => n,
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::DefaultPermissions,
        MountOption::FSName(format!("rootsift:{}", set.name)),
        MountOption::Subtype("rootsift".into()),
    ];
    config.n_threads = Some(threads);
    config.clone_fd = true;
    let stopping = Arc::new(AtomicBool::new(false));
    let session = fuser::spawn_mount(fs::ImageFs::new(set, threads), mountpoint, &config)?;
    mounted();
    let point = mountpoint.to_path_buf();
    let stop = Arc::clone(&stopping);
    std::thread::spawn(move || {
        let sig = wait_for_termination();
        stop.store(true, Ordering::SeqCst);
        if let Err(e) = unmount(&point) {
            eprintln!(
                "rootsift mount: signal {sig}: unmounting {}: {e}",
                point.display()
            );
            std::process::exit(1);
        }
    });
    let result = session.join();
    // The kernel ended the session because the file system was unmounted: that is success.
    match result {
        Err(e) if !stopping.load(Ordering::SeqCst) && e.raw_os_error() != Some(libc::ENODEV) => {
            Err(e)
        }
        _ => Ok(()),
    }
}
