//! The scan driver: targets → entries → container walker → analyzers → records, in parallel,
//! streamed.
//!
//! Each target lists its entries through the [`Source`] interface, on the source's worker threads;
//! each worker reads an entry and hands its bytes to the container walker with the registered
//! analyzers, collecting that file's records; one batch per file travels over a bounded channel to the calling thread, which hands each
//! record to the caller's callback in arrival order. Memory stays bounded whatever the tree's size:
//! records are not kept here, and certificates are shared through the [`CertCache`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Sender, bounded};

use crate::analyzer::{Analyzer, Buffer, Output, Piece};
use crate::cert::{CertCache, Certificate};
use crate::container::Walker;
use crate::detect::{DEFAULT_PKCS12_PASSWORDS, Detector, Limits, Parser, Sink};
use crate::record::{FileError, LayerOf, Partial, Record, SignatureFinding};
use crate::sign::{SignOptions, Signatures};
use crate::signature::Signature;
use crate::source::Target;
use crate::source::entry::{Entry, Event, Source, SourceOptions, Visitor};
use crate::source::read::{FileReader, ReadError};
use crate::zip::Budget;

// Transitional, until analyze/policy and cli/validate import the model directly.
pub use crate::record::{Finding, Summary};

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

/// The analyzers these options ask for, in the order each buffer is handed to them: one line
/// each.
pub fn analyzers<'a>(
    options: &'a ScanOptions,
    cache: &'a CertCache,
) -> Vec<Box<dyn Analyzer + 'a>> {
    let certificates = options.certificates.then(|| options.detector(cache));
    let signatures = options
        .signatures
        .map(|options| Signatures { cache, options });
    let mut list: Vec<Box<dyn Analyzer + 'a>> = Vec::new();
    list.extend(certificates.map(|a| Box::new(a) as _));
    list.extend(signatures.map(|a| Box::new(a) as _));
    list
}

/// Walks one buffer as a scan walks a whole file: the analyzers of `options`, archives opened;
/// returns what is left of the decompression budget.
pub fn walk_buffer(
    options: &ScanOptions,
    cache: &CertCache,
    data: &[u8],
    out: &mut dyn Output,
) -> Budget {
    let analyzers = analyzers(options, cache);
    let walker = Walker {
        analyzers: &analyzers,
        limits: &options.limits,
    };
    let whole = Buffer {
        data,
        piece: Piece::Whole,
    };
    walker.walk(whole, out)
}

impl ScanOptions {
    /// The certificate detector these options describe, memoising into `cache`.
    pub fn detector<'a>(&'a self, cache: &'a CertCache) -> Detector<'a> {
        Detector {
            cache,
            limits: &self.limits,
            passwords: &self.pkcs12_passwords,
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
    let analyzers = analyzers(options, &cache);
    let walker = Walker {
        analyzers: &analyzers,
        limits: &options.limits,
    };
    let mut summary = Summary::default();
    let skipped = AtomicU64::new(0);
    let (tx, rx) = bounded::<Vec<Record>>(1024);
    std::thread::scope(|scope| {
        let skipped = &skipped;
        let walker = &walker;
        scope.spawn(move || {
            for target in targets {
                scan_target(target, options, walker, progress, skipped, &tx);
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

/// Every certificate in `data` (a file of trust roots, say), read as a scan reads a file:
/// every format, archives opened, default limits, no PKCS#12 password.
pub fn certificates_in(data: &[u8]) -> Vec<Arc<Certificate>> {
    struct Collect(Vec<Arc<Certificate>>);
    impl Sink for Collect {
        fn certificate(&mut self, cert: Arc<Certificate>, _: u64, _: Parser) {
            self.0.push(cert);
        }
        fn partial(&mut self, _: u64, _: Parser, _: String) {}
    }
    impl Output for Collect {
        fn enter(&mut self, _: &str) {}
        fn leave(&mut self) {}
        fn unsigned(&mut self) {}
        fn signatures(&mut self, _: [u8; 32], _: Vec<Signature>) {}
    }
    let options = ScanOptions {
        pkcs12_passwords: Vec::new(),
        ..ScanOptions::default()
    };
    let mut found = Collect(Vec::new());
    walk_buffer(&options, &CertCache::new(), data, &mut found);
    found.0
}

/// Lists one target's entries and scans each on the thread that met it.
fn scan_target(
    target: &Target,
    options: &ScanOptions,
    walker: &Walker<'_>,
    progress: &Progress,
    skipped: &AtomicU64,
    tx: &Sender<Vec<Record>>,
) {
    let name: Arc<str> = Arc::from(target.name());
    let source_options = SourceOptions {
        one_file_system: options.one_file_system,
        threads: options.threads,
        all_layers: options.all_layers,
    };
    let visitors = || -> Visitor<'_> {
        let mut worker = Worker {
            walker,
            reader: FileReader::new(options.no_mmap),
            target: Arc::clone(&name),
            progress,
            skipped,
            tx: tx.clone(),
        };
        Box::new(move |event| worker.visit(event))
    };
    target.entries(&source_options, &visitors);
}

/// One worker thread's state.
struct Worker<'a> {
    walker: &'a Walker<'a>,
    reader: FileReader,
    target: Arc<str>,
    progress: &'a Progress,
    skipped: &'a AtomicU64,
    tx: Sender<Vec<Record>>,
}

impl Worker<'_> {
    fn visit(&mut self, event: Event<'_>) {
        match event {
            Event::File(entry) => self.scan(entry),
            Event::Skipped => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
            }
            Event::Error { location, error } => self.send(vec![self.error(location, error)]),
            Event::Failed(errors) => {
                self.progress.failed_targets.fetch_add(1, Ordering::Relaxed);
                let records = errors
                    .into_iter()
                    .map(|error| self.error("/".into(), error))
                    .collect();
                self.send(records);
            }
        }
    }

    fn error(&self, location: String, error: String) -> Record {
        Record::Error(FileError {
            location,
            target: Arc::clone(&self.target),
            error,
        })
    }

    fn scan(&mut self, entry: Entry<'_>) {
        let location = entry.location;
        let mut sink = FileSink {
            location,
            target: &self.target,
            layer: entry.layer,
            members: Vec::new(),
            base_offset: 0,
            owned_end: u64::MAX,
            records: Vec::new(),
            signed: 0,
            unsigned: 0,
        };
        let walker = self.walker;
        let mut members_skipped = 0;
        let mut panicked = None;
        let visit = |chunk: crate::source::read::Chunk<'_>| {
            sink.base_offset = chunk.offset;
            sink.owned_end = chunk.offset + chunk.owned;
            let piece = if chunk.offset != 0 {
                Piece::Continuation
            } else if chunk.owned == chunk.data.len() as u64 {
                Piece::Whole
            } else {
                Piece::Start
            };
            let buffer = Buffer {
                data: chunk.data,
                piece,
            };
            // A bug in a parser must cost one file, not the scan: contain it and report it.
            let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                walker.walk(buffer, &mut sink).members_skipped
            }));
            match scanned {
                Ok(skipped) => members_skipped += skipped,
                Err(payload) => panicked = Some(panic_message(&payload)),
            }
        };
        let result = self
            .reader
            .read_bytes(entry.bytes, |head| walker.needs_whole(head), visit);
        if let Some(message) = panicked {
            sink.records.push(self.error(
                location.to_string(),
                format!("internal error while scanning this file (please report): {message}"),
            ));
        }
        let progress = self.progress;
        progress
            .members_skipped
            .fetch_add(members_skipped, Ordering::Relaxed);
        progress.signed.fetch_add(sink.signed, Ordering::Relaxed);
        progress
            .unsigned
            .fetch_add(sink.unsigned, Ordering::Relaxed);
        match result {
            Ok(bytes) => {
                progress.files.fetch_add(1, Ordering::Relaxed);
                progress.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Err(ReadError::NotRegular) => {}
            Err(e) => sink
                .records
                .push(self.error(location.to_string(), e.to_string())),
        }
        let found = sink
            .records
            .iter()
            .filter(|r| matches!(r, Record::Certificate(_)))
            .count();
        progress
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

/// Turns what the analyzers report for one file into records with full locations.
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
}

impl Output for FileSink<'_> {
    fn enter(&mut self, name: &str) {
        self.members.push(name.to_string());
    }

    fn leave(&mut self) {
        self.members.pop();
    }

    fn unsigned(&mut self) {
        self.unsigned += 1;
    }

    fn signatures(&mut self, digest: [u8; 32], signatures: Vec<Signature>) {
        self.signed += 1;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::openssl_certificate;
    use crate::source::read::{OVERLAP, WINDOW};
    use std::io::{Seek, SeekFrom, Write};
    use std::path::Path;

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
