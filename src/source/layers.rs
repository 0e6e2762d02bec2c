//! The layer set's pure core: an image's layers presented as one squashed filesystem.
//!
//! Two steps, both free of I/O beyond reading each layer's tar stream once:
//!
//! 1. [`LayerIndex::build`] reads one layer's **uncompressed** tar stream (streaming; nothing is
//!    unpacked to disk and `tar::Archive::unpack` is never used) and records every entry: its
//!    normalised path, [`Kind`], size, mode, the layer's index and the byte offset of the entry's
//!    data in that uncompressed stream, so a later reader can fetch the bytes lazily. GNU long
//!    names and PAX `path`/`linkpath`/`size` are honoured (through the `tar` crate).
//! 2. [`squash`] folds the indexes, lowest layer first, into a [`Tree`]: lookup, directory
//!    listing, and the regular files in path order with where their bytes live.
//!
//! # Names
//!
//! Paths are byte strings (tar names need not be UTF-8), relative to the image root, with no
//! leading `/` or `./`, no empty or `.` components and no trailing `/`. The root itself is the
//! empty path; an entry naming the root (`./`, `/`) is skipped. Hostile names:
//!
//! - a leading `/` is **clamped** (stripped), as docker and containerd do when applying a layer;
//! - `..` is resolved lexically; a `..` that would leave the root is **rejected** with
//!   [`LayerError::Escapes`] (docker's `breakoutError`), for a path or a hardlink target;
//! - longer than [`Limits::max_path_len`] bytes or deeper than [`Limits::max_depth`] components:
//!   [`LayerError::PathTooLong`] / [`LayerError::TooDeep`]; more than [`Limits::max_entries`]
//!   entries in one layer: [`LayerError::TooManyEntries`]. Every error names the layer and entry.
//!
//! Symlink targets are kept verbatim (bounded by `max_path_len`) and never followed or resolved.
//!
//! # Whiteouts (OCI image-spec `layer.md`, "Whiteouts")
//!
//! - `DIR/.wh.NAME` deletes `DIR/NAME` (a file, or a directory with everything under it) as put
//!   there by **lower** layers. It is indexed as [`Kind::Whiteout`] at `DIR/NAME`.
//! - `DIR/.wh..wh..opq` makes `DIR` opaque: everything lower layers put under `DIR` is hidden, what
//!   the same layer adds is kept. Indexed as [`Kind::Opaque`] at `DIR`.
//! - The spec says whiteouts apply only to lower layers; a layer's whiteouts are therefore applied
//!   to the tree of the layers below it *before* any of its own entries, whatever their order in
//!   the tar. Other `.wh..wh.` names (AUFS metadata such as `.wh..wh.plnk`) and `.wh.`, `.wh..`,
//!   `.wh...` are ignored, as docker does. Whiteout files never appear in the [`Tree`].
//!
//! # Replacement (as overlayfs and docker's layer apply behave)
//!
//! Later layers win, and so does a later entry of the same layer. A non-directory replacing a
//! directory removes the directory with everything under it (overlayfs: an upper non-directory
//! hides the lower directory entirely; docker: `os.RemoveAll` before creating the file). A
//! directory replacing a non-directory replaces it; a directory over a directory merges (the
//! upper directory's mode wins). A missing parent directory is created implicitly (marked
//! [`Node::implicit`]). A parent that is a non-directory (file, symlink, ...) is replaced by an
//! implicit directory: docker would fail with `ENOTDIR`, or, for a symlink parent, write through
//! it; we never follow, so the entry stays inside its own path.
//!
//! # Hardlinks
//!
//! A hardlink resolves, when it is applied, to the node its (normalised) target names in the
//! squashed tree built so far: lower layers plus earlier entries of its own layer, which is what
//! docker's `os.Link(root/target, root/name)` sees. The hardlink becomes a copy of that node
//! (same layer, offset, size, mode; [`Node::link`] records the target) — a second name for the
//! same inode. A whiteout or override of the target by a later layer therefore leaves the
//! hardlink with the old content, as in overlayfs and docker (deleting one name of an inode
//! never deletes the others). A hardlink whose target is missing (docker fails the layer) or is
//! a directory (`link(2)` refuses) is left out of the tree and reported in [`Tree::issues`].
//!
//! # Not readable by offset
//!
//! Devices, FIFOs and unknown types are kept as kinds that must never be read. GNU sparse files
//! (type `S`, or PAX `GNU.sparse.*`, named by `GNU.sparse.name` when present) are
//! [`Kind::Sparse`]: their data is not one contiguous run at
//! the recorded offset, so they are not listed by [`Tree::files`].
//!
//! # Known limits
//!
//! The `tar` crate reads a GNU long-name or PAX header's data whole into memory before the path
//! limit can be checked, so one hostile header costs memory up to its size in the layer.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Bound;

/// Bounds on what one layer may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in one layer (every header that names a member, whiteouts included).
    pub max_entries: usize,
    /// Bytes in a name, a hardlink target or a symlink target (before normalisation).
    pub max_path_len: usize,
    /// Components in a normalised path.
    pub max_depth: usize,
}

impl Default for Limits {
    /// One million entries per layer, `PATH_MAX` (4096) bytes, 256 components.
    fn default() -> Self {
        Limits {
            max_entries: 1_000_000,
            max_path_len: 4096,
            max_depth: 256,
        }
    }
}

/// Why a layer could not be indexed. `name` is the entry's raw name, lossily decoded and cut to
/// 256 bytes.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The tar stream is corrupt or truncated, or reading it failed.
    #[error("layer {layer}: reading tar: {source}")]
    Read {
        /// Index of the layer.
        layer: usize,
        /// What the reader or the tar parser said.
        source: std::io::Error,
    },
    /// More entries than [`Limits::max_entries`].
    #[error("layer {layer}: more than {limit} entries (at {name:?})")]
    TooManyEntries {
        /// Index of the layer.
        layer: usize,
        /// The first entry over the limit.
        name: String,
        /// The limit.
        limit: usize,
    },
    /// A name, hardlink or symlink target longer than [`Limits::max_path_len`].
    #[error("layer {layer}: {name:?}: name of {len} bytes exceeds {limit}")]
    PathTooLong {
        /// Index of the layer.
        layer: usize,
        /// The entry.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A path deeper than [`Limits::max_depth`].
    #[error("layer {layer}: {name:?}: {depth} components exceed {limit}")]
    TooDeep {
        /// Index of the layer.
        layer: usize,
        /// The entry.
        name: String,
        /// Its depth.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A name or hardlink target whose `..` leaves the root.
    #[error("layer {layer}: {name:?}: path escapes the root")]
    Escapes {
        /// Index of the layer.
        layer: usize,
        /// The entry.
        name: String,
    },
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// A regular file (also tar's old `\0` and contiguous `7` types).
    File,
    /// A directory.
    Dir,
    /// A symbolic link; the target verbatim, never followed.
    Symlink {
        /// The link's target as stored.
        target: Vec<u8>,
    },
    /// A hard link (only in a [`LayerIndex`]; resolved away by [`squash`]).
    Hardlink {
        /// The normalised path of the linked entry.
        target: Vec<u8>,
    },
    /// A character device: never readable.
    CharDevice,
    /// A block device: never readable.
    BlockDevice,
    /// A FIFO: never readable.
    Fifo,
    /// A GNU sparse file: its data is not contiguous at the recorded offset.
    Sparse,
    /// Any other type flag: never readable.
    Other(u8),
    /// `.wh.NAME`: deletes the entry's path from lower layers (only in a [`LayerIndex`]).
    Whiteout,
    /// `.wh..wh..opq`: the entry's path (a directory) hides lower layers' children (only in a
    /// [`LayerIndex`]).
    Opaque,
}

/// One indexed tar entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Normalised path (see the module documentation).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// Size of its data in bytes (PAX `size` honoured).
    pub size: u64,
    /// Permission bits and set-id/sticky bits from the header.
    pub mode: u32,
    /// Index of the layer it came from.
    pub layer: usize,
    /// Byte offset of its data in the layer's uncompressed tar stream.
    pub offset: u64,
    /// Owner, time and device numbers as the header records them.
    #[serde(default)]
    pub meta: Meta,
}

/// What a tar header records besides name, type, size and mode (shown by the mount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// Owner's user id.
    pub uid: u64,
    /// Owner's group id.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Device major number (device nodes).
    pub major: u32,
    /// Device minor number (device nodes).
    pub minor: u32,
}

/// Every entry of one layer, in tar order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub struct LayerIndex {
    /// Index of this layer in the image, lowest first.
    pub layer: usize,
    /// The entries in the order the tar holds them.
    pub entries: Vec<Entry>,
}

const WH_PREFIX: &[u8] = b".wh.";
const WH_META_PREFIX: &[u8] = b".wh..wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";

fn shown(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(256)]).into_owned()
}

/// Normalises a tar name (see the module documentation); the root is the empty path.
fn normalise(raw: &[u8], layer: usize, limits: &Limits) -> Result<Vec<u8>, LayerError> {
    if raw.len() > limits.max_path_len {
        return Err(LayerError::PathTooLong {
            layer,
            name: shown(raw),
            len: raw.len(),
            limit: limits.max_path_len,
        });
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(LayerError::Escapes {
                        layer,
                        name: shown(raw),
                    });
                }
            }
            _ => parts.push(part),
        }
    }
    if parts.len() > limits.max_depth {
        return Err(LayerError::TooDeep {
            layer,
            name: shown(raw),
            depth: parts.len(),
            limit: limits.max_depth,
        });
    }
    Ok(parts.join(&b'/'))
}

/// Splits a normalised path into (parent, base name).
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        name.to_vec()
    } else {
        [dir, b"/", name].concat()
    }
}

impl LayerIndex {
    /// Re-numbers the index (and its entries) as layer `layer`: a cached index may sit at
    /// another position in another image.
    pub fn renumber(&mut self, layer: usize) {
        self.layer = layer;
        self.entries.iter_mut().for_each(|e| e.layer = layer);
    }

    /// Indexes one layer's uncompressed tar stream, read once, front to back.
    pub fn build<R: Read>(
        layer: usize,
        stream: R,
        limits: &Limits,
    ) -> Result<LayerIndex, LayerError> {
        let read_err = |source| LayerError::Read { layer, source };
        let mut archive = tar::Archive::new(stream);
        let mut entries = Vec::new();
        for item in archive.entries().map_err(read_err)? {
            let mut item = item.map_err(read_err)?;
            // PAX sparse files (GNU tar 1.0 format) carry their real name in `GNU.sparse.name`.
            let mut sparse = false;
            let mut sparse_name = None;
            if let Some(pax) = item.pax_extensions().map_err(read_err)? {
                for ext in pax.flatten() {
                    if ext.key_bytes() == b"GNU.sparse.name" {
                        sparse_name = Some(ext.value_bytes().to_vec());
                    }
                    sparse |= ext.key_bytes().starts_with(b"GNU.sparse.");
                }
            }
            let raw_name = sparse_name.unwrap_or_else(|| item.path_bytes().into_owned());
            if entries.len() >= limits.max_entries {
                return Err(LayerError::TooManyEntries {
                    layer,
                    name: shown(&raw_name),
                    limit: limits.max_entries,
                });
            }
            let path = normalise(&raw_name, layer, limits)?;
            let header = item.header();
            let mode = header.mode().map_err(read_err)?;
            // A malformed number in these fields costs the field, not the layer.
            let meta = Meta {
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
                mtime: header.mtime().unwrap_or(0),
                major: header.device_major().ok().flatten().unwrap_or(0),
                minor: header.device_minor().ok().flatten().unwrap_or(0),
            };
            let size = item.size();
            let offset = item.raw_file_position();
            let link = |item: &tar::Entry<'_, R>| -> Result<Vec<u8>, LayerError> {
                let target = item
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                if target.len() > limits.max_path_len {
                    return Err(LayerError::PathTooLong {
                        layer,
                        name: shown(&raw_name),
                        len: target.len(),
                        limit: limits.max_path_len,
                    });
                }
                Ok(target)
            };
            let kind = match item.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous if sparse => Kind::Sparse,
                tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Symlink => Kind::Symlink {
                    target: link(&item)?,
                },
                tar::EntryType::Link => {
                    let target = normalise(&link(&item)?, layer, limits).map_err(|e| match e {
                        LayerError::Escapes { .. } => LayerError::Escapes {
                            layer,
                            name: shown(&raw_name),
                        },
                        other => other,
                    })?;
                    Kind::Hardlink { target }
                }
                tar::EntryType::Char => Kind::CharDevice,
                tar::EntryType::Block => Kind::BlockDevice,
                tar::EntryType::Fifo => Kind::Fifo,
                tar::EntryType::GNUSparse => Kind::Sparse,
                other => Kind::Other(other.as_byte()),
            };
            let (dir, base) = split(&path);
            let (path, kind) = if base == WH_OPAQUE {
                (dir.to_vec(), Kind::Opaque)
            } else if base.starts_with(WH_META_PREFIX) {
                continue; // AUFS metadata (`.wh..wh.plnk`, ...): ignored.
            } else if let Some(name) = base.strip_prefix(WH_PREFIX) {
                if matches!(name, b"" | b"." | b"..") {
                    continue;
                }
                (join(dir, name), Kind::Whiteout)
            } else if path.is_empty() {
                continue; // the root itself
            } else {
                (path, kind)
            };
            entries.push(Entry {
                path,
                kind,
                size,
                mode,
                layer,
                offset,
                meta,
            });
        }
        Ok(LayerIndex { layer, entries })
    }
}

/// One node of the squashed tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is: never [`Kind::Hardlink`], [`Kind::Whiteout`] or [`Kind::Opaque`].
    pub kind: Kind,
    /// Mode bits (for a resolved hardlink, its target's).
    pub mode: u32,
    /// Size of the data in bytes.
    pub size: u64,
    /// Layer holding the data (for an implicit directory, the layer that needed it).
    pub layer: usize,
    /// Offset of the data in that layer's uncompressed tar stream.
    pub offset: u64,
    /// For a resolved hardlink, the path it named.
    pub link: Option<Vec<u8>>,
    /// A directory no entry named, created because something lives under it.
    pub implicit: bool,
    /// Owner, time and device numbers (zero for an implicit directory).
    pub meta: Meta,
}

/// Something [`squash`] left out, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A hardlink whose target did not exist when it was applied.
    DanglingHardlink {
        /// Layer of the hardlink.
        layer: usize,
        /// Path of the hardlink.
        path: Vec<u8>,
        /// The missing target.
        target: Vec<u8>,
    },
    /// A hardlink to a directory.
    HardlinkToDir {
        /// Layer of the hardlink.
        layer: usize,
        /// Path of the hardlink.
        path: Vec<u8>,
        /// The directory.
        target: Vec<u8>,
    },
}

/// The squashed view of a layer set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    nodes: BTreeMap<Vec<u8>, Node>,
    issues: Vec<Issue>,
}

/// A regular file of the tree and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRef<'a> {
    /// Normalised path.
    pub path: &'a [u8],
    /// Layer holding the bytes.
    pub layer: usize,
    /// Offset of the bytes in the layer's uncompressed tar stream.
    pub offset: u64,
    /// Number of bytes.
    pub size: u64,
}

/// Keys strictly under `dir` (all descendants), as a range.
fn under(dir: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    if dir.is_empty() {
        return (Bound::Unbounded, Bound::Unbounded);
    }
    // Every descendant starts with "dir/"; "dir0" is the first key past them ('0' = '/' + 1).
    (
        Bound::Excluded([dir, b"/"].concat()),
        Bound::Excluded([dir, b"0"].concat()),
    )
}

impl Tree {
    /// The node at `path` (normalised form: no leading `/`; the empty path is the root, which is
    /// reported as an implicit directory).
    pub fn lookup(&self, path: impl AsRef<[u8]>) -> Option<Node> {
        let path = path.as_ref();
        if path.is_empty() {
            return Some(Node {
                kind: Kind::Dir,
                mode: 0o755,
                size: 0,
                layer: 0,
                offset: 0,
                link: None,
                implicit: true,
                meta: Meta::default(),
            });
        }
        self.nodes.get(path).cloned()
    }

    /// The regular files, in byte order of their paths.
    pub fn files(&self) -> impl Iterator<Item = FileRef<'_>> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.kind == Kind::File)
            .map(|(p, n)| FileRef {
                path: p,
                layer: n.layer,
                offset: n.offset,
                size: n.size,
            })
    }

    /// The direct children of directory `dir` as (base name, node), in name order; `None` if
    /// `dir` is not a directory of the tree.
    pub fn list(&self, dir: impl AsRef<[u8]>) -> Option<Vec<(&[u8], &Node)>> {
        let dir = dir.as_ref();
        if !dir.is_empty() && self.nodes.get(dir).map(|n| &n.kind) != Some(&Kind::Dir) {
            return None;
        }
        let skip = if dir.is_empty() { 0 } else { dir.len() + 1 };
        let mut out: Vec<(&[u8], &Node)> = self
            .nodes
            .range::<Vec<u8>, _>(under(dir))
            .filter_map(|(p, n)| {
                let name = &p[skip..];
                (!name.contains(&b'/')).then_some((name, n))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        Some(out)
    }

    /// Every node with its path, in path order.
    pub fn nodes(&self) -> impl Iterator<Item = (&[u8], &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_slice(), n))
    }

    /// Number of nodes (the root not counted).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree holds nothing but the root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// What was left out, in the order met.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    fn remove_under(&mut self, dir: &[u8]) {
        let doomed: Vec<Vec<u8>> = self
            .nodes
            .range::<Vec<u8>, _>(under(dir))
            .map(|(p, _)| p.clone())
            .collect();
        for p in doomed {
            self.nodes.remove(&p);
        }
    }

    fn remove(&mut self, path: &[u8]) {
        if self.nodes.remove(path).is_some() {
            self.remove_under(path);
        }
    }

    /// Makes every ancestor of `path` a directory, replacing non-directories.
    fn ensure_parents(&mut self, path: &[u8], layer: usize) {
        let mut i = 0;
        while let Some(rel) = path[i..].iter().position(|&b| b == b'/') {
            let ancestor = &path[..i + rel];
            match self.nodes.get(ancestor) {
                Some(n) if n.kind == Kind::Dir => {}
                found => {
                    if found.is_some() {
                        self.remove(ancestor);
                    }
                    self.nodes.insert(
                        ancestor.to_vec(),
                        Node {
                            kind: Kind::Dir,
                            mode: 0o755,
                            size: 0,
                            layer,
                            offset: 0,
                            link: None,
                            implicit: true,
                            meta: Meta::default(),
                        },
                    );
                }
            }
            i += rel + 1;
        }
    }

    fn put(&mut self, path: &[u8], node: Node) {
        self.ensure_parents(path, node.layer);
        let is_dir = node.kind == Kind::Dir;
        match self.nodes.get(path) {
            Some(old) if old.kind == Kind::Dir && is_dir => {}
            Some(_) => self.remove(path),
            None => {}
        }
        self.nodes.insert(path.to_vec(), node);
    }

    fn apply(&mut self, index: &LayerIndex) {
        for e in &index.entries {
            match e.kind {
                Kind::Whiteout => self.remove(&e.path),
                Kind::Opaque => self.remove_under(&e.path),
                _ => {}
            }
        }
        for e in &index.entries {
            let node = match &e.kind {
                Kind::Whiteout | Kind::Opaque => continue,
                Kind::Hardlink { target } => match self.nodes.get(target.as_slice()) {
                    Some(t) if t.kind == Kind::Dir => {
                        self.issues.push(Issue::HardlinkToDir {
                            layer: e.layer,
                            path: e.path.clone(),
                            target: target.clone(),
                        });
                        continue;
                    }
                    Some(t) => Node {
                        link: Some(target.clone()),
                        implicit: false,
                        ..t.clone()
                    },
                    None => {
                        self.issues.push(Issue::DanglingHardlink {
                            layer: e.layer,
                            path: e.path.clone(),
                            target: target.clone(),
                        });
                        continue;
                    }
                },
                kind => Node {
                    kind: kind.clone(),
                    mode: e.mode,
                    size: e.size,
                    layer: e.layer,
                    offset: e.offset,
                    link: None,
                    implicit: false,
                    meta: e.meta,
                },
            };
            self.put(&e.path, node);
        }
    }
}

/// Folds the layers, lowest first, into one tree (see the module documentation). Memory is
/// bounded by the indexes: at most one node per entry plus its implicit parent directories.
pub fn squash(layers: &[LayerIndex]) -> Tree {
    let mut tree = Tree::default();
    for index in layers {
        tree.apply(index);
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    enum Spec<'a> {
        File(&'a [u8]),
        Dir,
        Symlink(&'a str),
        Hardlink(&'a str),
    }
    use Spec::*;

    /// A layer tar made by GNU tar from a directory holding `files` (created in order).
    fn gnu_tar(files: &[(&str, Spec<'_>)], format: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        for (path, spec) in files {
            let p = root.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            match spec {
                File(data) => std::fs::write(&p, data).unwrap(),
                Dir => std::fs::create_dir_all(&p).unwrap(),
                Symlink(t) => std::os::unix::fs::symlink(t, &p).unwrap(),
                Hardlink(t) => std::fs::hard_link(root.join(t), &p).unwrap(),
            }
        }
        let out = Command::new("tar")
            .arg(format!("--format={format}"))
            .args(["--sort=name", "-C"])
            .arg(&root)
            .args(["-cf", "-", "."])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn index(layer: usize, tar: &[u8]) -> LayerIndex {
        LayerIndex::build(layer, tar, &Limits::default()).unwrap()
    }

    fn squash_tars(tars: &[Vec<u8>]) -> Tree {
        let indexes: Vec<_> = tars.iter().enumerate().map(|(i, t)| index(i, t)).collect();
        squash(&indexes)
    }

    /// The bytes a file node points at, read from its layer's tar.
    fn bytes<'a>(tars: &'a [Vec<u8>], tree: &Tree, path: &str) -> &'a [u8] {
        let n = tree.lookup(path).unwrap();
        assert_eq!(n.kind, Kind::File, "{path}");
        let start = n.offset as usize;
        &tars[n.layer][start..start + n.size as usize]
    }

    fn names(tree: &Tree) -> Vec<String> {
        tree.nodes
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    /// Raw tar from (name, type, data, link) built with the `tar` crate, names unchecked.
    type Member<'a> = (&'a [u8], tar::EntryType, &'a [u8], &'a [u8]);

    fn raw_tar(members: &[Member<'_>]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, ty, data, link) in members {
            if name.len() > 100 {
                let mut h = tar::Header::new_gnu();
                h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
                h.set_entry_type(tar::EntryType::GNULongName);
                h.set_size(name.len() as u64 + 1);
                h.set_cksum();
                b.append(&h, [*name, b"\0"].concat().as_slice()).unwrap();
            }
            let mut h = tar::Header::new_gnu();
            let n = name.len().min(100);
            h.as_gnu_mut().unwrap().name[..n].copy_from_slice(&name[..n]);
            h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link);
            h.set_entry_type(*ty);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn later_layer_overrides_and_offsets_are_exact() {
        let long = format!("deep/{}/long-name.pem", "x".repeat(150));
        let tars = vec![
            gnu_tar(
                &[
                    ("etc/a.txt", File(b"one")),
                    ("etc/keep.txt", File(b"kept from layer 0")),
                    (&long, File(b"gnu long name")),
                ],
                "gnu",
            ),
            gnu_tar(&[("etc/a.txt", File(b"two, longer"))], "pax"),
        ];
        let tree = squash_tars(&tars);
        assert_eq!(tree.lookup("etc/a.txt").unwrap().layer, 1);
        assert_eq!(bytes(&tars, &tree, "etc/a.txt"), b"two, longer");
        assert_eq!(bytes(&tars, &tree, "etc/keep.txt"), b"kept from layer 0");
        assert_eq!(bytes(&tars, &tree, &long), b"gnu long name");
        let files: Vec<_> = tree.files().map(|f| f.path.to_vec()).collect();
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
        assert_eq!(files.len(), 3);
    }

    #[test]
    fn pax_long_name_offset() {
        let long = format!("{}/cert.pem", "p".repeat(200));
        let tars = vec![gnu_tar(&[(&long, File(b"pax long name"))], "pax")];
        let tree = squash_tars(&tars);
        assert_eq!(bytes(&tars, &tree, &long), b"pax long name");
    }

    #[test]
    fn whiteout_file_and_directory() {
        let tars = vec![
            gnu_tar(
                &[
                    ("etc/x", File(b"x")),
                    ("etc/y", File(b"y")),
                    ("d/a", File(b"a")),
                    ("d/sub/b", File(b"b")),
                    ("dd/c", File(b"c")),
                ],
                "gnu",
            ),
            gnu_tar(&[("etc/.wh.x", File(b"")), (".wh.d", File(b""))], "gnu"),
        ];
        let tree = squash_tars(&tars);
        assert_eq!(names(&tree), ["dd", "dd/c", "etc", "etc/y"]);
        assert!(tree.lookup("etc/.wh.x").is_none());
        assert!(tree.lookup("d/sub/b").is_none());
        let idx = index(1, &tars[1]);
        assert!(
            idx.entries
                .iter()
                .any(|e| e.path == b"etc/x" && e.kind == Kind::Whiteout)
        );
    }

    #[test]
    fn opaque_directory_hides_lower_keeps_same_layer() {
        let tars = vec![
            gnu_tar(
                &[
                    ("d/old", File(b"old")),
                    ("d/sub/old2", File(b"o")),
                    ("e/f", File(b"f")),
                ],
                "gnu",
            ),
            // `--sort=name` puts `.wh..wh..opq` first; the raw tar below puts it last.
            gnu_tar(
                &[("d/.wh..wh..opq", File(b"")), ("d/new", File(b"new"))],
                "gnu",
            ),
        ];
        let tree = squash_tars(&tars);
        assert_eq!(names(&tree), ["d", "d/new", "e", "e/f"]);
        assert_eq!(bytes(&tars, &tree, "d/new"), b"new");

        let upper = raw_tar(&[
            (b"d/new", tar::EntryType::Regular, b"new", b""),
            (b"d/.wh..wh..opq", tar::EntryType::Regular, b"", b""),
            (b"d/.wh..wh.plnk", tar::EntryType::Regular, b"", b""),
        ]);
        let tree = squash(&[index(0, &tars[0]), index(1, &upper)]);
        assert_eq!(names(&tree), ["d", "d/new", "e", "e/f"]);
    }

    #[test]
    fn file_replaces_directory_and_back() {
        let tars = vec![
            gnu_tar(&[("p/child", File(b"c")), ("q", File(b"q"))], "gnu"),
            gnu_tar(&[("p", File(b"now a file"))], "gnu"),
            gnu_tar(&[("p/x", File(b"x")), ("q/y", File(b"y"))], "gnu"),
        ];
        let tree = squash_tars(&tars[..2]);
        assert_eq!(names(&tree), ["p", "q"]);
        assert_eq!(bytes(&tars, &tree, "p"), b"now a file");
        let tree = squash_tars(&tars);
        assert_eq!(names(&tree), ["p", "p/x", "q", "q/y"]);
        assert_eq!(tree.lookup("p").unwrap().kind, Kind::Dir);
        assert_eq!(tree.lookup("q").unwrap().kind, Kind::Dir);
        assert_eq!(tree.lookup("q").unwrap().layer, 2);
    }

    #[test]
    fn hardlink_resolves_and_survives_target_whiteout() {
        let tars = vec![
            gnu_tar(&[("f", File(b"shared")), ("h", Hardlink("f"))], "gnu"),
            gnu_tar(&[(".wh.f", File(b""))], "gnu"),
        ];
        let idx = index(0, &tars[0]);
        assert!(idx.entries.iter().any(|e| e.path == b"h"
            && e.kind
                == Kind::Hardlink {
                    target: b"f".to_vec()
                }));
        let tree = squash_tars(&tars[..1]);
        let h = tree.lookup("h").unwrap();
        assert_eq!(h.link.as_deref(), Some(&b"f"[..]));
        assert_eq!(bytes(&tars, &tree, "h"), b"shared");
        let tree = squash_tars(&tars);
        assert!(tree.lookup("f").is_none());
        assert_eq!(bytes(&tars, &tree, "h"), b"shared");
        assert!(tree.issues().is_empty());
    }

    #[test]
    fn symlink_kept_not_followed() {
        let tars = vec![gnu_tar(
            &[
                ("etc/ssl/ca.pem", Symlink("/etc/passwd")),
                ("up", Symlink("../../x")),
            ],
            "gnu",
        )];
        let tree = squash_tars(&tars);
        assert_eq!(
            tree.lookup("etc/ssl/ca.pem").unwrap().kind,
            Kind::Symlink {
                target: b"/etc/passwd".to_vec()
            }
        );
        assert_eq!(
            tree.lookup("up").unwrap().kind,
            Kind::Symlink {
                target: b"../../x".to_vec()
            }
        );
        assert_eq!(tree.files().count(), 0);
    }

    #[test]
    fn list_directory() {
        let tars = vec![gnu_tar(
            &[
                ("a/b", File(b"1")),
                ("a/c/d", File(b"2")),
                ("a-z", File(b"3")),
                ("e", Dir),
            ],
            "gnu",
        )];
        let tree = squash_tars(&tars);
        let root: Vec<_> = tree
            .list("")
            .unwrap()
            .iter()
            .map(|(n, _)| n.to_vec())
            .collect();
        assert_eq!(root, [&b"a"[..], b"a-z", b"e"]);
        let a: Vec<_> = tree
            .list("a")
            .unwrap()
            .iter()
            .map(|(n, _)| n.to_vec())
            .collect();
        assert_eq!(a, [&b"b"[..], b"c"]);
        assert_eq!(tree.list("e").unwrap().len(), 0);
        assert!(tree.list("a-z").is_none());
        assert!(tree.list("nope").is_none());
    }

    #[test]
    fn hostile_names() {
        let esc = raw_tar(&[(b"../etc/passwd", tar::EntryType::Regular, b"x", b"")]);
        assert!(matches!(
            LayerIndex::build(3, esc.as_slice(), &Limits::default()),
            Err(LayerError::Escapes { layer: 3, ref name }) if name == "../etc/passwd"
        ));
        let esc = raw_tar(&[(b"a/../../x", tar::EntryType::Regular, b"x", b"")]);
        assert!(matches!(
            LayerIndex::build(0, esc.as_slice(), &Limits::default()),
            Err(LayerError::Escapes { .. })
        ));
        let esc = raw_tar(&[(b"h", tar::EntryType::Link, b"", b"../outside")]);
        assert!(matches!(
            LayerIndex::build(0, esc.as_slice(), &Limits::default()),
            Err(LayerError::Escapes { ref name, .. }) if name == "h"
        ));

        let abs = raw_tar(&[
            (b"/etc/passwd", tar::EntryType::Regular, b"root", b""),
            (b"./a/./b/../c", tar::EntryType::Regular, b"c", b""),
            (b"./", tar::EntryType::Directory, b"", b""),
        ]);
        let idx = index(0, &abs);
        let paths: Vec<_> = idx.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, [&b"etc/passwd"[..], b"a/c"]);
        let tree = squash(&[idx]);
        let n = tree.lookup("etc/passwd").unwrap();
        assert_eq!(&abs[n.offset as usize..][..4], b"root");
        assert!(tree.lookup("a").unwrap().implicit);

        let long = vec![b'n'; 5000];
        let t = raw_tar(&[(&long, tar::EntryType::Regular, b"x", b"")]);
        assert!(matches!(
            LayerIndex::build(1, t.as_slice(), &Limits::default()),
            Err(LayerError::PathTooLong {
                layer: 1,
                len: 5000,
                limit: 4096,
                ..
            })
        ));
        let ok = LayerIndex::build(
            1,
            t.as_slice(),
            &Limits {
                max_path_len: 8192,
                ..Limits::default()
            },
        )
        .unwrap();
        assert_eq!(ok.entries[0].path, long);
        assert_eq!(&t[ok.entries[0].offset as usize], &b'x');

        let dangling = raw_tar(&[(b"h", tar::EntryType::Link, b"", b"missing")]);
        let tree = squash(&[index(2, &dangling)]);
        assert!(tree.lookup("h").is_none());
        assert_eq!(
            tree.issues(),
            [Issue::DanglingHardlink {
                layer: 2,
                path: b"h".to_vec(),
                target: b"missing".to_vec()
            }]
        );
        let to_dir = raw_tar(&[
            (b"d/", tar::EntryType::Directory, b"", b""),
            (b"h", tar::EntryType::Link, b"", b"d"),
        ]);
        let tree = squash(&[index(0, &to_dir)]);
        assert!(matches!(tree.issues(), [Issue::HardlinkToDir { .. }]));
    }

    #[test]
    fn parent_that_is_a_file_or_symlink_becomes_a_directory() {
        let lower = raw_tar(&[
            (b"a", tar::EntryType::Regular, b"file", b""),
            (b"s", tar::EntryType::Symlink, b"", b"/etc"),
        ]);
        let upper = raw_tar(&[
            (b"a/b", tar::EntryType::Regular, b"b", b""),
            (b"s/passwd", tar::EntryType::Regular, b"p", b""),
        ]);
        let tree = squash(&[index(0, &lower), index(1, &upper)]);
        assert_eq!(names(&tree), ["a", "a/b", "s", "s/passwd"]);
        assert!(tree.lookup("s").unwrap().implicit);
    }

    #[test]
    fn special_files_not_listed_as_files() {
        let t = raw_tar(&[
            (b"dev/null", tar::EntryType::Char, b"", b""),
            (b"dev/sda", tar::EntryType::Block, b"", b""),
            (b"run/fifo", tar::EntryType::Fifo, b"", b""),
        ]);
        let tree = squash(&[index(0, &t)]);
        assert_eq!(tree.lookup("dev/null").unwrap().kind, Kind::CharDevice);
        assert_eq!(tree.lookup("dev/sda").unwrap().kind, Kind::BlockDevice);
        assert_eq!(tree.lookup("run/fifo").unwrap().kind, Kind::Fifo);
        assert_eq!(tree.files().count(), 0);
    }

    #[test]
    fn sparse_files_are_not_readable_by_offset() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let f = std::fs::File::create(root.join("holes")).unwrap();
        f.set_len(1 << 20).unwrap();
        std::os::unix::fs::FileExt::write_at(&f, b"tail", (1 << 20) - 4).unwrap();
        for format in ["gnu", "pax"] {
            let out = Command::new("tar")
                .args([&format!("--format={format}"), "-S", "-C"])
                .arg(&root)
                .args(["-cf", "-", "holes"])
                .output()
                .unwrap();
            assert!(out.status.success());
            let tree = squash(&[index(0, &out.stdout)]);
            assert_eq!(names(&tree), ["holes"], "{format}");
            assert_eq!(tree.lookup("holes").unwrap().kind, Kind::Sparse, "{format}");
            assert_eq!(tree.files().count(), 0);
        }
    }

    #[test]
    fn limits_give_typed_errors() {
        let t = gnu_tar(&[("a/b/c/d", File(b"x")), ("z", File(b"z"))], "gnu");
        let few = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        assert!(matches!(
            LayerIndex::build(7, t.as_slice(), &few),
            Err(LayerError::TooManyEntries {
                layer: 7,
                limit: 2,
                ..
            })
        ));
        let shallow = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(matches!(
            LayerIndex::build(4, t.as_slice(), &shallow),
            Err(LayerError::TooDeep { layer: 4, depth: 4, limit: 3, ref name }) if name == "./a/b/c/d"
        ));
    }

    #[test]
    fn truncated_tar_is_an_error() {
        let t = gnu_tar(&[("a", File(&[7u8; 3000])), ("b", File(b"b"))], "gnu");
        // `./` at 0, `./a` at 512 (data 1024..4024, padded to 4096), `./b` at 4096 (data 4608):
        // inside a's data, inside b's header, b's data missing, inside the first header.
        for cut in [2000, 4096 + 100, 4608, 100] {
            let r = LayerIndex::build(0, &t[..cut], &Limits::default());
            assert!(
                matches!(r, Err(LayerError::Read { layer: 0, .. })),
                "cut {cut}: {r:?}"
            );
        }
        assert!(LayerIndex::build(0, &b"not a tar at all"[..], &Limits::default()).is_err());
        let garbage = vec![0x41u8; 4096];
        assert!(LayerIndex::build(0, garbage.as_slice(), &Limits::default()).is_err());
    }
}
