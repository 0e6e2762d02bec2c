//! Reading one regular file's bytes safely and fast.
//!
//! Small files are `read()` into a buffer reused by the calling thread; large ones are memory-mapped
//! (ripgrep's finding, confirmed here: mapping many small files is slower, mapping large ones faster).
//! Opening never follows a symlink, never blocks on a FIFO and never takes a terminal, and a file
//! that is not regular by the time it is opened is left alone. Sparse files are read by their data
//! extents only (`SEEK_DATA`/`SEEK_HOLE`), so a multi-GiB hole costs nothing. A mapped file that
//! shrinks while it is scanned raises SIGBUS: [`crate::source::sigbus`] turns that into zeros plus an
//! error for the file instead of a dead process.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use super::entry::Bytes;
use super::sigbus;

/// Files at least this large are mapped instead of read.
pub const MAP_THRESHOLD: u64 = 1 << 20;
/// Large files are mapped and scanned this much at a time, so memory stays bounded however large
/// the file (unless the caller needs the whole file at once, as for an archive).
pub const WINDOW: u64 = 64 << 20;
/// Consecutive windows overlap by more than any certificate or PEM block is long, so none is cut.
pub const OVERLAP: u64 = 2 << 20;

/// A piece of a file handed to the visitor.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// Where they start in the file.
    pub offset: u64,
    /// How many bytes from the start this chunk answers for; what begins past it belongs to the next
    /// chunk, which will see it again (the overlap).
    pub owned: u64,
}
/// Most data extents a sparse file is split into; past this the rest is read as one extent.
const MAX_EXTENTS: usize = 4096;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path is not a regular file (any more): a FIFO, socket, device or symlink.
    #[error("not a regular file")]
    NotRegular,
    /// An I/O error from the operating system.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file shrank while mapped (SIGBUS); the part past the new end read as zeros.
    #[error("file was truncated while it was being read")]
    Truncated,
}

/// Opens `path` for reading the way every file of a scan is opened: never through a symbolic link
/// (`ELOOP`), never blocking on a FIFO, never taking a terminal.
pub fn open_regular(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// Reads files for one worker thread, keeping its buffer between files.
#[derive(Default)]
pub struct FileReader {
    buf: Vec<u8>,
    /// Never map (for FUSE and network mounts, where a failed fetch during a page fault is a SIGBUS).
    pub no_mmap: bool,
}

impl FileReader {
    /// Creates a reader; `no_mmap` forces `read()` for every file.
    pub fn new(no_mmap: bool) -> FileReader {
        FileReader {
            buf: Vec::with_capacity(256 << 10),
            no_mmap,
        }
    }

    /// Opens `path` and calls `visit` with its contents: once with the whole file when it is small,
    /// or when `whole(first bytes)` says the caller needs it whole (an archive); otherwise once per
    /// window of each data extent. Returns the number of bytes read.
    pub fn read(
        &mut self,
        path: &Path,
        whole: impl Fn(&[u8]) -> bool,
        mut visit: impl FnMut(Chunk<'_>),
    ) -> Result<u64, ReadError> {
        let file = open_regular(path).map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => ReadError::NotRegular,
            _ => ReadError::Io(e),
        })?;
        let meta = file.metadata()?;
        let ft = meta.file_type();
        if !ft.is_file()
            || ft.is_fifo()
            || ft.is_socket()
            || ft.is_block_device()
            || ft.is_char_device()
        {
            return Err(ReadError::NotRegular);
        }
        let size = meta.len();
        if size < MAP_THRESHOLD {
            self.buf.clear();
            (&file)
                .take(size.max(MAP_THRESHOLD))
                .read_to_end(&mut self.buf)?;
            let owned = self.buf.len() as u64;
            visit(Chunk {
                data: &self.buf,
                offset: 0,
                owned,
            });
            return Ok(owned);
        }
        let extents = data_extents(&file, size, meta.blocks());
        self.read_extents(&file, 0, &extents, whole, &mut visit)
    }

    /// Reads an entry's bytes wherever they are, as [`FileReader::read`] or
    /// [`FileReader::read_region`] does.
    pub fn read_bytes(
        &mut self,
        bytes: Bytes<'_>,
        whole: impl Fn(&[u8]) -> bool,
        visit: impl FnMut(Chunk<'_>),
    ) -> Result<u64, ReadError> {
        match bytes {
            Bytes::Path(path) => self.read(path, whole, visit),
            Bytes::Region { file, base, len } => self.read_region(file, base, len, whole, visit),
        }
    }

    /// Calls `visit` with the bytes of `[base, base + len)` of an open file (a file inside an
    /// image layer's tar), exactly as [`FileReader::read`] does for a whole file; chunk offsets
    /// are relative to `base`.
    pub fn read_region(
        &mut self,
        file: &File,
        base: u64,
        len: u64,
        whole: impl Fn(&[u8]) -> bool,
        mut visit: impl FnMut(Chunk<'_>),
    ) -> Result<u64, ReadError> {
        if len < MAP_THRESHOLD {
            self.read_span(file, base, 0, len, len, &mut visit)?;
            return Ok(len);
        }
        self.read_extents(file, base, &[(0, len)], whole, &mut visit)
    }

    /// Visits the extents (offsets relative to `base`) in windows, or each whole when `whole`
    /// says the caller needs the file at once.
    fn read_extents(
        &mut self,
        file: &File,
        base: u64,
        extents: &[(u64, u64)],
        whole: impl Fn(&[u8]) -> bool,
        visit: &mut impl FnMut(Chunk<'_>),
    ) -> Result<u64, ReadError> {
        let mut head = [0u8; 64];
        let head_len = std::os::unix::fs::FileExt::read_at(file, &mut head, base)?;
        let windowed = !whole(&head[..head_len]);
        let mut total = 0;
        for &(start, len) in extents {
            let step = if windowed { WINDOW } else { len.max(1) };
            let mut at = start;
            while at < start + len {
                let owned = step.min(start + len - at);
                let span = if windowed {
                    (owned + OVERLAP).min(start + len - at)
                } else {
                    owned
                };
                total += owned;
                if self.no_mmap {
                    self.read_span(file, base, at, span, owned, visit)?;
                } else if map_span(file, base, at, span, owned, visit)? {
                    return Err(ReadError::Truncated);
                }
                at += owned;
            }
        }
        Ok(total)
    }

    /// Reads `[base + at, base + at + span)` into the reusable buffer and visits it as offset `at`.
    fn read_span(
        &mut self,
        file: &File,
        base: u64,
        at: u64,
        span: u64,
        owned: u64,
        visit: &mut impl FnMut(Chunk<'_>),
    ) -> Result<(), ReadError> {
        use std::os::unix::fs::FileExt;
        self.buf.resize(span as usize, 0);
        let mut got = 0;
        while got < self.buf.len() {
            match file.read_at(&mut self.buf[got..], base + at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        visit(Chunk {
            data: &self.buf[..got],
            offset: at,
            owned: owned.min(got as u64),
        });
        Ok(())
    }
}

/// Maps `[base + at, base + at + span)` and visits it as offset `at`; returns whether the file
/// shrank under the mapping.
fn map_span(
    file: &File,
    base: u64,
    at: u64,
    span: u64,
    owned: u64,
    visit: &mut impl FnMut(Chunk<'_>),
) -> io::Result<bool> {
    // SAFETY: the mapping is private and read-only. Another process may truncate the file while it
    // is mapped; `sigbus::guard` makes the faulting pages read as zeros instead of killing the
    // process, and reports it so the file is flagged.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(base + at)
            .len(span as usize)
            .map(file)?
    };
    // Only a hint; failure changes nothing.
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(sigbus::guard(&map, || {
        visit(Chunk {
            data: &map,
            offset: at,
            owned,
        })
    }))
}

/// The data extents of a file as (offset, length), page-aligned. A file with no holes (allocated
/// blocks cover its size) is one extent without asking the kernel anything.
fn data_extents(file: &File, size: u64, blocks: u64) -> Vec<(u64, u64)> {
    if blocks.saturating_mul(512) >= size {
        return vec![(0, size)];
    }
    let fd = file.as_raw_fd();
    let page = 4096i64;
    let mut extents = Vec::new();
    let mut pos: i64 = 0;
    let end = size as i64;
    while pos < end {
        // SAFETY: lseek on a descriptor we own; no memory is passed.
        let data = unsafe { libc::lseek(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole remains
            }
            return vec![(0, size)]; // SEEK_DATA unsupported: treat as dense
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        let hole = if hole < 0 { end } else { hole.min(end) };
        let start = data / page * page;
        if extents.len() + 1 >= MAX_EXTENTS {
            extents.push((start as u64, (end - start) as u64));
            break;
        }
        extents.push((start as u64, (hole - start) as u64));
        pos = hole;
    }
    extents
}
