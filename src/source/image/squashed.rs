//! A container image as a source: its layers opened (in parallel), squashed into the filesystem a
//! container sees, and each regular file listed with the layer it came from; with `all_layers`,
//! also the files a later layer deleted or replaced (marked shadowed).
//!
//! A layer that cannot be opened fails the whole image: its files are never read from a blob that
//! did not verify, and a partial squash would show files that a missing layer deletes.

use std::sync::Arc;

use super::LayerSet;
use crate::record::LayerOf;
use crate::source::entry::{Bytes, Entry, Event, Source, SourceOptions, Visitors};
use crate::source::layers::{Issue, Kind, squash};

/// One file to read: where it is, in which layer, at which offset of that layer's tar.
struct Job {
    location: String,
    layer: usize,
    offset: u64,
    size: u64,
    shadowed: bool,
}

impl Source for LayerSet {
    fn entries(&self, options: &SourceOptions, visitors: &Visitors<'_>) {
        let mut visit = visitors();
        let opened = self.open_all(options.threads);
        let failures: Vec<String> = opened
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string())
            .collect();
        if !failures.is_empty() {
            visit(Event::Failed(failures));
            return;
        }
        let layers: Vec<_> = opened.into_iter().flatten().collect();
        let indexes: Vec<_> = layers.iter().map(|l| l.index.clone()).collect();
        let tree = squash(&indexes);
        for issue in tree.issues() {
            let (path, target, what) = match issue {
                Issue::DanglingHardlink { path, target, .. } => {
                    (path, target, "hard link to a file that is not in the image")
                }
                Issue::HardlinkToDir { path, target, .. } => {
                    (path, target, "hard link to a directory")
                }
            };
            visit(Event::Error {
                location: format!("/{}", String::from_utf8_lossy(path)),
                error: format!("{what} (/{}): left out", String::from_utf8_lossy(target)),
            });
        }
        let mut jobs = Vec::new();
        for (path, node) in tree.nodes() {
            match node.kind {
                Kind::File => jobs.push(Job {
                    location: format!("/{}", String::from_utf8_lossy(path)),
                    layer: node.layer,
                    offset: node.offset,
                    size: node.size,
                    shadowed: false,
                }),
                Kind::Dir => {}
                _ => visit(Event::Skipped),
            }
        }
        if options.all_layers {
            for index in &indexes {
                for entry in index.entries.iter().filter(|e| e.kind == Kind::File) {
                    let visible = tree.lookup(&entry.path).is_some_and(|n| {
                        n.kind == Kind::File && n.layer == entry.layer && n.offset == entry.offset
                    });
                    if !visible {
                        jobs.push(Job {
                            location: format!("/{}", String::from_utf8_lossy(&entry.path)),
                            layer: entry.layer,
                            offset: entry.offset,
                            size: entry.size,
                            shadowed: true,
                        });
                    }
                }
            }
        }
        drop(visit);
        let digests: Vec<Arc<str>> = self
            .layers
            .iter()
            .map(|l| Arc::from(l.digest.as_str()))
            .collect();
        crate::parallel::for_each(jobs.len(), options.threads, visitors, |visit, i| {
            let job = &jobs[i];
            let data = &layers[job.layer].data;
            let layer = LayerOf {
                digest: Arc::clone(&digests[job.layer]),
                shadowed: job.shadowed,
            };
            visit(Event::File(Entry {
                location: &job.location,
                bytes: Bytes::Region {
                    file: &data.file,
                    base: data.base + job.offset,
                    len: job.size,
                },
                layer: Some(&layer),
            }));
        });
    }
}
