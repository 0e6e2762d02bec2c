//! Where bytes come from: the scan targets and how each is read.
//!
//! Today: a directory tree ([`dir`]) or a single file, read by [`read::FileReader`]. Container images
//! (tar streams, OCI layouts, registries, the lazy layer set) slot in beside them as further
//! [`Target`] kinds that yield the same events.

pub mod dir;
pub mod image;
pub mod layers;
pub mod read;
pub mod sigbus;

use std::path::{Path, PathBuf};

/// Something to scan, resolved from a command-line argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A directory tree; locations are relative to it.
    Directory(PathBuf),
    /// One file; its location is its absolute path.
    File(PathBuf),
}

/// Why a target cannot be scanned at all.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The path does not exist or cannot be examined.
    #[error("{path}: {source}")]
    Unreadable {
        /// The argument as given.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The path exists but is neither a directory nor a regular file.
    #[error("{0}: not a directory or regular file")]
    Unsupported(String),
}

impl Target {
    /// Resolves a command-line argument. A symbolic link given as the target itself is followed
    /// (the user named it); links inside a tree never are.
    pub fn resolve(arg: &str) -> Result<Target, TargetError> {
        let unreadable = |source| TargetError::Unreadable {
            path: arg.to_string(),
            source,
        };
        let meta = std::fs::metadata(arg).map_err(unreadable)?;
        if meta.is_dir() {
            Ok(Target::Directory(
                std::fs::canonicalize(arg).map_err(unreadable)?,
            ))
        } else if meta.is_file() {
            Ok(Target::File(std::path::absolute(arg).map_err(unreadable)?))
        } else {
            Err(TargetError::Unsupported(arg.to_string()))
        }
    }

    /// The path on disk.
    pub fn path(&self) -> &Path {
        match self {
            Target::Directory(p) | Target::File(p) => p,
        }
    }
}
