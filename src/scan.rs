//! The scan driver: targets → files → detectors (and signature parsers) → records, in parallel,
//! streamed.
//!
//! Worker threads (the walker's) read each file and run the detectors on it, collecting that file's
//! records; one batch per file travels over a bounded channel to the calling thread, which hands each
//! record to the caller's callback in arrival order. Memory stays bounded whatever the tree's size:
//! records are not kept here, and certificates are shared through the [`CertCache`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Sender, bounded};

use crate::cert::{CertCache, Certificate};
use sha2::{Digest, Sha256};

use crate::detect::{DEFAULT_PKCS12_PASSWORDS, Detector, Limits, Parser, Sink};
use crate::record::{FileError, LayerOf, Partial, Record, SignatureFinding};
// Transitional, until analyze/policy and cli/validate import the model directly.
pub use crate::record::{Finding, Summary};
use crate::sign::{self, SignOptions, Signed};
use crate::source::Target;
use crate::source::dir::{self, Event, WalkOptions};
use crate::source::image::LayerSet;
use crate::source::layers::Kind;
use crate::source::read::{FileReader, ReadError};

/// Everything that shapes a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Bounds on archives and PEM blocks.
    pub limits: Limits,
    /// Passwords tried on PKCS#12 stores.
    pub pkcs12_passwords: Vec<String>,
    /// Stay on each root's filesystem.
    pub one_file_system: bool,
    /// Worker threads (0: one per CPU).
    pub threads: usize,
    /// Never memory-map files.
    pub no_mmap: bool,
    /// Look for certificates (`sigscan` turns this off and opens archives only).
    pub certificates: bool,
    /// Look for code-signing signatures, with these options (`sigscan`).
    pub signatures: Option<SignOptions>,
    /// In images, also scan files that a later layer deleted or replaced.
    pub all_layers: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            limits: Limits::default(),
            pkcs12_passwords: DEFAULT_PKCS12_PASSWORDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            one_file_system: false,
            threads: 0,
            no_mmap: false,
            certificates: true,
            signatures: None,
            all_layers: false,
        }
    }
}

/// Live counters, readable while a scan runs (for a progress display).
#[derive(Debug, Default)]
pub struct Progress {
    /// Files read so far.
    pub files: AtomicU64,
    /// Bytes read so far.
    pub bytes: AtomicU64,
    /// Certificates found so far.
    pub certificates: AtomicU64,
    /// Archive members left unopened so far.
    pub members_skipped: AtomicU64,
    /// Signed files and members so far.
    pub signed: AtomicU64,
    /// Signable but unsigned files and members so far.
    pub unsigned: AtomicU64,
    /// Targets that failed as a whole.
    pub failed_targets: AtomicU64,
}

/// Scans every target, calling `on_record` (on the calling thread) for each record as it arrives.
pub fn scan(
    targets: &[Target],
    options: &ScanOptions,
    progress: &Progress,
    mut on_record: impl FnMut(Record),
) -> Summary {
    let started = Instant::now();
    let cache = CertCache::new();
    let mut summary = Summary::default();
    let skipped = AtomicU64::new(0);
    let (tx, rx) = bounded::<Vec<Record>>(1024);
    std::thread::scope(|scope| {
        let cache = &cache;
        let skipped = &skipped;
        scope.spawn(move || {
            for target in targets {
                scan_target(target, options, cache, progress, skipped, &tx);
            }
            drop(tx);
        });
        for batch in rx {
            for record in batch {
                match &record {
                    Record::Certificate(_) => summary.certificates += 1,
                    Record::Partial(_) => summary.partials += 1,
                    Record::Error(_) => summary.errors += 1,
                    Record::Signature(_) => summary.signatures += 1,
                }
                on_record(record);
            }
        }
    });
    summary.files = progress.files.load(Ordering::Relaxed);
    summary.bytes = progress.bytes.load(Ordering::Relaxed);
    summary.skipped = skipped.load(Ordering::Relaxed);
    summary.archive_members_skipped = progress.members_skipped.load(Ordering::Relaxed);
    summary.signed = progress.signed.load(Ordering::Relaxed);
    summary.unsigned = progress.unsigned.load(Ordering::Relaxed);
    summary.failed_targets = progress.failed_targets.load(Ordering::Relaxed);
    summary.unique_certificates = cache.len() as u64;
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

fn scan_target(
    target: &Target,
    options: &ScanOptions,
    cache: &CertCache,
    progress: &Progress,
    skipped: &AtomicU64,
    tx: &Sender<Vec<Record>>,
) {
    let name: Arc<str> = Arc::from(target.name());
    let detector = Detector {
        cache,
        limits: &options.limits,
        passwords: &options.pkcs12_passwords,
    };
    let worker = || Worker {
        detector: &detector,
        certificates: options.certificates,
        signatures: options.signatures,
        reader: FileReader::new(options.no_mmap),
        target: Arc::clone(&name),
        progress,
        tx: tx.clone(),
    };
    match target {
        Target::File { path, location } => {
            let location = location.to_string_lossy();
            worker().scan(Input::Path(path), &location, None);
        }
        Target::Image(set) => scan_image(set, options, skipped, worker),
        Target::Directory(root) => {
            let walk = WalkOptions {
                one_file_system: options.one_file_system,
                threads: options.threads,
            };
            dir::walk(root, &walk, || {
                let mut w = worker();
                move |event: Event<'_>| match event {
                    Event::File { path, location } => w.scan(Input::Path(path), location, None),
                    Event::Skipped => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Event::Error { location, error } => w.send(vec![Record::Error(FileError {
                        location,
                        target: Arc::clone(&w.target),
                        error,
                    })]),
                }
            });
        }
    }
}

/// Scans an image's squashed filesystem (and with `all_layers`, what later layers hid), its
/// layers opened in parallel first. A layer that cannot be opened fails the whole image: its
/// files are never scanned from a blob that did not verify, and a partial squash would show
/// files that a missing layer deletes.
fn scan_image<'a>(
    set: &LayerSet,
    options: &ScanOptions,
    skipped: &AtomicU64,
    worker: impl Fn() -> Worker<'a> + Sync,
) {
    let opened = set.open_all(options.threads);
    let failures: Vec<Record> = opened
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| {
            Record::Error(FileError {
                location: "/".into(),
                target: Arc::from(set.name.as_str()),
                error: e.to_string(),
            })
        })
        .collect();
    let w = worker();
    if !failures.is_empty() {
        w.progress.failed_targets.fetch_add(1, Ordering::Relaxed);
        w.send(failures);
        return;
    }
    let layers: Vec<_> = opened.into_iter().flatten().collect();
    let indexes: Vec<_> = layers.iter().map(|l| l.index.clone()).collect();
    let tree = crate::source::layers::squash(&indexes);
    let digests: Vec<Arc<str>> = set
        .layers
        .iter()
        .map(|l| Arc::from(l.digest.as_str()))
        .collect();
    let issues = tree.issues().iter().map(|issue| {
        let (path, target, what) = match issue {
            crate::source::layers::Issue::DanglingHardlink { path, target, .. } => {
                (path, target, "hard link to a file that is not in the image")
            }
            crate::source::layers::Issue::HardlinkToDir { path, target, .. } => {
                (path, target, "hard link to a directory")
            }
        };
        Record::Error(FileError {
            location: format!("/{}", String::from_utf8_lossy(path)),
            target: Arc::clone(&w.target),
            error: format!("{what} (/{}): left out", String::from_utf8_lossy(target)),
        })
    });
    w.send(issues.collect());
    // (location, layer, offset, size, shadowed)
    let mut jobs: Vec<(String, usize, u64, u64, bool)> = Vec::new();
    for (path, node) in tree.nodes() {
        match node.kind {
            Kind::File => jobs.push((
                format!("/{}", String::from_utf8_lossy(path)),
                node.layer,
                node.offset,
                node.size,
                false,
            )),
            Kind::Dir => {}
            _ => {
                skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if options.all_layers {
        for index in &indexes {
            for entry in index.entries.iter().filter(|e| e.kind == Kind::File) {
                let visible = tree.lookup(&entry.path).is_some_and(|n| {
                    n.kind == Kind::File && n.layer == entry.layer && n.offset == entry.offset
                });
                if !visible {
                    let location = format!("/{}", String::from_utf8_lossy(&entry.path));
                    jobs.push((location, entry.layer, entry.offset, entry.size, true));
                }
            }
        }
    }
    drop(w);
    crate::parallel::for_each(jobs.len(), options.threads, worker, |w, i| {
        let (location, layer, offset, size, shadowed) = &jobs[i];
        let data = &layers[*layer].data;
        let of = LayerOf {
            digest: Arc::clone(&digests[*layer]),
            shadowed: *shadowed,
        };
        let input = Input::Region {
            file: &data.file,
            base: data.base + offset,
            len: *size,
        };
        w.scan(input, location, Some(&of));
    });
}

/// Where a file's bytes are.
enum Input<'a> {
    /// A file on disk.
    Path(&'a Path),
    /// A range of an open file (a file inside an image layer's uncompressed tar).
    Region {
        /// The file.
        file: &'a std::fs::File,
        /// Where the range starts.
        base: u64,
        /// Its length.
        len: u64,
    },
}

/// One worker thread's state.
struct Worker<'a> {
    detector: &'a Detector<'a>,
    certificates: bool,
    signatures: Option<SignOptions>,
    reader: FileReader,
    target: Arc<str>,
    progress: &'a Progress,
    tx: Sender<Vec<Record>>,
}

impl Worker<'_> {
    fn scan(&mut self, input: Input<'_>, location: &str, layer: Option<&LayerOf>) {
        let mut sink = FileSink {
            location,
            target: &self.target,
            layer,
            members: Vec::new(),
            base_offset: 0,
            owned_end: u64::MAX,
            records: Vec::new(),
            certificates: self.certificates,
            signatures: self.signatures.map(|options| SignScan {
                options,
                cache: self.detector.cache,
                whole: false,
                signed: 0,
                unsigned: 0,
            }),
        };
        let detector = self.detector;
        let mut members_skipped = 0;
        let mut panicked = None;
        let signatures = self.signatures.is_some();
        let whole = |head: &[u8]| {
            crate::detect::needs_whole_buffer(head)
                || (signatures && sign::needs_whole_buffer(head))
        };
        let visit = |chunk: crate::source::read::Chunk<'_>| {
            sink.base_offset = chunk.offset;
            sink.owned_end = chunk.offset + chunk.owned;
            if let Some(sign) = &mut sink.signatures {
                // Only a chunk that is the whole file can be judged for signatures.
                sign.whole = chunk.offset == 0 && chunk.owned == chunk.data.len() as u64;
            }
            // A bug in a parser must cost one file, not the scan: contain it and report it.
            let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if chunk.offset == 0 {
                    detector.scan(chunk.data, &mut sink).members_skipped
                } else {
                    // A later window or data extent: the file's format was judged at its start.
                    detector.search(chunk.data, &mut sink);
                    0
                }
            }));
            match scanned {
                Ok(skipped) => members_skipped += skipped,
                Err(payload) => panicked = Some(panic_message(&payload)),
            }
        };
        let result = match input {
            Input::Path(path) => self.reader.read(path, whole, visit),
            Input::Region { file, base, len } => {
                self.reader.read_region(file, base, len, whole, visit)
            }
        };
        if let Some(message) = panicked {
            sink.records.push(Record::Error(FileError {
                location: location.to_string(),
                target: Arc::clone(&self.target),
                error: format!(
                    "internal error while scanning this file (please report): {message}"
                ),
            }));
        }
        self.progress
            .members_skipped
            .fetch_add(members_skipped, Ordering::Relaxed);
        if let Some(sign) = &sink.signatures {
            self.progress
                .signed
                .fetch_add(sign.signed, Ordering::Relaxed);
            self.progress
                .unsigned
                .fetch_add(sign.unsigned, Ordering::Relaxed);
        }
        match result {
            Ok(bytes) => {
                self.progress.files.fetch_add(1, Ordering::Relaxed);
                self.progress.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(ReadError::NotRegular) => {}
            Err(e) => sink.records.push(Record::Error(FileError {
                location: location.to_string(),
                target: Arc::clone(&self.target),
                error: e.to_string(),
            })),
        }
        let found = sink
            .records
            .iter()
            .filter(|r| matches!(r, Record::Certificate(_)))
            .count();
        self.progress
            .certificates
            .fetch_add(found as u64, Ordering::Relaxed);
        let records = sink.records;
        self.send(records);
    }

    fn send(&self, records: Vec<Record>) {
        if !records.is_empty() {
            // The receiver only goes away when the scan is over.
            let _ = self.tx.send(records);
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a parser panicked".to_string())
}

/// Turns what the detectors report for one file into records with full locations.
struct FileSink<'a> {
    location: &'a str,
    target: &'a Arc<str>,
    /// The image layer the file came from.
    layer: Option<&'a LayerOf>,
    members: Vec<String>,
    /// Where the chunk being scanned starts in the file.
    base_offset: u64,
    /// Findings starting at or past this file offset belong to the next (overlapping) chunk.
    owned_end: u64,
    records: Vec<Record>,
    /// Whether certificates are wanted.
    certificates: bool,
    /// The signature scan, when wanted.
    signatures: Option<SignScan<'a>>,
}

/// The state of the signature scan of one file.
struct SignScan<'a> {
    options: SignOptions,
    cache: &'a CertCache,
    /// Whether the chunk being scanned is the whole file.
    whole: bool,
    /// Signed buffers (the file, its members).
    signed: u64,
    /// Signable buffers with no signature.
    unsigned: u64,
}

impl FileSink<'_> {
    fn location(&self) -> String {
        let mut loc = self.location.to_string();
        for member in &self.members {
            loc.push_str("!/");
            loc.push_str(member);
        }
        loc
    }

    /// Offsets of the file itself are shifted by the extent being read; members have their own.
    fn offset(&self, offset: u64) -> u64 {
        if self.members.is_empty() {
            self.base_offset + offset
        } else {
            offset
        }
    }
}

impl Sink for FileSink<'_> {
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser) {
        if self.members.is_empty() && self.base_offset + offset >= self.owned_end {
            return;
        }
        self.records.push(Record::Certificate(Finding {
            location: self.location(),
            target: Arc::clone(self.target),
            offset: self.offset(offset),
            parser,
            cert,
            layer: self.layer.cloned(),
        }));
    }

    fn partial(&mut self, offset: u64, parser: Parser, reason: String) {
        if self.members.is_empty() && self.base_offset + offset >= self.owned_end {
            return;
        }
        self.records.push(Record::Partial(Partial {
            location: self.location(),
            target: Arc::clone(self.target),
            offset: self.offset(offset),
            parser,
            reason,
            layer: self.layer.cloned(),
        }));
    }

    fn enter(&mut self, name: &str) {
        self.members.push(name.to_string());
    }

    fn leave(&mut self) {
        self.members.pop();
    }

    fn buffer(&mut self, data: &[u8]) {
        let Some(sign) = &mut self.signatures else {
            return;
        };
        if self.members.is_empty() && !sign.whole {
            return;
        }
        let signatures = match sign::scan(data, sign.cache, &sign.options) {
            Signed::NotSignable => return,
            Signed::Unsigned => {
                sign.unsigned += 1;
                return;
            }
            Signed::Signatures(signatures) => signatures,
        };
        sign.signed += 1;
        let digest: [u8; 32] = Sha256::digest(data).into();
        let location = self.location();
        for signature in signatures {
            self.records
                .push(Record::Signature(Box::new(SignatureFinding {
                    location: location.clone(),
                    target: Arc::clone(self.target),
                    digest,
                    signature,
                    trusted: None,
                })));
        }
    }

    fn wants_certificates(&self) -> bool {
        self.certificates
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::openssl_certificate;
    use crate::source::read::{OVERLAP, WINDOW};
    use std::io::{Seek, SeekFrom, Write};

    fn scan_dir(dir: &Path) -> (Vec<Finding>, Vec<Partial>, Summary) {
        let (mut found, mut partials) = (Vec::new(), Vec::new());
        let target = Target::resolve(dir.to_str().unwrap()).unwrap();
        let summary = scan(
            &[target],
            &ScanOptions::default(),
            &Progress::default(),
            |r| match r {
                Record::Certificate(f) => found.push(f),
                Record::Partial(p) => partials.push(p),
                Record::Error(e) => panic!("unexpected error {e:?}"),
                Record::Signature(s) => panic!("a signature in a certificate scan: {s:?}"),
            },
        );
        (found, partials, summary)
    }

    #[test]
    fn certificates_across_window_boundaries_are_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let (pem, _) = openssl_certificate(dir.path(), "straddles");
        let (_, der) = openssl_certificate(dir.path(), "in-overlap");
        let (_, der_end) = openssl_certificate(dir.path(), "at-end");
        let big = dir.path().join("big.bin");
        let mut f = std::fs::File::create(&big).unwrap();
        f.write_all(&vec![0x5a; 4096]).unwrap();
        // PEM across the first window's end; DER inside the overlap; DER at the end of the file.
        f.seek(SeekFrom::Start(WINDOW - pem.len() as u64 / 2))
            .unwrap();
        f.write_all(&pem).unwrap();
        f.seek(SeekFrom::Start(WINDOW + OVERLAP / 2)).unwrap();
        f.write_all(&der).unwrap();
        let end = 2 * WINDOW + 12345;
        f.seek(SeekFrom::Start(end - der_end.len() as u64)).unwrap();
        f.write_all(&der_end).unwrap();
        drop(f);
        // Make the file dense so it is read window by window, not by data extents.
        let filled = std::fs::read(&big).unwrap();
        std::fs::write(&big, &filled).unwrap();
        for name in ["straddles", "in-overlap", "at-end"] {
            std::fs::remove_file(dir.path().join(format!("{name}.pem"))).unwrap();
            std::fs::remove_file(dir.path().join(format!("{name}.der"))).unwrap();
        }

        let (found, partials, summary) = scan_dir(dir.path());
        assert!(partials.is_empty(), "{partials:?}");
        let mut got: Vec<(String, u64)> = found
            .iter()
            .map(|f| (f.cert.subject.clone(), f.offset))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("CN=at-end".to_string(), end - der_end.len() as u64),
                ("CN=in-overlap".to_string(), WINDOW + OVERLAP / 2),
                ("CN=straddles".to_string(), WINDOW - pem.len() as u64 / 2),
            ]
        );
        assert_eq!(summary.files, 1);
        assert_eq!(summary.bytes, end);
    }
}
