//! The on-disk cache of image data, keyed by digest, so that a second scan or mount of an image
//! fetches and decompresses nothing.
//!
//! Layout under the cache directory (`--cache-dir`, else `$XDG_CACHE_HOME/rootsift`, else
//! `~/.cache/rootsift`):
//!
//! ```text
//! layers/sha256/HEX.tar     a layer's uncompressed tar, keyed by its diff_id
//! layers/sha256/HEX.index   its index (JSON of `LayerIndex`), written after the tar
//! layers/sha256/HEX.inplace where an uncompressed local blob with that diff_id was verified in
//!                           place (file identity, size, times, range): a later scan of the
//!                           unchanged file reuses the index without hashing it again
//! blobs/sha256/HEX          small verified blobs: configs, manifests fetched by digest
//! tmp/                      files being written; renamed into place once verified
//! ```
//!
//! Everything enters through a temporary file renamed into place only after its digest was
//! verified, so a reader never sees a partial entry and two processes filling the same entry
//! race harmlessly. Used entries have their modification time refreshed; when the layers exceed
//! the size bound, the least recently used ones not needed by the current image are removed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::manifest::Digest;
use super::store::Region;
use crate::source::layers::LayerIndex;

/// The default bound on cached layers: 20 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 20 << 30;

/// The identity of a byte range in a local file, as verified: if any of it changes (the file is
/// replaced, rewritten, touched), the range is hashed again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    base: u64,
    len: u64,
}

impl Stamp {
    /// The stamp of `region` now.
    pub fn of(region: &Region) -> io::Result<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = region.file.metadata()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Ok(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            base: region.base,
            len: region.len,
        })
    }
}

/// The cache directory and its bound.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    max_bytes: u64,
}

fn digest_path(dir: &Path, digest: &Digest, suffix: &str) -> PathBuf {
    // Digests are validated (algorithm name and lowercase hex only): safe as file names.
    dir.join(digest.algorithm())
        .join(format!("{}{suffix}", digest.hex()))
}

fn touch(path: &Path) {
    if let Ok(file) = File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

impl Cache {
    /// The default directory: `$XDG_CACHE_HOME/rootsift`, else `$HOME/.cache/rootsift`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|d| !d.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(base.join("rootsift"))
    }

    /// Opens (creating) the cache at `dir`.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Cache> {
        for sub in [
            "layers/sha256",
            "layers/sha512",
            "blobs/sha256",
            "blobs/sha512",
            "tmp",
        ] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| {
                io::Error::new(e.kind(), format!("cache directory {}: {e}", dir.display()))
            })?;
        }
        Ok(Cache {
            root: dir.to_path_buf(),
            max_bytes,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// A cached layer: its uncompressed tar and its index (re-numbered as layer `layer`).
    pub fn layer(&self, diff_id: &Digest, layer: usize) -> Option<(Region, LayerIndex)> {
        let data_path = digest_path(&self.root.join("layers"), diff_id, ".tar");
        let index = self.index(diff_id, layer)?;
        let region = Region::whole(&data_path).ok()?;
        touch(&data_path);
        Some((region, index))
    }

    /// A layer's cached index, re-numbered as layer `layer`.
    fn index(&self, diff_id: &Digest, layer: usize) -> Option<LayerIndex> {
        let text = fs::read(digest_path(&self.root.join("layers"), diff_id, ".index")).ok()?;
        let mut index: LayerIndex = serde_json::from_slice(&text).ok()?;
        index.renumber(layer);
        Some(index)
    }

    /// Writes `data` to a temporary file and moves it to `path` (never seen half-written).
    fn put(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut file = self.temp_file()?;
        file.write_all(data)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The index of a local uncompressed layer already verified in place, if `stamp` still
    /// matches what was verified.
    pub fn verified_in_place(
        &self,
        diff_id: &Digest,
        stamp: &Stamp,
        layer: usize,
    ) -> Option<LayerIndex> {
        let dir = self.root.join("layers");
        let seen: Stamp =
            serde_json::from_slice(&fs::read(digest_path(&dir, diff_id, ".inplace")).ok()?).ok()?;
        if seen != *stamp {
            return None;
        }
        self.index(diff_id, layer)
    }

    /// Records that the range `stamp` names was verified to have `diff_id`, with its index.
    pub fn remember_in_place(
        &self,
        diff_id: &Digest,
        stamp: &Stamp,
        index: &LayerIndex,
    ) -> io::Result<()> {
        let dir = self.root.join("layers");
        for (suffix, json) in [
            (".index", serde_json::to_vec(index)),
            (".inplace", serde_json::to_vec(stamp)),
        ] {
            self.put(
                &digest_path(&dir, diff_id, suffix),
                &json.map_err(io::Error::other)?,
            )?;
        }
        Ok(())
    }

    /// A new temporary file inside the cache (same file system as the entries).
    pub fn temp_file(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new_in(self.root.join("tmp"))
    }

    /// Moves a verified layer into place and writes its index.
    pub fn store_layer(
        &self,
        data: tempfile::NamedTempFile,
        diff_id: &Digest,
        index: &LayerIndex,
    ) -> io::Result<Region> {
        let dir = self.root.join("layers");
        let data_path = digest_path(&dir, diff_id, ".tar");
        data.persist(&data_path).map_err(|e| e.error)?;
        let json = serde_json::to_vec(index).map_err(io::Error::other)?;
        self.put(&digest_path(&dir, diff_id, ".index"), &json)?;
        Region::whole(&data_path)
    }

    /// A cached small blob.
    pub fn blob(&self, digest: &Digest) -> Option<Vec<u8>> {
        let data = fs::read(digest_path(&self.root.join("blobs"), digest, "")).ok()?;
        // Cheap to check, and a damaged config must never be trusted.
        digest.matches(&data).then_some(data)
    }

    /// Keeps a verified small blob.
    pub fn store_blob(&self, digest: &Digest, data: &[u8]) -> io::Result<()> {
        self.put(&digest_path(&self.root.join("blobs"), digest, ""), data)
    }

    /// Removes least recently used layers until the layers fit the bound, never one of `keep`.
    /// Returns how many were removed.
    pub fn evict(&self, keep: &[Digest]) -> usize {
        let keep: Vec<PathBuf> = keep
            .iter()
            .map(|d| digest_path(&self.root.join("layers"), d, ".tar"))
            .collect();
        let mut layers: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for algorithm in ["sha256", "sha512"] {
            let Ok(dir) = fs::read_dir(self.root.join("layers").join(algorithm)) else {
                continue;
            };
            for entry in dir.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "tar")
                    && let Ok(meta) = entry.metadata()
                {
                    let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    layers.push((used, meta.len(), path));
                }
            }
        }
        let mut total: u64 = layers.iter().map(|l| l.1).sum();
        layers.sort();
        let mut removed = 0;
        for (_, len, path) in layers {
            if total <= self.max_bytes {
                break;
            }
            if keep.contains(&path) {
                continue;
            }
            let _ = fs::remove_file(path.with_extension("index"));
            if fs::remove_file(&path).is_ok() {
                total -= len;
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_round_trip_and_the_bound_evicts_least_recent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), 2500).unwrap();
        let mut digests = Vec::new();
        for (i, fill) in [1u8, 2, 3].into_iter().enumerate() {
            let data = vec![fill; 1000];
            let digest = Digest::sha256_of(&data);
            let mut temp = cache.temp_file().unwrap();
            temp.write_all(&data).unwrap();
            let index = LayerIndex {
                layer: i,
                entries: Vec::new(),
            };
            cache.store_layer(temp, &digest, &index).unwrap();
            let old =
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 * (i as u64 + 1));
            File::options()
                .append(true)
                .open(digest_path(&dir.path().join("layers"), &digest, ".tar"))
                .unwrap()
                .set_modified(old)
                .unwrap();
            digests.push(digest);
        }
        let (region, index) = cache.layer(&digests[1], 7).unwrap();
        assert_eq!((region.len, index.layer), (1000, 7));
        // Layer 1 was just used and layer 0 is kept: layer 2 is the one to go.
        assert_eq!(cache.evict(&digests[..1]), 1);
        assert!(cache.layer(&digests[1], 1).is_some());
        assert!(cache.layer(&digests[0], 0).is_some());
        assert!(cache.layer(&digests[2], 0).is_none());

        let blob = b"{\"config\":1}";
        let digest = Digest::sha256_of(blob);
        cache.store_blob(&digest, blob).unwrap();
        assert_eq!(cache.blob(&digest).as_deref(), Some(&blob[..]));
    }
}
