//! Where bytes come from: the scan targets and how each is read.
//!
//! A directory tree ([`dir`]) or a single file, read by [`read::FileReader`]; or a container image
//! ([`image`]: docker-archive, OCI layout or archive, registry, `docker save` on stdin), opened as
//! a lazy layer set and read file by file from the layers' uncompressed tars ([`layers`] squashes
//! them).

pub mod dir;
pub mod entry;
pub mod image;
pub mod layers;
pub mod read;
pub mod sigbus;

use std::path::PathBuf;
use std::sync::Arc;

use entry::{SingleFile, Source, SourceOptions, Visitors};
use image::{ImageError, ImageOptions, ImageRef, LayerSet};

/// Something to scan, resolved from a command-line argument.
#[derive(Debug, Clone)]
pub enum Target {
    /// A directory tree; locations are relative to it.
    Directory(PathBuf),
    /// One file.
    File {
        /// What is read: the file itself, with a symbolic link given as the target resolved.
        path: PathBuf,
        /// Its location in reports: the absolute path as the user named it (the link's, when a
        /// link was given).
        location: PathBuf,
    },
    /// A container image; locations are paths inside its squashed filesystem.
    Image(Arc<LayerSet>),
}

/// Why a target cannot be scanned at all. Each message is one line naming the target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Nothing by that name exists, and it is not tried as a registry image.
    #[error("{path}: no such file or directory{}", registry_note(*not_tried_as_registry))]
    NotFound {
        /// The argument as given.
        path: String,
        /// Whether it would have been tried as a registry image, had registry access been on.
        not_tried_as_registry: bool,
    },
    /// A symbolic link whose target does not exist.
    #[error("{path}: a symbolic link to {}, which does not exist", link.display())]
    DanglingLink {
        /// The argument as given.
        path: String,
        /// What the link points at.
        link: PathBuf,
    },
    /// The path exists but cannot be examined or opened.
    #[error("{path}: cannot be read: {source}")]
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
    /// A bare name that is not a file was tried as a registry image, and that failed too.
    #[error("{target}: not a file or directory; tried as docker://{reference}: {source}")]
    TriedRegistry {
        /// The argument as given.
        target: String,
        /// The reference it was read as (`docker.io/library/NAME:latest`).
        reference: String,
        /// Why the registry image could not be opened.
        source: Box<ImageError>,
    },
    /// The argument is neither an existing path nor a valid image name.
    #[error(transparent)]
    Reference(#[from] image::reference::ReferenceError),
}

fn registry_note(not_tried: bool) -> &'static str {
    if not_tried {
        " (not tried as a registry image: registry access is off)"
    } else {
        ""
    }
}

/// Whether a missing `arg` must be a path, not an image reference: it starts like one (`/`,
/// `.`, `~`), its first component exists here (`target/nosuch`), or it would be a Docker Hub
/// name whose last component has a file extension (`ca.pem`, `certs/bundle.crt`).
fn names_a_path(arg: &str, reference: &image::reference::Reference) -> bool {
    let first_exists = arg
        .split_once('/')
        .is_some_and(|(first, _)| std::fs::symlink_metadata(first).is_ok());
    let hub_file_name = reference.registry == "docker.io"
        && !arg.starts_with("docker.io/")
        && reference
            .repository
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    arg.starts_with(['/', '.', '~']) || first_exists || hub_file_name
}

impl Target {
    /// Resolves a command-line argument. A symbolic link given as the target itself is followed
    /// (the user named it); links inside a tree never are.
    pub fn resolve(arg: &str) -> Result<Target, TargetError> {
        Target::resolve_with(arg, &ImageOptions::default())
    }

    /// Resolves a command-line argument that may name an image (skopeo's transport syntax, an
    /// image layout or archive on disk, or a registry reference that is not an existing path).
    /// A target that exists is opened here, so one that cannot be read is an error now, not an
    /// empty scan.
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
        match std::fs::symlink_metadata(arg) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Target::missing(arg, images);
            }
            Err(e) => return Err(unreadable(e)),
        }
        let meta = match std::fs::metadata(arg) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TargetError::DanglingLink {
                    path: arg.to_string(),
                    link: std::fs::read_link(arg).unwrap_or_default(),
                });
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
        let real = std::fs::canonicalize(arg).map_err(unreadable)?;
        if meta.is_dir() {
            std::fs::read_dir(&real).map_err(unreadable)?;
            Ok(Target::Directory(real))
        } else if meta.is_file() {
            read::open_regular(&real).map_err(unreadable)?;
            Ok(Target::File {
                path: real,
                location: std::path::absolute(arg).map_err(unreadable)?,
            })
        } else {
            Err(TargetError::Unsupported(arg.to_string()))
        }
    }

    /// An argument that names nothing on disk: an image in a registry if it reads as one and
    /// not as a path, else a missing path.
    fn missing(arg: &str, images: &ImageOptions) -> Result<Target, TargetError> {
        let not_found = |not_tried_as_registry| TargetError::NotFound {
            path: arg.to_string(),
            not_tried_as_registry,
        };
        let reference = match image::reference::parse_reference(arg) {
            Ok(r) if !names_a_path(arg, &r) => r,
            _ => return Err(not_found(false)),
        };
        if images.no_registry {
            return Err(not_found(true));
        }
        LayerSet::open(&ImageRef::Registry(reference.clone()), images)
            .map(|set| Target::Image(Arc::new(set)))
            .map_err(|source| TargetError::TriedRegistry {
                target: arg.to_string(),
                reference: reference.to_string(),
                source: Box::new(source),
            })
    }

    /// The target's name in reports: its path, or the image as named.
    pub fn name(&self) -> String {
        match self {
            Target::Directory(p) | Target::File { location: p, .. } => {
                p.to_string_lossy().into_owned()
            }
            Target::Image(set) => set.name.clone(),
        }
    }
}

/// Each kind of target lists its entries through its own source; this is the one place that knows
/// which kinds there are.
impl Source for Target {
    fn entries(&self, options: &SourceOptions, visitors: &Visitors<'_>) {
        match self {
            Target::Directory(root) => dir::Directory { root }.entries(options, visitors),
            Target::File { path, location } => SingleFile {
                path,
                location: &location.to_string_lossy(),
            }
            .entries(options, visitors),
            Target::Image(set) => set.entries(options, visitors),
        }
    }
}
