//! Image metadata, parsed: manifests, indexes (manifest lists), configs and docker-archive's
//! `manifest.json`; media types; platform choice. Pure functions over `&[u8]`.
//!
//! OCI and Docker v2 schema 2 documents share one JSON shape, so both go through `oci-spec`'s
//! types; the media type (from the document, else from the transport) says which kind a document
//! is. Docker schema 1 manifests are refused with a clear error (registries have not served them
//! since 2019 and they carry no config with layer digests).

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

/// Largest manifest, index or config read (the distribution spec suggests 4 MiB for manifests).
pub const MAX_DOCUMENT: usize = 4 << 20;

/// Why image metadata could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("{what}: {detail}")]
    Malformed {
        /// Which document.
        what: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// A media type rootsift does not read.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// The asked platform is not in the index.
    #[error("no image for platform {wanted} in the index; available: {available}")]
    NoPlatform {
        /// The platform asked for.
        wanted: String,
        /// The platforms the index lists.
        available: String,
    },
    /// A digest rootsift cannot verify or use.
    #[error("invalid or unsupported digest {0:?} (sha256 and sha512 are supported)")]
    BadDigest(String),
    /// The config lists a different number of layers than the manifest.
    #[error(
        "the config lists {config} layer digests (rootfs.diff_ids) but the manifest {manifest} layers"
    )]
    LayerCountMismatch {
        /// Layers in the config.
        config: usize,
        /// Layers in the manifest.
        manifest: usize,
    },
}

fn malformed(what: &'static str) -> impl FnOnce(serde_json::Error) -> ManifestError {
    move |e| ManifestError::Malformed {
        what,
        detail: e.to_string(),
    }
}

/// A content digest, `ALGORITHM:HEX`, validated: only `sha256` and `sha512` with lowercase hex of
/// the right length, so it is safe to use as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses and validates a digest string.
    pub fn parse(text: &str) -> Result<Digest, ManifestError> {
        let bad = || ManifestError::BadDigest(text.chars().take(200).collect());
        let (algorithm, hex) = text.split_once(':').ok_or_else(bad)?;
        let len = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(bad()),
        };
        if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        Ok(Digest(text.to_string()))
    }

    /// The SHA-256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(data))
        ))
    }

    /// `sha256` or `sha512`.
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map_or("", |(a, _)| a)
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, h)| h)
    }

    /// The whole digest string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `data` has this digest.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut hasher = Hasher::new(self);
        hasher.update(data);
        hasher.finish() == *self
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An incremental hash in a digest's algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher for `digest`'s algorithm.
    pub fn new(digest: &Digest) -> Hasher {
        use sha2::Digest as _;
        match digest.algorithm() {
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        use sha2::Digest as _;
        match self {
            Hasher::Sha256(h) => Digest(format!("sha256:{}", hex::encode(h.finalize()))),
            Hasher::Sha512(h) => Digest(format!("sha512:{}", hex::encode(h.finalize()))),
        }
    }
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (possibly several members, as eStargz writes).
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// The compression a layer media type names; other media types (foreign layers, artifacts,
    /// encrypted layers) are refused.
    pub fn of_media_type(media_type: &str) -> Result<Compression, ManifestError> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Ok(Compression::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Ok(Compression::Gzip),
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
                Ok(Compression::Zstd)
            }
            other => Err(ManifestError::UnsupportedMediaType(other.to_string())),
        }
    }

    /// The compression the first bytes of a blob show (docker-archive layers carry no media type).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// A platform, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// Go's GOARCH names: `amd64`, `arm64`, `arm`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... when given.
    pub variant: Option<String>,
}

impl Platform {
    /// Parses `os/arch[/variant]`.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?;
        let architecture = parts.next().filter(|s| !s.is_empty())?;
        let variant = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }

    /// The platform this program runs on, in Go's names.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant: (architecture == "arm64").then(|| "v8".to_string()),
        }
    }

    /// Whether an index entry for `other` serves this platform. A missing variant on either side
    /// matches, as do `arm64` and `arm64/v8`.
    fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && match (&self.variant, &other.variant) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A reference to a blob: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The media type as written.
    pub media_type: String,
    /// The digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
    /// The platform (index entries only).
    pub platform: Option<Platform>,
}

impl Descriptor {
    fn from_oci(d: &oci_spec::image::Descriptor) -> Result<Descriptor, ManifestError> {
        Ok(Descriptor {
            media_type: d.media_type().to_string(),
            digest: Digest::parse(d.digest().as_ref())?,
            size: d.size(),
            platform: d.platform().as_ref().map(|p| Platform {
                os: p.os().to_string(),
                architecture: p.architecture().to_string(),
                variant: p.variant().clone(),
            }),
        })
    }
}

/// An image manifest: its config and layers, lowest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, lowest first.
    pub layers: Vec<Descriptor>,
}

/// A manifest or an index, as a registry or layout serves either under one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// A single-platform image.
    Manifest(Manifest),
    /// An image index / manifest list: its entries.
    Index(Vec<Descriptor>),
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The media types a registry is asked for, in order of preference.
pub const ACCEPTED: [&str; 4] = [
    MANIFEST_TYPES[0],
    INDEX_TYPES[0],
    MANIFEST_TYPES[1],
    INDEX_TYPES[1],
];

/// Parses a manifest or an index. The document's own `mediaType` wins over `transport_type` (the
/// HTTP Content-Type or the descriptor that pointed here); without either, the shape decides
/// (`manifests` means an index).
pub fn parse_document(
    body: &[u8],
    transport_type: Option<&str>,
) -> Result<Document, ManifestError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion")]
        schema_version: Option<u64>,
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(body).map_err(malformed("manifest"))?;
    if probe.schema_version == Some(1) {
        return Err(ManifestError::UnsupportedMediaType(
            "Docker image manifest schema 1 (push the image again with a current client)".into(),
        ));
    }
    let media_type = probe
        .media_type
        .or_else(|| transport_type.map(|t| t.split(';').next().unwrap_or(t).trim().to_string()));
    let is_index = match media_type.as_deref() {
        Some(t) if INDEX_TYPES.contains(&t) => true,
        Some(t) if MANIFEST_TYPES.contains(&t) => false,
        Some(t) if t.is_empty() || t == "application/json" => probe.manifests.is_some(),
        Some(t) => return Err(ManifestError::UnsupportedMediaType(t.to_string())),
        None => probe.manifests.is_some(),
    };
    if is_index {
        let index: ImageIndex = serde_json::from_slice(body).map_err(malformed("image index"))?;
        let entries = index
            .manifests()
            .iter()
            .map(Descriptor::from_oci)
            .collect::<Result<_, _>>()?;
        Ok(Document::Index(entries))
    } else {
        let manifest: ImageManifest =
            serde_json::from_slice(body).map_err(malformed("image manifest"))?;
        Ok(Document::Manifest(Manifest {
            config: Descriptor::from_oci(manifest.config())?,
            layers: manifest
                .layers()
                .iter()
                .map(Descriptor::from_oci)
                .collect::<Result<_, _>>()?,
        }))
    }
}

/// Picks the index entry for `wanted`; the error names every platform the index offers.
/// Entries that are not images (attestations, `unknown/unknown`) are never chosen.
pub fn choose_platform<'a>(
    entries: &'a [Descriptor],
    wanted: &Platform,
) -> Result<&'a Descriptor, ManifestError> {
    let images = || {
        entries
            .iter()
            .filter(|d| !INDEX_TYPES.contains(&d.media_type.as_str()))
    };
    if let Some(found) = images().find(|d| d.platform.as_ref().is_some_and(|p| wanted.accepts(p))) {
        return Ok(found);
    }
    let mut available: Vec<String> = images()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(Platform::to_string)
        .collect();
    available.dedup();
    Err(ManifestError::NoPlatform {
        wanted: wanted.to_string(),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

/// What rootsift needs from an image config: the uncompressed digests of the layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `rootfs.diff_ids`, lowest layer first.
    pub diff_ids: Vec<Digest>,
    /// The image's platform.
    pub platform: Platform,
}

/// Parses an image config (OCI or Docker; the same shape).
pub fn parse_config(body: &[u8]) -> Result<Config, ManifestError> {
    let config: ImageConfiguration =
        serde_json::from_slice(body).map_err(malformed("image config"))?;
    Ok(Config {
        diff_ids: config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<_, _>>()?,
        platform: Platform {
            os: config.os().to_string(),
            architecture: config.architecture().to_string(),
            variant: config.variant().clone(),
        },
    })
}

/// One image in a docker-archive's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ArchiveImage {
    /// Path of the config inside the archive.
    #[serde(rename = "Config")]
    pub config: String,
    /// `repo:tag` names.
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer tars inside the archive, lowest first.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// Parses a docker-archive's `manifest.json`.
pub fn parse_archive_manifest(body: &[u8]) -> Result<Vec<ArchiveImage>, ManifestError> {
    serde_json::from_slice(body).map_err(malformed("docker-archive manifest.json"))
}

/// Picks the image named `reference` (`repo:tag`, a bare repo meaning `:latest`) in a
/// docker-archive, or its only image when no name is given.
pub fn choose_archive_image<'a>(
    images: &'a [ArchiveImage],
    reference: Option<&str>,
) -> Result<&'a ArchiveImage, String> {
    let names = || {
        images
            .iter()
            .flat_map(|i| i.repo_tags.iter().flatten())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    match reference {
        None if images.len() == 1 => Ok(&images[0]),
        None if images.is_empty() => Err("the archive's manifest.json lists no image".into()),
        None => Err(format!(
            "the archive holds {} images; name one (docker-archive:PATH:NAME): {}",
            images.len(),
            names()
        )),
        Some(name) => {
            let full = if name
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'))
            {
                name.to_string()
            } else {
                format!("{name}:latest")
            };
            images
                .iter()
                .find(|i| {
                    i.repo_tags
                        .iter()
                        .flatten()
                        .any(|t| t == &full || t == name || t.ends_with(&format!("/{full}")))
                })
                .ok_or_else(|| {
                    format!(
                        "no image named {name} in the archive; it holds: {}",
                        names()
                    )
                })
        }
    }
}

/// An OCI layout's `index.json` entry chosen by tag (`org.opencontainers.image.ref.name`), or the
/// only entry when no tag is given.
pub fn choose_layout_entry(
    index_json: &[u8],
    tag: Option<&str>,
) -> Result<(Descriptor, Vec<Descriptor>), ManifestError> {
    let index: ImageIndex =
        serde_json::from_slice(index_json).map_err(malformed("OCI layout index.json"))?;
    let named = |d: &&oci_spec::image::Descriptor| -> Option<String> {
        d.annotations()
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.ref.name").cloned())
    };
    let all: Vec<Descriptor> = index
        .manifests()
        .iter()
        .map(Descriptor::from_oci)
        .collect::<Result<_, _>>()?;
    let chosen = match tag {
        Some(tag) => index
            .manifests()
            .iter()
            .position(|d| named(&d).as_deref() == Some(tag)),
        None if all.len() == 1 => Some(0),
        None => None,
    };
    match chosen {
        Some(i) => Ok((all[i].clone(), all)),
        None => {
            let tags: Vec<String> = index.manifests().iter().filter_map(|d| named(&d)).collect();
            Err(ManifestError::Malformed {
                what: "OCI layout",
                detail: match tag {
                    Some(t) => format!("no image tagged {t:?}; tags: {}", tags.join(", ")),
                    None => format!(
                        "{} images and no tag given (oci:DIR:TAG); tags: {}",
                        all.len(),
                        tags.join(", ")
                    ),
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digests_are_validated_before_they_name_files() {
        assert!(Digest::parse(SHA).is_ok());
        for bad in [
            "sha256:../../etc/passwd",
            "sha256:0123",
            "md5:0123456789abcdef0123456789abcdef",
            "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
        let d = Digest::sha256_of(b"abc");
        assert_eq!(
            d.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(d.matches(b"abc"));
        assert!(!d.matches(b"abd"));
    }

    #[test]
    fn platform_choice_names_what_is_available() {
        let entry = |arch: &str, variant: Option<&str>| Descriptor {
            media_type: MANIFEST_TYPES[0].into(),
            digest: Digest::parse(SHA).unwrap(),
            size: 1,
            platform: Some(Platform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        };
        let entries = vec![entry("amd64", None), entry("arm", Some("v7"))];
        let arm = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(
            choose_platform(&entries, &arm).unwrap().platform,
            Some(arm.clone())
        );
        let err = choose_platform(&entries, &Platform::parse("linux/s390x").unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("linux/s390x") && err.contains("linux/amd64, linux/arm/v7"),
            "{err}"
        );
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/arm/v7/x").is_none());
    }

    #[test]
    fn documents_are_told_apart_and_schema1_is_refused() {
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{SHA}","size":7}},
            "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{SHA}","size":9}}]}}"#
        );
        match parse_document(manifest.as_bytes(), None).unwrap() {
            Document::Manifest(m) => {
                assert_eq!(m.layers.len(), 1);
                assert_eq!(
                    Compression::of_media_type(&m.layers[0].media_type).unwrap(),
                    Compression::Gzip
                );
            }
            other => panic!("{other:?}"),
        }
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{SHA}","size":3,
            "platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
            MANIFEST_TYPES[0]
        );
        assert!(matches!(
            parse_document(index.as_bytes(), Some(INDEX_TYPES[0])).unwrap(),
            Document::Index(e) if e.len() == 1
        ));
        let err = parse_document(br#"{"schemaVersion":1,"fsLayers":[]}"#, None).unwrap_err();
        assert!(err.to_string().contains("schema 1"));
        assert!(parse_document(b"[", None).is_err());
        assert!(
            Compression::of_media_type("application/vnd.oci.image.layer.v1.tar+encrypted").is_err()
        );
    }
}
