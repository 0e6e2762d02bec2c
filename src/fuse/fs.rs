//! The FUSE filesystem: answers the kernel from the [`View`] and reads file data from the layers'
//! uncompressed tars with `pread`. Read-only: every change is refused with `EROFS`.
//!
//! The view is built on the first request that needs it (the first lookup, getattr or readdir),
//! which opens every layer (fetching, verifying and caching those not cached yet); mounting itself
//! reads only the image's metadata. A layer that cannot be opened is logged and left out; a read
//! that fails is logged and answered with `EIO`; the mount stays up.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, WriteFlags,
};

use super::view::{Inode, View};
use crate::source::image::LayerSet;
use crate::source::image::layerset::OpenLayer;
use crate::source::layers::{self, Kind};

/// How long the kernel may cache attributes and entries: the image never changes.
const TTL: Duration = Duration::from_secs(3600);
/// Block size reported to the kernel.
const BLOCK: u32 = 4096;
/// Largest read served in one request (the kernel's own cap is usually lower).
const MAX_READ: u32 = 1 << 20;

/// The view and the open layers it reads from.
struct Mounted {
    view: View,
    layers: Vec<Option<Arc<OpenLayer>>>,
}

/// A read-only FUSE filesystem over one image.
pub struct ImageFs {
    set: Arc<LayerSet>,
    threads: usize,
    mounted: OnceLock<Mounted>,
    /// The kernel opens files without asking (FUSE_NO_OPEN_SUPPORT): no open or release
    /// round trip per file, and the page cache is kept.
    no_open: bool,
    /// The same for directories (FUSE_NO_OPENDIR_SUPPORT), whose listings are then cached.
    no_opendir: bool,
}

fn log(message: std::fmt::Arguments<'_>) {
    eprintln!("rootsift mount: {message}");
}

impl ImageFs {
    /// A filesystem for `set`; layers are opened `threads` at a time on first need.
    pub fn new(set: Arc<LayerSet>, threads: usize) -> ImageFs {
        ImageFs {
            set,
            threads,
            mounted: OnceLock::new(),
            no_open: false,
            no_opendir: false,
        }
    }

    fn mounted(&self) -> &Mounted {
        self.mounted.get_or_init(|| {
            let opened = self.set.open_all(self.threads);
            let mut indexes = Vec::new();
            let mut layers = Vec::new();
            for result in opened {
                match result {
                    Ok(layer) => {
                        indexes.push(layer.index.clone());
                        layers.push(Some(layer));
                    }
                    Err(e) => {
                        log(format_args!("{e}; its files are missing from the mount"));
                        layers.push(None);
                    }
                }
            }
            Mounted {
                view: View::new(&layers::squash(&indexes)),
                layers,
            }
        })
    }

    fn attr(ino: u64, inode: &Inode) -> FileAttr {
        let node = &inode.node;
        let kind = match node.kind {
            Kind::Dir => FileType::Directory,
            Kind::Symlink { .. } => FileType::Symlink,
            Kind::CharDevice => FileType::CharDevice,
            Kind::BlockDevice => FileType::BlockDevice,
            Kind::Fifo => FileType::NamedPipe,
            _ => FileType::RegularFile,
        };
        let size = match &node.kind {
            Kind::Symlink { target } => target.len() as u64,
            Kind::Dir => 0,
            _ => node.size,
        };
        let time = UNIX_EPOCH + Duration::from_secs(node.meta.mtime);
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind,
            perm: (node.mode & 0o7777) as u16,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: u32::try_from(node.meta.uid).unwrap_or(u32::MAX),
            gid: u32::try_from(node.meta.gid).unwrap_or(u32::MAX),
            rdev: libc::makedev(node.meta.major, node.meta.minor) as u32,
            flags: 0,
            blksize: BLOCK,
        }
    }
}

impl Filesystem for ImageFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Large sequential reads: let the kernel read ahead and ask for big chunks. Nothing
        // changes under the mount, so link targets may stay in the page cache too.
        let _ = config.set_max_readahead(MAX_READ);
        let _ = config.add_capabilities(fuser::InitFlags::FUSE_CACHE_SYMLINKS);
        // Opening an immutable file needs no answer from us: where the kernel can open without
        // asking, it keeps the page cache and sends neither open nor release.
        self.no_open = config
            .add_capabilities(fuser::InitFlags::FUSE_NO_OPEN_SUPPORT)
            .is_ok();
        self.no_opendir = config
            .add_capabilities(fuser::InitFlags::FUSE_NO_OPENDIR_SUPPORT)
            .is_ok();
        Ok(())
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.mounted().view.get(ino.0).map(|i| &i.node.kind) {
            // ENOSYS here means "open without asking from now on" (see `init`).
            Some(Kind::Dir) if self.no_opendir => reply.error(Errno::ENOSYS),
            // The listing never changes: the kernel may cache it and answer later readdirs.
            Some(Kind::Dir) => reply.opened(
                FileHandle(0),
                FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE,
            ),
            Some(_) => reply.error(Errno::ENOTDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let view = &self.mounted().view;
        match view.lookup(parent.0, name.as_bytes()) {
            Some(ino) => match view.get(ino) {
                Some(inode) => reply.entry(&TTL, &Self::attr(ino, inode), Generation(0)),
                None => reply.error(Errno::ENOENT),
            },
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.mounted().view.get(ino.0) {
            Some(inode) => reply.attr(&TTL, &Self::attr(ino.0, inode)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.mounted().view.get(ino.0).map(|i| &i.node.kind) {
            Some(Kind::Symlink { target }) => reply.data(target),
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(inode) = self.mounted().view.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        match inode.node.kind {
            // ENOSYS here means "open without asking from now on" (see `init`); reads of
            // entries without data still fail in `read`.
            Kind::File if self.no_open => reply.error(Errno::ENOSYS),
            // Immutable content: the page cache may keep it across opens, and closing it needs
            // no flush.
            Kind::File => reply.opened(
                FileHandle(0),
                FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_NOFLUSH,
            ),
            Kind::Dir => reply.error(Errno::EISDIR),
            // Sparse and unknown entries have no contiguous data to serve; devices and FIFOs
            // are opened by the kernel itself, never here.
            _ => reply.error(Errno::EIO),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let mounted = self.mounted();
        let Some(inode) = mounted.view.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let node = &inode.node;
        if node.kind != Kind::File {
            return reply.error(Errno::EIO);
        }
        if offset >= node.size {
            return reply.data(&[]);
        }
        let Some(Some(layer)) = mounted.layers.get(node.layer) else {
            return reply.error(Errno::EIO);
        };
        let len = (node.size - offset).min(u64::from(size.min(MAX_READ))) as usize;
        let mut buf = vec![0; len];
        let at = layer.data.base + node.offset + offset;
        let mut got = 0;
        while got < len {
            match layer.data.file.read_at(&mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log(format_args!(
                        "reading inode {ino:?} of layer {}: {e}",
                        node.layer
                    ));
                    return reply.error(Errno::EIO);
                }
            }
        }
        if got < len {
            log(format_args!(
                "reading inode {ino:?}: layer {} ends early (its cache file changed?)",
                node.layer
            ));
            return reply.error(Errno::EIO);
        }
        reply.data(&buf);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let view = &self.mounted().view;
        let Some(dir) = view.get(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        if dir.node.kind != Kind::Dir {
            return reply.error(Errno::ENOTDIR);
        }
        // Offsets are positions in the fixed, sorted child list: they survive any number of
        // readdir calls on a large directory. 0 and 1 are `.` and `..`.
        let dots = [(ino.0, &b"."[..]), (dir.parent, &b".."[..])];
        let children = view.children(ino.0).iter().map(|(n, i)| (*i, n.as_slice()));
        for (i, (child, name)) in dots
            .into_iter()
            .chain(children)
            .enumerate()
            .skip(offset as usize)
        {
            let kind = view
                .get(child)
                .map_or(FileType::RegularFile, |c| Self::attr(child, c).kind);
            if reply.add(INodeNo(child), i as u64 + 1, kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let view = &self.mounted().view;
        let blocks = view.bytes().div_ceil(u64::from(BLOCK));
        reply.statfs(blocks, 0, 0, view.len() as u64, 0, BLOCK, 255, BLOCK);
    }

    // Everything that would change the image is refused (the `ro` mount option already makes
    // the kernel refuse most of it before asking).

    fn setattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        _size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mkdir(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn unlink(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn rmdir(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &std::path::Path,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn rename(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _newparent: INodeNo,
        _newname: &OsStr,
        _flags: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        reply.error(Errno::EROFS);
    }

    fn create(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(Errno::EROFS);
    }

    fn setxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn removexattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }
}
