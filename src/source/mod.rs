//! Where bytes come from: the scan targets and how each is read.
//!
//! A directory tree ([`dir`]) or a single file, read by [`read::FileReader`]; or a container image
//! ([`image`]: docker-archive, OCI layout or archive, registry, `docker save` on stdin), opened as
//! a lazy layer set and read file by file from the layers' uncompressed tars ([`layers`] squashes
//! them).

pub mod dir;
pub mod image;
pub mod layers;
pub mod read;
pub mod sigbus;

use std::path::PathBuf;
use std::sync::Arc;

use image::{ImageError, ImageOptions, ImageRef, LayerSet};

/// Something to scan, resolved from a command-line argument.
#[derive(Debug, Clone)]
pub enum Target {
    /// A directory tree; locations are relative to it.
    Directory(PathBuf),
    /// One file; its location is its absolute path.
    File(PathBuf),
    /// A container image; locations are paths inside its squashed filesystem.
    Image(Arc<LayerSet>),
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
    /// The argument names an image that cannot be opened.
    #[error("{target}: {source}")]
    Image {
        /// The argument as given.
        target: String,
        /// Why.
        source: ImageError,
    },
    /// The argument is neither an existing path nor a valid image name.
    #[error(transparent)]
    Reference(#[from] image::reference::ReferenceError),
}

impl Target {
    /// Resolves a command-line argument. A symbolic link given as the target itself is followed
    /// (the user named it); links inside a tree never are.
    pub fn resolve(arg: &str) -> Result<Target, TargetError> {
        Target::resolve_with(arg, &ImageOptions::default())
    }

    /// Resolves a command-line argument that may name an image (skopeo's transport syntax, an
    /// image layout or archive on disk, or a registry reference that is not an existing path).
    pub fn resolve_with(arg: &str, images: &ImageOptions) -> Result<Target, TargetError> {
        let open = |image: ImageRef| {
            LayerSet::open(&image, images)
                .map(|set| Target::Image(Arc::new(set)))
                .map_err(|source| TargetError::Image {
                    target: arg.to_string(),
                    source,
                })
        };
        if let Some(image) = ImageRef::parse_transport(arg) {
            return open(image?);
        }
        let unreadable = |source| TargetError::Unreadable {
            path: arg.to_string(),
            source,
        };
        let meta = match std::fs::metadata(arg) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !arg.starts_with(['/', '.']) => {
                return match image::reference::parse_reference(arg) {
                    Ok(reference) => open(ImageRef::Registry(reference)),
                    Err(_) => Err(unreadable(e)),
                };
            }
            Err(e) => return Err(unreadable(e)),
        };
        let path = PathBuf::from(arg);
        match image::store::sniff(&path) {
            Some(image::store::LocalImage::OciDir) => {
                return open(ImageRef::OciDir { path, tag: None });
            }
            Some(image::store::LocalImage::OciArchive) => {
                return open(ImageRef::OciArchive { path, tag: None });
            }
            Some(image::store::LocalImage::DockerArchive) => {
                return open(ImageRef::DockerArchive { path, name: None });
            }
            None => {}
        }
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

    /// The target's name in reports: its path, or the image as named.
    pub fn name(&self) -> String {
        match self {
            Target::Directory(p) | Target::File(p) => p.to_string_lossy().into_owned(),
            Target::Image(set) => set.name.clone(),
        }
    }
}
