//! Named files of a local image: an OCI layout directory, or the members of a tar file
//! (docker-archive, oci-archive), each presented as a [`Region`] of a file on disk — never
//! copied, never unpacked.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most members read from an image tar's table of contents.
pub const MAX_MEMBERS: usize = 1_000_000;

/// A byte range of an open file: a blob or a layer's uncompressed tar, in place.
#[derive(Debug, Clone)]
pub struct Region {
    /// The open file.
    pub file: Arc<File>,
    /// Its path, for messages.
    pub path: Arc<Path>,
    /// Where the range starts in the file.
    pub base: u64,
    /// Its length.
    pub len: u64,
}

impl Region {
    /// The whole of an open file.
    pub fn whole(path: &Path) -> io::Result<Region> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Region {
            file: Arc::new(file),
            path: Arc::from(path),
            base: 0,
            len,
        })
    }

    /// A reader over the range with its own position (positional reads; safe to have many).
    pub fn reader(&self) -> RegionReader {
        RegionReader {
            region: self.clone(),
            at: 0,
        }
    }

    /// The range's bytes, if it is no longer than `max`.
    pub fn read_small(&self, max: usize) -> io::Result<Vec<u8>> {
        if self.len > max as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} bytes, more than the {max} allowed", self.len),
            ));
        }
        let mut out = vec![0; self.len as usize];
        self.file.read_exact_at(&mut out, self.base)?;
        Ok(out)
    }
}

/// A [`Read`] over a [`Region`].
pub struct RegionReader {
    region: Region,
    at: u64,
}

impl Read for RegionReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.region.len - self.at;
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self
            .region
            .file
            .read_at(&mut buf[..want], self.region.base + self.at)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} ends early (truncated?)", self.region.path.display()),
            ));
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Where a local image's named files are.
#[derive(Debug)]
pub enum Store {
    /// Files under a directory (an OCI layout).
    Dir(PathBuf),
    /// Members of a tar file, by normalised name.
    Tar {
        /// The open tar file.
        file: Arc<File>,
        /// Its path.
        path: Arc<Path>,
        /// Name → (data offset, size).
        members: HashMap<String, (u64, u64)>,
    },
}

/// Strips `./` and leading `/` from a member name and refuses `..`.
fn normalise(name: &str) -> Option<String> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (!parts.contains(&"..") && !parts.is_empty()).then(|| parts.join("/"))
}

/// The member a link inside an image tar names: a symlink's target is relative to the link's
/// directory, a hardlink's to the archive root. `None` when it leaves the archive.
pub fn link_target(name: &str, target: &str, symlink: bool) -> Option<String> {
    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
    if symlink && !target.starts_with('/') && !dir.is_empty() {
        let mut parts: Vec<&str> = dir.split('/').collect();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        normalise(&parts.join("/"))
    } else {
        normalise(target)
    }
}

/// Whether a 512-byte block is a tar header: its checksum field (octal, bytes 148..156) is the
/// sum of the block's bytes with that field counted as spaces (unsigned, or signed as some old
/// writers summed). An all-zero block (an empty archive's end) counts as one.
pub fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    let block = &block[..512];
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    let field = &block[148..156];
    let digits = field
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b));
    let mut stored: u64 = 0;
    let mut any = false;
    for d in digits {
        stored = stored * 8 + u64::from(d - b'0');
        any = true;
    }
    let spaces = 8 * u64::from(b' ');
    let (unsigned, signed) = block
        .iter()
        .enumerate()
        .filter(|(i, _)| !(148..156).contains(i))
        .fold((spaces, spaces as i64), |(u, s), (_, &b)| {
            (u + u64::from(b), s + i64::from(b as i8))
        });
    any && (stored == unsigned || stored as i64 == signed)
}

/// An error for a file that is not an archive at all, or that breaks off: one line, without the
/// archive's bytes (the tar reader's messages quote them).
fn malformed(e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::Other && e.kind() != io::ErrorKind::InvalidData {
        return e;
    }
    let message = e.to_string();
    let first = message.lines().next().unwrap_or_default();
    let cut: String = first.chars().take(120).collect();
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed tar archive: {cut}"),
    )
}

impl Store {
    /// Reads the table of contents of a tar file (headers only: member data is seeked over).
    /// A file that is not a tar archive is `InvalidData` saying so.
    pub fn open_tar(path: &Path) -> io::Result<Store> {
        let file = File::open(path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a directory, not a tar archive",
            ));
        }
        let mut first = [0u8; 512];
        let got = file.read_at(&mut first, 0)?;
        if !is_tar_header(&first[..got]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a tar archive",
            ));
        }
        let mut members = HashMap::new();
        let mut links = Vec::new();
        let mut archive = tar::Archive::new(&file);
        for entry in archive.entries_with_seek().map_err(malformed)? {
            let entry = entry.map_err(malformed)?;
            if members.len() >= MAX_MEMBERS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("more than {MAX_MEMBERS} members"),
                ));
            }
            let Some(name) = normalise(&String::from_utf8_lossy(&entry.path_bytes())) else {
                continue;
            };
            let kind = entry.header().entry_type();
            if kind.is_file() {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            } else if (kind.is_symlink() || kind.is_hard_link())
                && let Some(target) = entry.link_name_bytes()
            {
                let target =
                    link_target(&name, &String::from_utf8_lossy(&target), kind.is_symlink());
                links.push((name, target));
            }
        }
        // skopeo's and old docker's archives name layers through links (`ID/layer.tar -> ../HEX.tar`).
        for (name, target) in links {
            if let Some(&found) = target.and_then(|t| members.get(&t)) {
                members.entry(name).or_insert(found);
            }
        }
        Ok(Store::Tar {
            file: Arc::new(file),
            path: Arc::from(path),
            members,
        })
    }

    /// The named file, or `None` when it is not there.
    pub fn get(&self, name: &str) -> io::Result<Option<Region>> {
        let Some(name) = normalise(name) else {
            return Ok(None);
        };
        match self {
            Store::Dir(root) => {
                let path = root.join(&name);
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_file() => Region::whole(&path).map(Some),
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Store::Tar {
                file,
                path,
                members,
            } => Ok(members.get(&name).map(|&(base, len)| Region {
                file: Arc::clone(file),
                path: Arc::clone(path),
                base,
                len,
            })),
        }
    }

    /// Whether the named file is there.
    pub fn has(&self, name: &str) -> bool {
        matches!(self.get(name), Ok(Some(_)))
    }
}

/// What a file on disk holds, as far as image targets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalImage {
    /// A tar with a top-level `manifest.json`: `docker save` output.
    DockerArchive,
    /// A tar with a top-level `oci-layout`: an OCI archive.
    OciArchive,
    /// A directory with `oci-layout` and `index.json`.
    OciDir,
}

/// Whether `path` is an image layout or archive (a cheap look: a directory's two files, or a
/// tar's headers). Plain directories and files give `None`.
pub fn sniff(path: &Path) -> Option<LocalImage> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return (path.join("oci-layout").is_file() && path.join("index.json").is_file())
            .then_some(LocalImage::OciDir);
    }
    if !meta.is_file() || meta.len() < 1024 {
        return None;
    }
    let file = File::open(path).ok()?;
    let mut header = [0u8; 512];
    file.read_exact_at(&mut header, 0).ok()?;
    if &header[257..262] != b"ustar" {
        return None;
    }
    let Ok(Store::Tar { members, .. }) = Store::open_tar(path) else {
        return None;
    };
    if members.contains_key("oci-layout") && members.contains_key("index.json") {
        // Docker 25+ writes an OCI layout with a manifest.json beside it; either reading works.
        Some(if members.contains_key("manifest.json") {
            LocalImage::DockerArchive
        } else {
            LocalImage::OciArchive
        })
    } else if members.contains_key("manifest.json") {
        Some(LocalImage::DockerArchive)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_never_leave_the_store() {
        assert_eq!(
            normalise("./blobs/sha256/ab").as_deref(),
            Some("blobs/sha256/ab")
        );
        assert_eq!(
            normalise("/manifest.json").as_deref(),
            Some("manifest.json")
        );
        assert_eq!(normalise("../etc/passwd"), None);
        assert_eq!(normalise("a/../../b"), None);
        assert_eq!(normalise("./"), None);
        assert_eq!(
            link_target("id/layer.tar", "../ab.tar", true).as_deref(),
            Some("ab.tar")
        );
        assert_eq!(link_target("id/layer.tar", "../../ab.tar", true), None);
        assert_eq!(
            link_target("id/layer.tar", "x/ab.tar", false).as_deref(),
            Some("x/ab.tar")
        );
    }

    #[test]
    fn tar_members_are_regions_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        for (name, data) in [
            ("./manifest.json", &b"[]"[..]),
            ("x/layer.tar", &[7u8; 1500][..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, data).unwrap();
        }
        builder.into_inner().unwrap();
        let store = Store::open_tar(&path).unwrap();
        let region = store.get("x/layer.tar").unwrap().unwrap();
        assert_eq!(region.len, 1500);
        let mut all = Vec::new();
        region.reader().read_to_end(&mut all).unwrap();
        assert_eq!(all, vec![7u8; 1500]);
        assert_eq!(
            store
                .get("manifest.json")
                .unwrap()
                .unwrap()
                .read_small(10)
                .unwrap(),
            b"[]"
        );
        assert!(store.get("../x/layer.tar").unwrap().is_none());
        assert_eq!(sniff(&path), Some(LocalImage::DockerArchive));
        assert_eq!(sniff(dir.path()), None);
    }

    #[test]
    fn a_tar_header_is_told_by_its_checksum() {
        let mut header = tar::Header::new_gnu();
        header.set_path("manifest.json").unwrap();
        header.set_size(2);
        header.set_cksum();
        let block = header.as_bytes().to_vec();
        assert!(is_tar_header(&block));
        assert!(is_tar_header(&[0u8; 512]), "an empty archive's end block");
        let mut flipped = block.clone();
        flipped[0] ^= 1;
        assert!(!is_tar_header(&flipped));
        assert!(!is_tar_header(&block[..511]));
        assert!(!is_tar_header(
            &b"root:x:0:0:root:/root:/bin/bash\n".repeat(20)
        ));
        // Not an archive, or a directory: one line saying so, never the file's bytes.
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("passwd");
        std::fs::write(&text, "root:x:0:0:root:/root:/bin/bash\n".repeat(40)).unwrap();
        for (path, says) in [
            (&text, "not a tar archive"),
            (&dir.path().to_path_buf(), "a directory"),
        ] {
            let e = Store::open_tar(path).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().starts_with(says), "{e}");
        }
    }
}
