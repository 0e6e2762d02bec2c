//! The one interface every source implements: a directory, a single file, a squashed image (and
//! later a disk image) each list their entries through [`Source::entries`], and the driver reads
//! and analyzes them without knowing which kind of source it has.
//!
//! Sources push entries to visitors, one visitor per worker thread (the way ripgrep's parallel
//! walker works): a directory walk finds entries on many threads at once, an image's files are
//! shared among threads by index.

use std::fs::File;
use std::path::Path;

use crate::record::LayerOf;

/// How a source lists its entries.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Stay on the filesystem a directory's root is on.
    pub one_file_system: bool,
    /// Worker threads (0: one per CPU).
    pub threads: usize,
    /// In images, also list files that a later layer deleted or replaced.
    pub all_layers: bool,
}

/// Where an entry's bytes are.
#[derive(Debug, Clone, Copy)]
pub enum Bytes<'a> {
    /// A file on disk, opened with [`crate::source::read::open_regular`]'s care.
    Path(&'a Path),
    /// A range of an open file (a file inside an image layer's uncompressed tar).
    Region {
        /// The file.
        file: &'a File,
        /// Where the range starts.
        base: u64,
        /// Its length.
        len: u64,
    },
}

/// A regular file to read.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// Where it is inside the target, starting with `/`.
    pub location: &'a str,
    /// How to read it.
    pub bytes: Bytes<'a>,
    /// In an image: the layer it came from, and whether a later layer hid it.
    pub layer: Option<&'a LayerOf>,
}

/// One thing a source met.
#[derive(Debug)]
pub enum Event<'a> {
    /// A regular file.
    File(Entry<'a>),
    /// Something not read (a symbolic link, special file, pseudo filesystem, device node); counted.
    Skipped,
    /// A part of the target that could not be listed or examined; the rest goes on.
    Error {
        /// Where.
        location: String,
        /// Why.
        error: String,
    },
    /// The target cannot be scanned at all (an image layer that failed to fetch or verify): one
    /// message per cause. Nothing else of it is listed.
    Failed(Vec<String>),
}

/// A visitor of one worker thread.
pub type Visitor<'v> = Box<dyn FnMut(Event<'_>) + Send + 'v>;

/// Makes the visitor of each worker thread.
pub type Visitors<'v> = dyn Fn() -> Visitor<'v> + Sync + 'v;

/// Something whose entries can be listed: a directory, a file, a squashed image.
pub trait Source: Sync {
    /// Lists every entry, each to the visitor of the thread that met it.
    fn entries(&self, options: &SourceOptions, visitors: &Visitors<'_>);
}

/// A single regular file as a source.
#[derive(Debug, Clone, Copy)]
pub struct SingleFile<'a> {
    /// What is read.
    pub path: &'a Path,
    /// Its location in reports.
    pub location: &'a str,
}

impl Source for SingleFile<'_> {
    fn entries(&self, _options: &SourceOptions, visitors: &Visitors<'_>) {
        visitors()(Event::File(Entry {
            location: self.location,
            bytes: Bytes::Path(self.path),
            layer: None,
        }));
    }
}
