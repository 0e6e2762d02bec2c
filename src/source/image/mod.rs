//! Container images as scan targets: where an image's manifests and layers come from.
//!
//! Sources (docker-archive, OCI layout, OCI archive, a registry) all end in the same place: an
//! ordered list of layer descriptors whose blobs can be opened as byte streams, handed to the
//! layer set (`layerset`) that squashes them lazily through the on-disk cache.

pub mod auth;
pub mod cache;
pub mod layerset;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod squashed;
pub mod store;

pub use layerset::{ImageError, ImageOptions, LayerSet};
pub use reference::ImageRef;
