//! The layer set: one image, from any source, as an ordered list of layers that are opened lazily
//! and squashed into the filesystem the container sees.
//!
//! [`LayerSet::open`] reads only metadata (index, manifest, config): for a registry that is a
//! manifest request or two and a config blob (cached by digest). Each layer is opened on first
//! need ([`LayerSet::layer`]), once, by whichever thread asks first:
//!
//! 1. its uncompressed tar and index are in the [`Cache`] under its diff_id: nothing is fetched;
//! 2. an uncompressed blob on local disk (a docker-archive member, an OCI blob file) is read in
//!    place: one pass hashes it and builds its index, nothing is copied;
//! 3. otherwise the blob is streamed (from the registry, or a compressed local blob), its digest
//!    and size checked on the fly, decompressed (gzip, zstd) into a cache file while the index is
//!    built from the same bytes, the uncompressed digest checked against the config's diff_id,
//!    and only then moved into the cache.
//!
//! A digest mismatch, a truncated or oversized blob, or a malformed tar is an error naming the
//! layer; nothing from such a layer is ever used.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use super::cache::{self, Cache};
use super::manifest::{
    self, ArchiveImage, Compression, Descriptor, Digest, Document, Hasher, MAX_DOCUMENT,
    ManifestError, Platform,
};
use super::reference::{ImageRef, Reference};
use super::registry::{Client, RegistryError, RegistryOptions};
use super::store::{Region, Store, link_target};
use crate::source::layers::{self, LayerError, LayerIndex, Tree};

/// How an image is read.
pub struct ImageOptions {
    /// The platform picked from an index (default: the host's).
    pub platform: Option<Platform>,
    /// Registry access.
    pub registry: RegistryOptions,
    /// The cache directory (default: [`Cache::default_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Bound on the cached layers' total size.
    pub cache_max_bytes: u64,
    /// Bounds on each layer's tar.
    pub limits: layers::Limits,
    /// Bound on one layer's uncompressed size.
    pub max_layer_bytes: u64,
    /// Refuse every registry access (`--no-registry`): only local images open.
    pub no_registry: bool,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            platform: None,
            registry: RegistryOptions::default(),
            cache_dir: None,
            cache_max_bytes: cache::DEFAULT_MAX_BYTES,
            limits: layers::Limits::default(),
            max_layer_bytes: 64 << 30,
            no_registry: false,
        }
    }
}

/// Why an image or one of its layers cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Reading a local file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read.
        what: String,
        /// The error.
        source: io::Error,
    },
    /// Metadata that cannot be used.
    #[error("{what}: {source}")]
    Manifest {
        /// Which document.
        what: String,
        /// Why.
        source: ManifestError,
    },
    /// The registry said no, or could not be reached.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A blob the manifest names is not in the image.
    #[error("{0}")]
    Missing(String),
    /// The image cannot be used as given (not an image stream, an ambiguous name, nesting or
    /// size beyond the bounds, no cache directory).
    #[error("{0}")]
    Unusable(String),
    /// A blob whose content does not match its digest.
    #[error("{what}: digest mismatch: expected {expected}, got {found}")]
    DigestMismatch {
        /// Which blob.
        what: String,
        /// The digest its descriptor names.
        expected: Digest,
        /// The digest of what was read.
        found: Digest,
    },
    /// A layer that cannot be used (its error names it).
    #[error("layer {index} ({digest}): {detail}")]
    Layer {
        /// Its position, lowest first.
        index: usize,
        /// Its digest.
        digest: Digest,
        /// What went wrong.
        detail: String,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// A local image file or directory that cannot be used, in one line that the target (which
/// names the path) precedes: missing, not an archive, or unreadable.
fn local_error(e: io::Error) -> ImageError {
    match e.kind() {
        io::ErrorKind::NotFound => ImageError::Unusable("no such file".into()),
        io::ErrorKind::InvalidData => ImageError::Unusable(e.to_string()),
        _ => ImageError::Io {
            what: "cannot be read".into(),
            source: e,
        },
    }
}

fn manifest_error(what: impl Into<String>) -> impl FnOnce(ManifestError) -> ImageError {
    let what = what.into();
    move |source| ImageError::Manifest { what, source }
}

/// A layer's uncompressed tar, ready to read: its bytes and its index.
#[derive(Debug)]
pub struct OpenLayer {
    /// The layer's entries, offsets into `data`.
    pub index: LayerIndex,
    /// The uncompressed tar.
    pub data: Region,
}

/// A layer imported from a stream into the cache (`-`), before the manifest was known.
#[derive(Debug)]
struct Imported {
    raw: Digest,
    diff_id: Digest,
    data: Region,
    index: LayerIndex,
}

/// Where a layer's blob is.
#[derive(Debug)]
enum Origin {
    /// In a local file.
    Local(Region),
    /// In the registry.
    Registry,
    /// Already imported from the input stream.
    Imported(Arc<Imported>),
}

/// One layer of the image.
#[derive(Debug)]
pub struct Layer {
    /// The blob's digest as the manifest names it (for docker-archive: the diff_id).
    pub digest: Digest,
    /// The uncompressed tar's digest (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// How the blob is compressed, when its media type says; otherwise its first bytes tell.
    pub compression: Option<Compression>,
    /// The blob's size, when the manifest gives it.
    pub size: Option<u64>,
    origin: Origin,
    opened: OnceLock<Result<Arc<OpenLayer>, String>>,
}

/// An image as a lazily opened stack of layers.
pub struct LayerSet {
    /// The image as named (`docker://…`, `oci:…`); used as the scan's target name.
    pub name: String,
    /// The layers, lowest first.
    pub layers: Vec<Layer>,
    client: Option<Client>,
    cache: Cache,
    limits: layers::Limits,
    max_layer_bytes: u64,
}

impl std::fmt::Debug for LayerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerSet")
            .field("name", &self.name)
            .field("layers", &self.layers.len())
            .finish()
    }
}

/// What a `docker save` stream held, by member name.
#[derive(Default)]
struct Imports {
    /// Small documents (JSON).
    small: HashMap<String, Vec<u8>>,
    /// Layers, imported into the cache.
    layers: HashMap<String, Arc<Imported>>,
    /// Links between members (`ID/layer.tar -> ../HEX.tar`).
    links: HashMap<String, String>,
}

impl Imports {
    fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        let name = name.trim_start_matches("./");
        self.links.get(name).map_or(name, String::as_str)
    }
}

/// Where a local image's members come from.
enum Members<'a> {
    Store(&'a Store),
    Imports(&'a Imports),
}

impl Members<'_> {
    fn small(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        match self {
            Members::Store(store) => store
                .get(name)
                .map_err(io_error(name))?
                .ok_or_else(|| ImageError::Missing(format!("{name} is not in the image")))?
                .read_small(MAX_DOCUMENT)
                .map_err(io_error(name)),
            Members::Imports(imports) => imports
                .small
                .get(imports.resolve(name))
                .cloned()
                .ok_or_else(|| ImageError::Missing(format!("{name} is not in the image"))),
        }
    }

    fn origin(&self, name: &str) -> Result<Origin, ImageError> {
        let missing = || ImageError::Missing(format!("layer {name} is not in the image"));
        match self {
            Members::Store(store) => Ok(Origin::Local(
                store
                    .get(name)
                    .map_err(io_error(name))?
                    .ok_or_else(missing)?,
            )),
            Members::Imports(imports) => imports
                .layers
                .get(imports.resolve(name))
                .map(|l| Origin::Imported(Arc::clone(l)))
                .ok_or_else(missing),
        }
    }

    /// A blob by digest (OCI layouts), verified.
    fn blob(&self, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let name = blob_name(digest);
        let data = self.small(&name)?;
        verify(&name, digest, &data)?;
        Ok(data)
    }
}

fn blob_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}

fn verify(what: &str, expected: &Digest, data: &[u8]) -> Result<(), ImageError> {
    let mut hasher = Hasher::new(expected);
    hasher.update(data);
    let found = hasher.finish();
    if found == *expected {
        Ok(())
    } else {
        Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.clone(),
            found,
        })
    }
}

impl LayerSet {
    /// A layer set with no layers yet, its cache opened.
    fn empty(name: String, options: &ImageOptions) -> Result<LayerSet, ImageError> {
        let dir = options
            .cache_dir
            .clone()
            .or_else(Cache::default_dir)
            .ok_or_else(|| {
                ImageError::Unusable(
                    "no cache directory: set --cache-dir, XDG_CACHE_HOME or HOME".into(),
                )
            })?;
        Ok(LayerSet {
            name,
            layers: Vec::new(),
            client: None,
            cache: Cache::open(&dir, options.cache_max_bytes)
                .map_err(io_error("opening the cache"))?,
            limits: options.limits,
            max_layer_bytes: options.max_layer_bytes,
        })
    }

    /// Opens an image's metadata. Layers are not read yet, except from standard input, which
    /// is read once, its layers going to the cache as they pass.
    pub fn open(image: &ImageRef, options: &ImageOptions) -> Result<LayerSet, ImageError> {
        let platform = options.platform.clone().unwrap_or_else(Platform::host);
        let tar_store = |path: &PathBuf| Store::open_tar(path).map_err(local_error);
        let mut set;
        match image {
            ImageRef::Registry(_) if options.no_registry => {
                return Err(ImageError::Unusable(
                    "registry access is off (--no-registry or ROOTSIFT_NO_REGISTRY)".into(),
                ));
            }
            ImageRef::Registry(reference) => {
                set = Self::empty(format!("docker://{reference}"), options)?;
                set.open_registry(reference, &options.registry, &platform)?;
            }
            ImageRef::OciDir { path, tag } => {
                match std::fs::metadata(path) {
                    Ok(meta) if !meta.is_dir() => {
                        return Err(ImageError::Unusable(
                            "not a directory (an OCI image layout is one)".into(),
                        ));
                    }
                    Ok(_) if !path.join("oci-layout").is_file() => {
                        return Err(ImageError::Unusable(
                            "not an OCI image layout (no oci-layout file in it)".into(),
                        ));
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(ImageError::Unusable("no such directory".into()));
                    }
                    Err(e) => return Err(local_error(e)),
                }
                set = Self::empty(format!("oci:{}", path.display()), options)?;
                let store = Store::Dir(path.clone());
                set.open_layout(&Members::Store(&store), tag.as_deref(), &platform)?;
            }
            ImageRef::OciArchive { path, tag } => {
                set = Self::empty(format!("oci-archive:{}", path.display()), options)?;
                set.open_layout(
                    &Members::Store(&tar_store(path)?),
                    tag.as_deref(),
                    &platform,
                )?;
            }
            ImageRef::DockerArchive { path, name } => {
                set = Self::empty(format!("docker-archive:{}", path.display()), options)?;
                set.open_docker_archive(&Members::Store(&tar_store(path)?), name.as_deref())?;
            }
            ImageRef::Stdin => set = Self::open_stream(io::stdin().lock(), options)?,
        }
        Ok(set)
    }

    /// Opens an image from a `docker save` stream (docker-archive, or an OCI layout in a tar).
    pub fn open_stream(input: impl Read, options: &ImageOptions) -> Result<LayerSet, ImageError> {
        let mut set = Self::empty("docker-archive:-".into(), options)?;
        let imports = set.import_stream(input)?;
        let members = Members::Imports(&imports);
        if imports.small.contains_key("manifest.json") {
            set.open_docker_archive(&members, None)?;
        } else if imports.small.contains_key("index.json") {
            let platform = options.platform.clone().unwrap_or_else(Platform::host);
            set.open_layout(&members, None, &platform)?;
        } else {
            return Err(ImageError::Unusable(
                "the input is not a docker save stream: no manifest.json or index.json".into(),
            ));
        }
        Ok(set)
    }

    fn open_registry(
        &mut self,
        reference: &Reference,
        options: &RegistryOptions,
        platform: &Platform,
    ) -> Result<(), ImageError> {
        let client = Client::new(&reference.registry, &reference.repository, options)?;
        let wanted = reference.manifest_reference();
        let fetched = client.manifest(wanted)?;
        let what = format!("manifest {reference}");
        if let Some(digest) = &reference.digest {
            let digest = Digest::parse(digest).map_err(manifest_error(&what))?;
            verify(&what, &digest, &fetched.body)?;
        }
        let document = manifest::parse_document(&fetched.body, fetched.media_type.as_deref())
            .map_err(manifest_error(&what))?;
        let manifest = match document {
            Document::Manifest(m) => m,
            Document::Index(entries) => {
                let entry = manifest::choose_platform(&entries, platform)
                    .map_err(manifest_error(format!("index {reference}")))?;
                let body = self.registry_document(&client, &entry.digest, true)?;
                match manifest::parse_document(&body, Some(&entry.media_type))
                    .map_err(manifest_error(format!("manifest {}", entry.digest)))?
                {
                    Document::Manifest(m) => m,
                    Document::Index(_) => {
                        return Err(ImageError::Unusable(format!(
                            "{reference}: nested image indexes are not supported"
                        )));
                    }
                }
            }
        };
        let config = self.registry_document(&client, &manifest.config.digest, false)?;
        let diff_ids = Self::diff_ids(&config, manifest.layers.len())?;
        self.layers = Self::oci_layers(&manifest.layers, diff_ids, |_| Ok(Origin::Registry))?;
        self.client = Some(client);
        Ok(())
    }

    /// A manifest (by digest) or config from the registry, through the blob cache, verified.
    fn registry_document(
        &self,
        client: &Client,
        digest: &Digest,
        is_manifest: bool,
    ) -> Result<Vec<u8>, ImageError> {
        if let Some(cached) = self.cache.blob(digest) {
            return Ok(cached);
        }
        let body = if is_manifest {
            client.manifest(digest.as_str())?.body
        } else {
            let mut body = Vec::new();
            client
                .blob(digest.as_str())?
                .take(MAX_DOCUMENT as u64 + 1)
                .read_to_end(&mut body)
                .map_err(io_error(format!("config {digest}")))?;
            body
        };
        verify(digest.as_str(), digest, &body)?;
        // A cache that cannot be written costs a refetch next time, nothing else.
        let _ = self.cache.store_blob(digest, &body);
        Ok(body)
    }

    fn diff_ids(config: &[u8], layers: usize) -> Result<Vec<Digest>, ImageError> {
        let config = manifest::parse_config(config).map_err(manifest_error("image config"))?;
        if config.diff_ids.len() != layers {
            return Err(ImageError::Manifest {
                what: "image config".into(),
                source: ManifestError::LayerCountMismatch {
                    config: config.diff_ids.len(),
                    manifest: layers,
                },
            });
        }
        Ok(config.diff_ids)
    }

    fn oci_layers(
        descriptors: &[Descriptor],
        diff_ids: Vec<Digest>,
        mut origin: impl FnMut(&Descriptor) -> Result<Origin, ImageError>,
    ) -> Result<Vec<Layer>, ImageError> {
        descriptors
            .iter()
            .zip(diff_ids)
            .map(|(d, diff_id)| {
                let compression = Compression::of_media_type(&d.media_type)
                    .map_err(manifest_error(format!("layer {}", d.digest)))?;
                Ok(Layer {
                    digest: d.digest.clone(),
                    diff_id,
                    compression: Some(compression),
                    size: Some(d.size),
                    origin: origin(d)?,
                    opened: OnceLock::new(),
                })
            })
            .collect()
    }

    fn open_layout(
        &mut self,
        members: &Members<'_>,
        tag: Option<&str>,
        platform: &Platform,
    ) -> Result<(), ImageError> {
        let index_json = members.small("index.json")?;
        let (mut entry, _) = manifest::choose_layout_entry(&index_json, tag)
            .map_err(manifest_error("index.json"))?;
        // An entry may be an index (multi-platform) or a manifest; follow at most a few levels.
        for _ in 0..4 {
            let body = members.blob(&entry.digest)?;
            let what = format!("manifest {}", entry.digest);
            match manifest::parse_document(&body, Some(&entry.media_type))
                .map_err(manifest_error(&what))?
            {
                Document::Index(entries) => {
                    entry = manifest::choose_platform(&entries, platform)
                        .map_err(manifest_error(format!("index {}", entry.digest)))?
                        .clone();
                }
                Document::Manifest(m) => {
                    let config = members.blob(&m.config.digest)?;
                    let diff_ids = Self::diff_ids(&config, m.layers.len())?;
                    self.layers = Self::oci_layers(&m.layers, diff_ids, |d| {
                        members.origin(&blob_name(&d.digest))
                    })?;
                    return Ok(());
                }
            }
        }
        Err(ImageError::Unusable(
            "image indexes nested too deeply".into(),
        ))
    }

    fn open_docker_archive(
        &mut self,
        members: &Members<'_>,
        name: Option<&str>,
    ) -> Result<(), ImageError> {
        let images = manifest::parse_archive_manifest(&members.small("manifest.json")?)
            .map_err(manifest_error("manifest.json"))?;
        let image: &ArchiveImage =
            manifest::choose_archive_image(&images, name).map_err(ImageError::Unusable)?;
        let config = members.small(&image.config)?;
        // The config's name is its digest (`HEX.json` or `blobs/sha256/HEX`): check it when so.
        let stem = image.config.rsplit('/').next().unwrap_or("");
        let stem = stem.strip_suffix(".json").unwrap_or(stem);
        if let Ok(digest) = Digest::parse(&format!("sha256:{stem}")) {
            verify(&image.config, &digest, &config)?;
        }
        let diff_ids = Self::diff_ids(&config, image.layers.len())?;
        self.layers = image
            .layers
            .iter()
            .zip(diff_ids)
            .map(|(path, diff_id)| {
                Ok(Layer {
                    digest: diff_id.clone(),
                    diff_id,
                    compression: None,
                    size: None,
                    origin: members.origin(path)?,
                    opened: OnceLock::new(),
                })
            })
            .collect::<Result<_, ImageError>>()?;
        Ok(())
    }

    /// Reads a `docker save` stream once: small JSON members are kept, members that are layers
    /// are imported into the cache as they pass (their digests computed on the way), the rest
    /// is skipped. Nothing else is spooled: the stream may be any size.
    fn import_stream(&self, input: impl Read) -> Result<Imports, ImageError> {
        const MAX_SMALL_TOTAL: usize = 64 << 20;
        let mut imports = Imports::default();
        let mut small_total = 0;
        // The first block says whether this is a tar stream at all, before the tar reader's
        // "failed to read entire block".
        let mut input = BufReader::with_capacity(1 << 16, input);
        let mut first = Vec::with_capacity(512);
        (&mut input)
            .take(512)
            .read_to_end(&mut first)
            .map_err(io_error("reading the image stream"))?;
        let expected = "expected a `docker save` stream: docker save IMAGE | rootsift scan -";
        if first.is_empty() {
            return Err(ImageError::Unusable(format!(
                "the input is empty ({expected})"
            )));
        }
        if !super::store::is_tar_header(&first) {
            return Err(ImageError::Unusable(format!(
                "the input is not a tar archive ({expected})"
            )));
        }
        let mut archive = tar::Archive::new(io::Cursor::new(first).chain(input));
        let read_err = io_error("reading the image stream");
        let entries = archive.entries().map_err(read_err)?;
        for (n, entry) in entries.enumerate() {
            let entry = entry.map_err(io_error("reading the image stream"))?;
            if n >= super::store::MAX_MEMBERS {
                return Err(ImageError::Unusable(
                    "the image stream has too many members".into(),
                ));
            }
            let name = String::from_utf8_lossy(&entry.path_bytes())
                .trim_start_matches("./")
                .to_string();
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = String::from_utf8_lossy(&target);
                if let Some(target) = link_target(&name, &target, kind.is_symlink()) {
                    imports.links.insert(name, target);
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            let mut reader = BufReader::with_capacity(1 << 16, entry);
            let head = reader
                .fill_buf()
                .map_err(io_error(format!("reading {name}")))?
                .to_vec();
            let text = head.iter().find(|b| !b.is_ascii_whitespace());
            if size as usize <= MAX_DOCUMENT
                && (matches!(text, Some(b'{' | b'[')) || name == "oci-layout")
            {
                small_total += size as usize;
                if small_total > MAX_SMALL_TOTAL {
                    return Err(ImageError::Unusable(
                        "the image stream's metadata exceeds 64 MiB".into(),
                    ));
                }
                let mut data = Vec::with_capacity(size as usize);
                reader
                    .read_to_end(&mut data)
                    .map_err(io_error(format!("reading {name}")))?;
                imports.small.insert(name, data);
                continue;
            }
            let compression = Compression::sniff(&head);
            let is_tar = head.len() >= 262 && &head[257..262] == b"ustar";
            if compression == Compression::None && !is_tar {
                continue; // neither metadata nor a layer: skipped (read past by the tar reader)
            }
            let layer = imports.layers.len();
            let (raw, diff_id, data, index) = self
                .import(reader, compression, layer, (None, Some(size)), None)
                .map_err(|detail| ImageError::Unusable(format!("{name}: {detail}")))?;
            imports.layers.insert(
                name,
                Arc::new(Imported {
                    raw,
                    diff_id,
                    data,
                    index,
                }),
            );
        }
        Ok(imports)
    }

    /// Streams a blob: checks its size and digest (when expected), decompresses it into a cache
    /// file while indexing it, checks the diff_id (when expected), then moves it into the cache.
    /// Returns (blob digest, diff_id, data, index).
    fn import(
        &self,
        raw: impl Read,
        compression: Compression,
        layer: usize,
        expected: (Option<&Digest>, Option<u64>),
        expected_diff_id: Option<&Digest>,
    ) -> Result<(Digest, Digest, Region, LayerIndex), String> {
        let sha256 = Digest::sha256_of(b"");
        let raw_state = Rc::new(RefCell::new(Counted::new(
            expected.0.unwrap_or(&sha256),
            expected.1,
        )));
        let raw = Counting {
            inner: raw,
            state: Rc::clone(&raw_state),
        };
        let decompressed: Box<dyn Read> = match compression {
            Compression::None => Box::new(raw),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(raw).map_err(|e| format!("zstd: {e}"))?)
            }
        };
        let temp = self.cache.temp_file().map_err(|e| format!("cache: {e}"))?;
        let tar_state = Rc::new(RefCell::new(Counted::new(
            expected_diff_id.unwrap_or(&sha256),
            None,
        )));
        tar_state.borrow_mut().limit = Some(self.max_layer_bytes);
        let mut tee = Tee {
            inner: Counting {
                inner: decompressed,
                state: Rc::clone(&tar_state),
            },
            out: io::BufWriter::with_capacity(1 << 20, temp),
        };
        let index = LayerIndex::build(layer, &mut tee, &self.limits).map_err(|e| match e {
            LayerError::Read { source, .. } => source.to_string(),
            other => other.to_string(),
        })?;
        io::copy(&mut tee, &mut io::sink()).map_err(|e| e.to_string())?;
        let temp = tee.out.into_inner().map_err(|e| e.error().to_string())?;
        let raw_state = raw_state.borrow();
        if let Some(expected_size) = raw_state.expected_size
            && raw_state.count != expected_size
        {
            return Err(format!(
                "read {} bytes where {expected_size} were expected (truncated?)",
                raw_state.count
            ));
        }
        let raw_digest = raw_state.hasher.clone().finish();
        if let Some(want) = expected.0
            && raw_digest != *want
        {
            return Err(format!(
                "digest mismatch: expected {want}, got {raw_digest}"
            ));
        }
        let diff_id = tar_state.borrow().hasher.clone().finish();
        if let Some(want) = expected_diff_id
            && diff_id != *want
        {
            return Err(format!(
                "uncompressed digest mismatch: the config says {want}, got {diff_id}"
            ));
        }
        if let Some((region, _)) = self.cache.layer(&diff_id, layer) {
            return Ok((raw_digest, diff_id, region, index));
        }
        let region = self
            .cache
            .store_layer(temp, &diff_id, &index)
            .map_err(|e| format!("cache: {e}"))?;
        Ok((raw_digest, diff_id, region, index))
    }

    /// Opens layer `i` (fetching, verifying, decompressing and indexing it if need be), once.
    pub fn layer(&self, i: usize) -> Result<Arc<OpenLayer>, ImageError> {
        let layer = &self.layers[i];
        let opened = layer
            .opened
            .get_or_init(|| self.open_layer(i).map(Arc::new));
        opened.clone().map_err(|detail| ImageError::Layer {
            index: i,
            digest: layer.digest.clone(),
            detail,
        })
    }

    fn open_layer(&self, i: usize) -> Result<OpenLayer, String> {
        let layer = &self.layers[i];
        // A layer imported from the input stream is checked first: a broken input is an error
        // even when the cache could stand in for it.
        if !matches!(layer.origin, Origin::Imported(_))
            && let Some((data, index)) = self.cache.layer(&layer.diff_id, i)
        {
            return Ok(OpenLayer { index, data });
        }
        let expected = (Some(&layer.digest), layer.size);
        let (data, index) = match &layer.origin {
            Origin::Imported(imported) => {
                // An OCI layout names the blob's digest; a docker-archive names the diff_id.
                if imported.raw != layer.digest && imported.diff_id != layer.digest {
                    return Err(format!(
                        "digest mismatch: expected {}, got {}",
                        layer.digest, imported.raw
                    ));
                }
                if imported.diff_id != layer.diff_id {
                    return Err(format!(
                        "uncompressed digest mismatch: the config says {}, got {}",
                        layer.diff_id, imported.diff_id
                    ));
                }
                let mut index = imported.index.clone();
                index.renumber(i);
                (imported.data.clone(), index)
            }
            Origin::Local(region) => {
                let mut head = [0u8; 4];
                let got = region.reader().read(&mut head).map_err(|e| e.to_string())?;
                let compression = layer
                    .compression
                    .unwrap_or_else(|| Compression::sniff(&head[..got]));
                if compression == Compression::None {
                    let stamp = cache::Stamp::of(region).map_err(|e| e.to_string())?;
                    let index = match self.cache.verified_in_place(&layer.diff_id, &stamp, i) {
                        Some(index) => index,
                        None => {
                            let index = self.index_in_place(region, i)?;
                            // Not remembered costs a hash next time, nothing else.
                            let _ = self.cache.remember_in_place(&layer.diff_id, &stamp, &index);
                            index
                        }
                    };
                    (region.clone(), index)
                } else {
                    let (_, _, data, index) = self.import(
                        region.reader(),
                        compression,
                        i,
                        expected,
                        Some(&layer.diff_id),
                    )?;
                    (data, index)
                }
            }
            Origin::Registry => {
                let client = self.client.as_ref().ok_or("no registry client")?;
                let blob = client
                    .blob(layer.digest.as_str())
                    .map_err(|e| e.to_string())?;
                let compression = layer.compression.unwrap_or(Compression::Gzip);
                let (_, _, data, index) =
                    self.import(blob, compression, i, expected, Some(&layer.diff_id))?;
                (data, index)
            }
        };
        Ok(OpenLayer { index, data })
    }

    /// Indexes an uncompressed local blob in place, checking its digest in the same pass.
    fn index_in_place(&self, region: &Region, i: usize) -> Result<LayerIndex, String> {
        let layer = &self.layers[i];
        let state = Rc::new(RefCell::new(Counted::new(&layer.digest, None)));
        let mut reader = BufReader::with_capacity(
            1 << 20,
            Counting {
                inner: region.reader(),
                state: Rc::clone(&state),
            },
        );
        let index = LayerIndex::build(i, &mut reader, &self.limits).map_err(|e| e.to_string())?;
        io::copy(&mut reader, &mut io::sink()).map_err(|e| e.to_string())?;
        let found = state.borrow().hasher.clone().finish();
        if let Some(want) = layer.size
            && region.len != want
        {
            return Err(format!(
                "blob is {} bytes, its descriptor says {want}",
                region.len
            ));
        }
        for want in [&layer.digest, &layer.diff_id] {
            if found != *want {
                return Err(format!("digest mismatch: expected {want}, got {found}"));
            }
        }
        Ok(index)
    }

    /// Opens every layer, `threads` at a time (0: one per CPU). Errors are per layer.
    pub fn open_all(&self, threads: usize) -> Vec<Result<Arc<OpenLayer>, ImageError>> {
        crate::parallel::for_each(
            self.layers.len(),
            threads,
            || (),
            |_, i| {
                let _ = self.layer(i);
            },
        );
        let keep: Vec<Digest> = self.layers.iter().map(|l| l.diff_id.clone()).collect();
        self.cache.evict(&keep);
        (0..self.layers.len()).map(|i| self.layer(i)).collect()
    }

    /// The squashed filesystem (opens every layer; the first failure is returned).
    pub fn tree(&self, threads: usize) -> Result<Tree, ImageError> {
        let opened = self
            .open_all(threads)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let indexes: Vec<LayerIndex> = opened.iter().map(|l| l.index.clone()).collect();
        Ok(layers::squash(&indexes))
    }
}

/// Running size and digest of bytes read, with optional bounds.
struct Counted {
    hasher: Hasher,
    count: u64,
    expected_size: Option<u64>,
    limit: Option<u64>,
}

impl Counted {
    fn new(digest: &Digest, expected_size: Option<u64>) -> Counted {
        Counted {
            hasher: Hasher::new(digest),
            count: 0,
            expected_size,
            limit: expected_size,
        }
    }
}

/// A reader that hashes and counts what passes, and fails past its limit.
struct Counting<R> {
    inner: R,
    state: Rc<RefCell<Counted>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.state.borrow_mut();
        state.count += n as u64;
        if let Some(limit) = state.limit
            && state.count > limit
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than {limit} bytes (larger than its descriptor or the layer bound)"),
            ));
        }
        state.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A reader that copies what passes into a writer.
struct Tee<R, W> {
    inner: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}
