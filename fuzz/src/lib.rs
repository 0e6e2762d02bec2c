//! The bodies of rootsift's fuzz targets, one function per target.
//!
//! The one fuzz binary (`fuzz_targets/rootsift.rs`) runs the function [`TARGETS`] names after
//! `FUZZ_TARGET`, and `tests/fuzz_regressions.rs` includes this file (`#[path]`) and replays every
//! saved crash and every seed through the very same functions, so a regression fails `cargo test`
//! too.
//!
//! Besides "does not panic, does not hang, does not run out of memory", every target checks cheap
//! invariants that a parser bug can break (see [`Checker`]):
//!
//! - archive members are entered and left in balanced pairs, never deeper than the depth limit;
//! - offsets of findings in the scanned buffer lie inside it;
//! - a certificate is one complete DER object, and one reported by the DER search (parser `der` at the
//!   top level) is byte for byte what sits in the input at its offset;
//! - every partial says why;
//! - no more distinct certificates are reported than the (fresh) cache parsed;
//! - the archive reader never gives back decompression budget, nor spends more than it was given;
//! - the whole stack is deterministic: a second scan with the warm cache reports exactly the same.

use std::collections::HashSet;
use std::sync::Arc;

use rootsift::analyze::mozilla::MozillaData;
use rootsift::analyze::policy::Policy;
use rootsift::analyzer::Output;
use rootsift::cert::{CertCache, Certificate, der_object_len};
use rootsift::detect::{self, DEFAULT_PKCS12_PASSWORDS, Detector, Limits, Parser, Sink};
use rootsift::scan::{ScanOptions, walk_buffer};
use rootsift::sign::{self, SignOptions, Signed};
use rootsift::signature::Signature;

/// What a target's scan reported (so replays can also check that good inputs find something).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Certificates reported.
    pub certificates: usize,
    /// Partials reported.
    pub partials: usize,
    /// Archive members entered.
    pub members: usize,
}

/// A fuzz target's body: scans one input, checks the invariants, returns what was reported.
pub type Target = fn(&[u8]) -> Counts;

/// The targets, by name, in the order `smoke.sh` runs them.
pub const TARGETS: &[(&str, Target)] = &[
    ("pem", pem),
    ("der", der),
    ("pkcs7", pkcs7),
    ("pkcs12", pkcs12),
    ("jks", jks),
    ("archive", archive),
    ("detector", detector),
    ("policy", policy),
    ("ccadb", ccadb),
    ("authenticode", authenticode),
    ("kmod", kmod),
    ("jar", jar),
    ("cms", cms),
    ("layer", layer),
    ("manifest", manifest),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// Limits small enough that legitimate large inflations do not slow the fuzzer down.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_decompressed: 16 << 20,
        max_member_size: 4 << 20,
        max_archive_entries: 100_000,
        ..Limits::default()
    }
}

fn passwords() -> Vec<String> {
    DEFAULT_PKCS12_PASSWORDS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A sink that checks what a detector reports as it reports it, and keeps a digest of the event
/// sequence for determinism checks.
pub struct Checker<'a> {
    /// The top-level buffer.
    data: &'a [u8],
    /// Whether parser-`der` certificates at the top level must sit verbatim at their offset.
    der_offsets_exact: bool,
    max_depth: u32,
    depth: u32,
    /// Certificates reported.
    pub certificates: usize,
    /// Partials reported.
    pub partials: usize,
    /// Archive members entered.
    pub members: usize,
    distinct: HashSet<[u8; 32]>,
    /// Order-sensitive digest of every event (FNV-1a over a compact encoding).
    pub digest: u64,
}

impl<'a> Checker<'a> {
    /// A checker for a scan of `data`.
    pub fn new(data: &'a [u8], limits: &Limits, der_offsets_exact: bool) -> Self {
        Checker {
            data,
            der_offsets_exact,
            max_depth: limits.max_archive_depth,
            depth: 0,
            certificates: 0,
            partials: 0,
            members: 0,
            distinct: HashSet::new(),
            digest: 0xcbf2_9ce4_8422_2325,
        }
    }

    fn mix(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.digest = (self.digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Checks what can only be checked once the scan is over.
    pub fn finish(&self, cache: &CertCache) -> Counts {
        assert_eq!(
            self.depth, 0,
            "scan ended inside {} archive member(s): enter without leave",
            self.depth
        );
        assert!(
            self.distinct.len() <= cache.len(),
            "{} distinct certificates reported but the cache parsed only {}",
            self.distinct.len(),
            cache.len()
        );
        Counts {
            certificates: self.certificates,
            partials: self.partials,
            members: self.members,
        }
    }
}

impl Sink for Checker<'_> {
    fn certificate(&mut self, cert: Arc<Certificate>, offset: u64, parser: Parser) {
        let der = &cert.der[..];
        assert!(
            !der.is_empty() && der[0] == 0x30 && der_object_len(der) == Some(der.len()),
            "certificate reported by {parser} at offset {offset} is not exactly one DER SEQUENCE ({} bytes)",
            der.len()
        );
        if self.depth == 0 {
            assert!(
                offset < self.data.len() as u64,
                "certificate reported by {parser} at offset {offset}, past the end of a {}-byte input",
                self.data.len()
            );
            if self.der_offsets_exact && parser == Parser::Der {
                let at = offset as usize;
                assert!(
                    self.data.get(at..at + der.len()) == Some(der),
                    "DER certificate reported at offset {offset} is not what the input holds there"
                );
            }
        }
        self.certificates += 1;
        self.distinct.insert(cert.sha256);
        self.mix(&[b'c', parser as u8, self.depth as u8]);
        self.mix(&offset.to_le_bytes());
        self.mix(&cert.sha256);
    }

    fn partial(&mut self, offset: u64, parser: Parser, reason: String) {
        assert!(
            !reason.trim().is_empty(),
            "partial from {parser} at offset {offset} gives no reason"
        );
        if self.depth == 0 {
            assert!(
                offset <= self.data.len() as u64,
                "partial from {parser} at offset {offset}, past the end of a {}-byte input",
                self.data.len()
            );
        }
        self.partials += 1;
        self.mix(&[b'p', parser as u8, self.depth as u8]);
        self.mix(&offset.to_le_bytes());
        self.mix(reason.as_bytes());
    }
}

impl Output for Checker<'_> {
    fn enter(&mut self, name: &str) {
        self.depth += 1;
        assert!(
            self.depth <= self.max_depth,
            "entered member {name:?} at depth {}, beyond the archive depth limit {}",
            self.depth,
            self.max_depth
        );
        self.members += 1;
        self.mix(b"e");
        self.mix(name.as_bytes());
        self.mix(&[0]);
    }

    fn leave(&mut self) {
        assert!(self.depth > 0, "leave() without a matching enter()");
        self.depth -= 1;
        self.mix(b"l");
    }

    fn unsigned(&mut self) {}

    fn signatures(&mut self, _: [u8; 32], _: Vec<Signature>) {}
}

/// The options fuzzing scans with: the fuzzing limits and passwords.
fn fuzz_options() -> ScanOptions {
    ScanOptions {
        limits: fuzz_limits(),
        pkcs12_passwords: passwords(),
        ..ScanOptions::default()
    }
}

/// Runs one detector function over `data` with a fresh cache and the fuzzing limits, checks the
/// invariants, and returns what was reported.
fn run_one<F>(data: &[u8], der_offsets_exact: bool, f: F) -> Counts
where
    F: FnOnce(&Detector<'_>, &mut Checker<'_>),
{
    let cache = CertCache::new();
    let options = fuzz_options();
    let mut checker = Checker::new(data, &options.limits, der_offsets_exact);
    f(&options.detector(&cache), &mut checker);
    checker.finish(&cache)
}

fn check_format_result(name: &str, result: Result<(), String>) {
    if let Err(reason) = result {
        assert!(
            !reason.trim().is_empty(),
            "{name}::scan failed without saying why"
        );
    }
}

/// PEM blocks (and base64-wrapped PEM) anywhere in the input.
pub fn pem(data: &[u8]) -> Counts {
    run_one(data, true, |det, sink| detect::pem::scan(det, data, sink))
}

/// DER certificates embedded anywhere in the input.
pub fn der(data: &[u8]) -> Counts {
    run_one(data, true, |det, sink| {
        detect::der::scan(det, data, sink);
        // The embedded search reports non-overlapping certificates only; each must be a real one.
        assert_eq!(
            sink.partials, 0,
            "the embedded DER search never reports partials"
        );
    })
}

/// A PKCS#7 / CMS SignedData bundle.
pub fn pkcs7(data: &[u8]) -> Counts {
    run_one(data, true, |det, sink| {
        check_format_result("pkcs7", detect::pkcs7::scan(det, data, sink))
    })
}

/// A PKCS#12 store (tried with the default passwords).
pub fn pkcs12(data: &[u8]) -> Counts {
    run_one(data, true, |det, sink| {
        check_format_result("pkcs12", detect::pkcs12::scan(det, data, sink))
    })
}

/// A JKS or JCEKS store.
pub fn jks(data: &[u8]) -> Counts {
    run_one(data, true, |det, sink| {
        check_format_result("jks", detect::jks::scan(det, data, sink))
    })
}

/// A zip-family archive, members fed back through the whole stack.
pub fn archive(data: &[u8]) -> Counts {
    let cache = CertCache::new();
    let options = fuzz_options();
    let mut checker = Checker::new(data, &options.limits, true);
    let given = options.limits.max_decompressed;
    let budget = walk_buffer(&options, &cache, data, &mut checker);
    assert!(
        budget.decompressed_left <= given,
        "the walker grew the decompression budget from {given} to {}",
        budget.decompressed_left
    );
    checker.finish(&cache)
}

/// The whole stack (sniffing, every structured parser, PEM and embedded DER search), run twice to
/// check that a warm cache changes nothing.
pub fn detector(data: &[u8]) -> Counts {
    let cache = CertCache::new();
    let options = fuzz_options();
    let limits = &options.limits;
    let mut first = Checker::new(data, limits, true);
    let budget = walk_buffer(&options, &cache, data, &mut first);
    let _ = first.finish(&cache);
    assert!(
        budget.decompressed_left <= limits.max_decompressed,
        "the scan grew the decompression budget from {} to {}",
        limits.max_decompressed,
        budget.decompressed_left
    );
    let mut second = Checker::new(data, limits, true);
    walk_buffer(&options, &cache, data, &mut second);
    let counts = second.finish(&cache);
    assert!(
        (
            first.certificates,
            first.partials,
            first.members,
            first.digest
        ) == (
            second.certificates,
            second.partials,
            second.members,
            second.digest
        ),
        "a second scan with a warm cache reported differently: {} certificates, {} partials, {} members \
         then {} certificates, {} partials, {} members",
        first.certificates,
        first.partials,
        first.members,
        second.certificates,
        second.partials,
        second.members
    );
    counts
}

/// A `.paranoia.yaml` policy (`Policy::from_yaml`): never panics; an error names a line inside the
/// text and says why; a policy that parses evaluates, and with nothing found it passes exactly when
/// it requires nothing. Counts the entries of a policy that parses as `certificates`.
pub fn policy(data: &[u8]) -> Counts {
    let Ok(text) = std::str::from_utf8(data) else {
        return Counts::default();
    };
    match Policy::from_yaml(text) {
        Ok(policy) => {
            let verdict = policy.evaluate(&[], MozillaData::embedded(), 0, false);
            assert_eq!(
                verdict.passed(),
                policy.require().is_empty(),
                "with no certificates, a policy passes exactly when it requires nothing"
            );
            let entries = policy.allow().len() + policy.forbid().len() + policy.require().len();
            for entry in policy
                .allow()
                .iter()
                .chain(policy.forbid())
                .chain(policy.require())
            {
                assert!(entry.line() >= 1, "an entry at line 0");
                assert!(
                    !entry.describe().is_empty(),
                    "an entry without a description"
                );
            }
            Counts {
                certificates: entries,
                ..Counts::default()
            }
        }
        Err(error) => {
            // YAML breaks lines at LF, CRLF and a lone CR alike.
            let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count();
            assert!(
                (1..=lines + 1).contains(&error.line),
                "error at line {} of a {lines}-line policy: {error}",
                error.line
            );
            assert!(
                !error.message.trim().is_empty(),
                "a policy error without a message"
            );
            Counts::default()
        }
    }
}

/// CCADB's removed-CA CSV merged over the embedded Mozilla data: never panics, never loses an
/// embedded root, and an error says why. Counts 1 in `certificates` when the CSV was accepted.
pub fn ccadb(data: &[u8]) -> Counts {
    let embedded = MozillaData::embedded();
    match embedded.with_ccadb_csv(data) {
        Ok(merged) => {
            assert!(
                merged.len() >= embedded.len(),
                "merging a CSV lost roots: {} before, {} after",
                embedded.len(),
                merged.len()
            );
            Counts {
                certificates: 1,
                ..Counts::default()
            }
        }
        Err(error) => {
            assert!(
                !error.to_string().trim().is_empty(),
                "a CSV error without a message"
            );
            Counts::default()
        }
    }
}

/// Runs a signature parser with verification on and checks what every parser promises: a
/// signature that failed says why, indices are distinct, and the same input gives the same answer
/// twice. Counts the signatures as `certificates`.
fn signatures(data: &[u8], scan: fn(&[u8], &CertCache, &SignOptions) -> Signed) -> Counts {
    let cache = CertCache::new();
    let options = SignOptions::default();
    let first = scan(data, &cache, &options);
    assert_eq!(
        first,
        scan(data, &cache, &options),
        "a second parse differs"
    );
    let Signed::Signatures(found) = first else {
        return Counts::default();
    };
    let mut indices = HashSet::new();
    for s in &found {
        assert!(
            indices.insert(s.index),
            "signature index {} given twice",
            s.index
        );
        if s.verified == Some(false) {
            assert!(
                s.verify_error
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty()),
                "signature {} failed without saying why",
                s.index
            );
        }
    }
    Counts {
        certificates: found.len(),
        ..Counts::default()
    }
}

/// Authenticode signatures of a PE/EFI image.
pub fn authenticode(data: &[u8]) -> Counts {
    signatures(data, sign::authenticode::scan)
}

/// A kernel module's appended signature, plain or compressed (xz, zstd, gzip): through the
/// dispatch, which peeks into compressed input and decompresses ELF relocatable objects.
pub fn kmod(data: &[u8]) -> Counts {
    signatures(data, sign::scan)
}

/// JAR signers (zip, manifest, signature files, blocks).
pub fn jar(data: &[u8]) -> Counts {
    signatures(data, sign::jar::scan)
}

/// A CMS/PKCS#7 SignedData on its own: parsing never panics, and what parses names each signer.
pub fn cms(data: &[u8]) -> Counts {
    let Ok(signed) = sign::cms::parse_content_info(data) else {
        return Counts::default();
    };
    let cache = CertCache::new();
    for si in &signed.signer_infos {
        let _ = sign::cms::signer(&si.sid, &signed.certificates, &cache);
        if let Some(attrs) = &si.unsigned_attrs {
            let _ = sign::cms::first_timestamp(attrs, &signed, &cache);
        }
    }
    Counts {
        certificates: signed.signer_infos.len(),
        ..Counts::default()
    }
}

/// `layer`: an image layer's tar through the layer index and the squash. Checks: every indexed path
/// is normalised (relative, no `.`, `..` or empty components); every node of the squashed tree has
/// a directory as its parent; no whiteout file survives the squash; every readable file's bytes
/// lie inside the input; squashing is deterministic.
pub fn layer(data: &[u8]) -> Counts {
    use rootsift::source::layers::{Kind, LayerIndex, Limits, squash};
    let limits = Limits {
        max_entries: 10_000,
        ..Limits::default()
    };
    let Ok(index) = LayerIndex::build(0, data, &limits) else {
        return Counts::default();
    };
    for entry in &index.entries {
        assert!(
            !entry.path.starts_with(b"/")
                && entry
                    .path
                    .split(|&b| b == b'/')
                    .all(|c| !c.is_empty() && c != b"." && c != b".."),
            "path not normalised: {:?}",
            String::from_utf8_lossy(&entry.path)
        );
    }
    let tree = squash(std::slice::from_ref(&index));
    let mut files = 0;
    for (path, node) in tree.nodes() {
        if let Some(slash) = path.iter().rposition(|&b| b == b'/') {
            let parent = tree
                .lookup(&path[..slash])
                .expect("a node without its parent");
            assert_eq!(parent.kind, Kind::Dir, "a node under a non-directory");
        }
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
        assert!(
            !name.starts_with(b".wh."),
            "a whiteout survived the squash: {:?}",
            String::from_utf8_lossy(path)
        );
        if node.kind == Kind::File {
            files += 1;
            assert!(
                node.offset
                    .checked_add(node.size)
                    .is_some_and(|end| end <= data.len() as u64),
                "file data outside the layer: offset {} size {}",
                node.offset,
                node.size
            );
        }
    }
    assert_eq!(squash(&[index]), tree, "squashing is not deterministic");
    Counts {
        certificates: files,
        ..Counts::default()
    }
}

/// `manifest`: image metadata parsers (manifest or index, config, docker-archive manifest.json,
/// OCI layout index.json) and image references. Checks: whatever parses yields only valid
/// digests; platform choice returns an entry of the index or an error naming what it has; a
/// reference that parses prints back to one that parses to the same thing.
pub fn manifest(data: &[u8]) -> Counts {
    use rootsift::source::image::manifest::{
        Digest, Document, Platform, choose_layout_entry, choose_platform, parse_archive_manifest,
        parse_config, parse_document,
    };
    use rootsift::source::image::reference::parse_reference;
    let mut parsed = 0;
    let valid = |d: &Digest| {
        assert!(
            Digest::parse(d.as_str()).is_ok(),
            "an invalid digest got through: {d}"
        );
    };
    if let Ok(document) = parse_document(data, None) {
        parsed += 1;
        match document {
            Document::Manifest(m) => {
                valid(&m.config.digest);
                m.layers.iter().for_each(|l| valid(&l.digest));
            }
            Document::Index(entries) => {
                entries.iter().for_each(|e| valid(&e.digest));
                let host = Platform::host();
                match choose_platform(&entries, &host) {
                    Ok(chosen) => assert!(entries.contains(chosen)),
                    Err(e) => assert!(e.to_string().contains(&host.to_string())),
                }
            }
        }
    }
    if let Ok(config) = parse_config(data) {
        parsed += 1;
        config.diff_ids.iter().for_each(valid);
    }
    if let Ok(images) = parse_archive_manifest(data) {
        parsed += 1;
        let _ = rootsift::source::image::manifest::choose_archive_image(&images, Some("a:b"));
    }
    if let Ok((entry, all)) = choose_layout_entry(data, None) {
        parsed += 1;
        assert!(all.contains(&entry));
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(reference) = parse_reference(text.trim())
    {
        let again = parse_reference(&reference.to_string())
            .unwrap_or_else(|e| panic!("{reference} does not parse back: {e}"));
        assert_eq!(
            again, reference,
            "a reference changed when printed and parsed"
        );
        parsed += 1;
    }
    Counts {
        certificates: parsed,
        ..Counts::default()
    }
}
