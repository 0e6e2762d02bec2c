//! `rootsift mount IMAGE MOUNTPOINT`: the read-only FUSE view, in the foreground or detached.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use rootsift::fuse;
use rootsift::source::Target;

use super::image::ImageArgs;
use super::{EXIT_ERROR, EXIT_OK, error_line};

/// The environment variable through which a detached mount tells its parent it is ready.
const READY_FD: &str = "ROOTSIFT_MOUNT_READY_FD";

#[derive(Debug, Args)]
pub struct MountArgs {
    /// The image, in any form `scan` takes (docker-archive:, oci:, oci-archive:, docker://, a
    /// bare path or reference; not `-`).
    #[arg(value_name = "IMAGE")]
    image: String,

    /// An empty directory to mount it on.
    #[arg(value_name = "MOUNTPOINT")]
    mountpoint: PathBuf,

    #[command(flatten)]
    images: ImageArgs,

    /// Threads serving the mount and opening layers [default: one per CPU, at least 4].
    #[arg(
        short = 'j',
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    threads: usize,

    /// Detach once mounted; unmount with `fusermount3 -u MOUNTPOINT` (or `umount`).
    #[arg(long)]
    daemon: bool,

    /// With --daemon: where the detached process writes its log lines [default: discarded].
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Checks the mount point, clearing a stale mount a killed process left behind.
fn check_mountpoint(mountpoint: &Path) -> Result<(), String> {
    let shown = mountpoint.display();
    if fuse::is_stale(mountpoint) {
        eprintln!(
            "rootsift mount: {shown} is a stale FUSE mount (the process that served it died); unmounting it"
        );
        fuse::unmount(mountpoint).map_err(|e| {
            format!("{shown}: cannot clear the stale mount ({e}); try `fusermount3 -u {shown}`")
        })?;
    }
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(mountpoint).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!("{shown}: not a directory"));
    }
    let parent =
        std::fs::metadata(mountpoint.join("..")).map_err(|e| format!("{shown}/..: {e}"))?;
    if meta.dev() != parent.dev() {
        return Err(format!(
            "{shown} is already a mount point; unmount it first (fusermount3 -u {shown})"
        ));
    }
    Ok(())
}

/// Starts this command again detached (new session, no --daemon) and waits until it has
/// mounted, or has failed (its error line is on the shared stderr).
fn detach(args: &MountArgs) -> i32 {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        error_line(format_args!("pipe: {}", std::io::Error::last_os_error()));
        return EXIT_ERROR;
    }
    // SAFETY: both descriptors were just created and are owned here only.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            error_line(format_args!("cannot find this program: {e}"));
            return EXIT_ERROR;
        }
    };
    let argv: Vec<_> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--daemon")
        .collect();
    let write_raw = fds[1];
    let mut command = std::process::Command::new(exe);
    command
        .args(argv)
        .env(READY_FD, write_raw.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec: setsid, fcntl.
    unsafe {
        command.pre_exec(move || {
            libc::setsid();
            libc::fcntl(write_raw, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            error_line(format_args!("starting the detached mount: {e}"));
            return EXIT_ERROR;
        }
    };
    drop(write_end);
    let mut byte = [0u8; 1];
    let mut pipe = std::fs::File::from(read_end);
    if matches!(pipe.read(&mut byte), Ok(1)) {
        eprintln!(
            "rootsift mount: {} mounted at {} (pid {}); unmount with `fusermount3 -u {}`",
            args.image,
            args.mountpoint.display(),
            child.id(),
            args.mountpoint.display()
        );
        return EXIT_OK;
    }
    // The child ended before it was mounted; it printed why.
    let _ = child.wait();
    EXIT_ERROR
}

/// Once mounted: tells a waiting parent, and sends later log lines to the log file.
fn announce_ready(log: Option<&Path>) {
    let Some(fd) = std::env::var(READY_FD)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
    else {
        return;
    };
    let target = match log {
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path),
        None => std::fs::OpenOptions::new().write(true).open("/dev/null"),
    };
    // SAFETY: `fd` is the pipe's write end our parent passed down; we own it from here.
    let mut pipe = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if let Ok(file) = target {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto stderr of descriptors we hold open.
        unsafe { libc::dup2(file.as_raw_fd(), 2) };
    }
    let _ = std::io::Write::write_all(&mut pipe, b"1");
}

pub fn run(args: MountArgs) -> i32 {
    if args.image == "-" {
        error_line("mount needs an image it can read again; save the stream to a file first");
        return EXIT_ERROR;
    }
    if let Err(message) = check_mountpoint(&args.mountpoint) {
        error_line(message);
        return EXIT_ERROR;
    }
    if args.daemon {
        return detach(&args);
    }
    let set = match Target::resolve_with(&args.image, &args.images.options()) {
        Ok(Target::Image(set)) => set,
        Ok(_) => {
            error_line(format_args!("{}: not an image", args.image));
            return EXIT_ERROR;
        }
        Err(e) => {
            error_line(e);
            return EXIT_ERROR;
        }
    };
    // Before the serving threads start, so that only the signal thread takes SIGINT/SIGTERM.
    fuse::block_termination_signals();
    let log = args.log.clone();
    match fuse::serve(Arc::clone(&set), &args.mountpoint, args.threads, || {
        announce_ready(log.as_deref())
    }) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            // SAFETY: geteuid has no preconditions.
            let as_user = unsafe { libc::geteuid() } != 0;
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied && as_user {
                " (as a user, /dev/fuse must be readable and writable by you, as Debian ships \
                 it (mode 0666), and fusermount3 installed; or mount as root)"
            } else {
                ""
            };
            let point = args.mountpoint.display();
            error_line(format_args!("mounting at {point}: {e}{hint}"));
            EXIT_ERROR
        }
    }
}
