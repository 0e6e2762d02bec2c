//! Walking a directory tree in parallel, confined to its root.
//!
//! Uses ripgrep's `ignore` parallel walker with every filter off (hidden files, ignore files: a
//! scanner must see everything). It never follows a symbolic link (a rootfs's absolute links point at
//! the host), never opens anything but regular files, and never descends into pseudo filesystems
//! (proc, sysfs, devtmpfs, cgroup, …: reading them hangs or lies). `one_file_system` stays on the
//! root's filesystem.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use super::entry::{Bytes, Entry, Event, Source, SourceOptions, Visitors};

/// Filesystem types whose contents are not files on a disk.
const PSEUDO_FILESYSTEMS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "configfs",
    "fusectl",
    "bpf",
    "pstore",
    "mqueue",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "selinuxfs",
    "rpc_pipefs",
    "nsfs",
    "nfsd",
    "binder",
];

/// Mount points of pseudo filesystems on this host, from `/proc/self/mountinfo`.
pub fn pseudo_mount_points() -> HashSet<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|text| parse_mountinfo(&text))
        .unwrap_or_default()
}

fn parse_mountinfo(text: &str) -> HashSet<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|&f| f == "-")?;
            let fstype = fields.get(sep + 1)?;
            let mount_point = fields.get(4)?;
            PSEUDO_FILESYSTEMS
                .contains(fstype)
                .then(|| PathBuf::from(unescape_mount_path(mount_point)))
        })
        .collect()
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape_mount_path(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The location of `path` inside `root`: `/` followed by the relative path.
pub fn location_in(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => "/".to_string(),
        Ok(rel) => format!("/{}", rel.to_string_lossy()),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// A directory tree as a source; locations are relative to its root.
#[derive(Debug, Clone, Copy)]
pub struct Directory<'a> {
    /// The root.
    pub root: &'a Path,
}

impl Source for Directory<'_> {
    /// Walks the tree with one visitor per worker thread, calling it for every file, skipped entry
    /// and error.
    fn entries(&self, options: &SourceOptions, visitors: &Visitors<'_>) {
        let pseudo = pseudo_mount_points();
        let root_buf = self.root.to_path_buf();
        let mut builder = WalkBuilder::new(self.root);
        builder
            .standard_filters(false)
            .follow_links(false)
            .same_file_system(options.one_file_system)
            .threads(options.threads);
        builder.filter_entry(move |entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir()) && pseudo.contains(entry.path()))
        });
        builder.build_parallel().run(|| {
            let mut visit = visitors();
            let root = root_buf.clone();
            Box::new(move |result| {
                match result {
                    Ok(entry) => match entry.file_type() {
                        Some(t) if t.is_file() => {
                            let location = location_in(&root, entry.path());
                            visit(Event::File(Entry {
                                location: &location,
                                bytes: Bytes::Path(entry.path()),
                                layer: None,
                            }));
                        }
                        Some(t) if t.is_dir() => {}
                        _ => visit(Event::Skipped),
                    },
                    Err(err) => {
                        let location = error_path(&err)
                            .map_or_else(|| "/".to_string(), |p| location_in(&root, p));
                        visit(Event::Error {
                            location,
                            error: error_message(&err),
                        });
                    }
                }
                WalkState::Continue
            })
        });
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => error_message(err),
        ignore::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_pseudo_filesystems_are_found_and_unescaped() {
        let text = "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n\
                    23 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n\
                    24 1 0:5 / /mnt/my\\040sys rw - sysfs sysfs rw\n";
        let found = parse_mountinfo(text);
        assert!(found.contains(Path::new("/proc")));
        assert!(found.contains(Path::new("/mnt/my sys")));
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn locations_are_rooted() {
        assert_eq!(
            location_in(Path::new("/r"), Path::new("/r/etc/x")),
            "/etc/x"
        );
        assert_eq!(location_in(Path::new("/r"), Path::new("/r")), "/");
    }
}
