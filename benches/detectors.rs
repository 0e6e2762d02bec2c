//! Throughput of each detector, in bytes per second, on realistic inputs:
//!
//! - `ca-bundle`: Debian's CA bundle (`target/fixtures/tree/etc/ssl/certs/ca-certificates.crt`, else
//!   the host's `/etc/ssl/certs/ca-certificates.crt`): ~150 PEM certificates;
//! - `elf`: a large real shared library (`libcrypto.so.3`, else the largest of a few that exist): the
//!   worst case for the embedded-DER search (no certificates, many `30 82` candidates);
//! - `jar` / `war`: a real JAR from the JDK or `/usr/share/java` (the largest found) and the fixture WAR,
//!   whichever exist (at least one must).
//!
//! For each input: the whole stack (`walk`: the container walker with the certificate detector, as a
//! scan runs them on a file), `pem::scan`, `der::scan`, and on the archives the whole stack with
//! `--open-code-members`. Unless the name says `warm`, every iteration starts with an empty certificate cache,
//! so each certificate is parsed (the cost of a first encounter); `warm` keeps the cache across
//! iterations, as a scan does for a certificate seen before.
//!
//! Set `ROOTSIFT_BENCH_FIXTURES=DIR` to use another fixture tree. A missing input is a panic, never an
//! empty benchmark.
//!
//! Quick run: `cargo bench --bench detectors -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rootsift::cert::CertCache;
use rootsift::detect::{self, CountingSink};
use rootsift::scan::{ScanOptions, walk_buffer};

fn fixtures() -> PathBuf {
    std::env::var_os("ROOTSIFT_BENCH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/tree"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("bench input {}: {e}", path.display()))
}

fn ca_bundle() -> (String, Vec<u8>) {
    let candidates = [
        fixtures().join("etc/ssl/certs/ca-certificates.crt"),
        PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
    ];
    let path = candidates.iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "no CA bundle to benchmark: none of {candidates:?} exists \
             (run tests/fixtures/make.sh, or install Debian's ca-certificates)"
        )
    });
    (path.display().to_string(), read(path))
}

fn elf() -> (String, Vec<u8>) {
    const CANDIDATES: &[&str] = &[
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/usr/lib/x86_64-linux-gnu/libLLVM.so.1",
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/bin/cargo",
        "/usr/bin/rg",
    ];
    let path = if Path::new(CANDIDATES[0]).is_file() {
        PathBuf::from(CANDIDATES[0])
    } else {
        CANDIDATES
            .iter()
            .map(PathBuf::from)
            .filter_map(|p| Some((std::fs::metadata(&p).ok().filter(|m| m.is_file())?.len(), p)))
            .max()
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no ELF binary to benchmark: none of {CANDIDATES:?} exists"))
    };
    let data = read(&path);
    assert!(
        data.starts_with(b"\x7fELF"),
        "{} is not an ELF file",
        path.display()
    );
    (path.display().to_string(), data)
}

fn is_zip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"PK\x03\x04"
}

/// Every regular file under `dir` (symlinks not followed) whose name ends with one of `extensions`.
fn files_with_extension(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            files_with_extension(&path, extensions, out);
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
        {
            out.push(path);
        }
    }
}

fn largest(paths: Vec<PathBuf>) -> Option<PathBuf> {
    paths
        .into_iter()
        .filter(|p| is_zip(p))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.len(), p)))
        .max()
        .map(|(_, p)| p)
}

/// The fixture WAR and the largest real JAR on the system, whichever exist.
fn archives() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut wars = Vec::new();
    files_with_extension(&fixtures(), &["war"], &mut wars);
    if let Some(war) = largest(wars) {
        found.push(("war", war.display().to_string(), read(&war)));
    }
    let mut jars = Vec::new();
    for dir in ["/usr/lib/jvm", "/usr/share/java"] {
        files_with_extension(Path::new(dir), &["jar"], &mut jars);
    }
    if let Some(jar) = largest(jars) {
        found.push(("jar", jar.display().to_string(), read(&jar)));
    }
    assert!(
        !found.is_empty(),
        "no archive to benchmark: no .war under {} and no .jar under /usr/lib/jvm or /usr/share/java",
        fixtures().display()
    );
    found
}

/// The options of a default scan, `--open-code-members` optionally.
fn options(open_code_members: bool) -> ScanOptions {
    let mut options = ScanOptions::default();
    options.limits.open_code_members = open_code_members;
    options
}

/// The whole stack: the container walker with the certificate detector, as a scan runs it on a
/// file.
fn walk(options: &ScanOptions, cache: &CertCache, data: &[u8], sink: &mut CountingSink) {
    walk_buffer(options, cache, data, sink);
}

/// Benchmarks every detector on one input, as group `name`.
fn bench_input(c: &mut Criterion, name: &str, path: &str, data: &[u8], archive: bool) {
    let config = options(false);
    // What each detector finds, once, so the report shows that the benchmark measures real work.
    let cache = CertCache::new();
    let mut found = CountingSink::default();
    walk(&config, &cache, data, &mut found);
    eprintln!(
        "{name}: {path}, {} bytes: {} certificates, {} partials, {} archive members",
        data.len(),
        found.certificates,
        found.partials,
        found.members
    );

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("walk", |b| {
        b.iter_batched_ref(
            CertCache::new,
            |cache| {
                let mut sink = CountingSink::default();
                walk(&config, cache, black_box(data), &mut sink);
                sink
            },
            BatchSize::LargeInput,
        )
    });
    let warm = CertCache::new();
    group.bench_function("walk warm", |b| {
        b.iter(|| {
            let mut sink = CountingSink::default();
            walk(&config, &warm, black_box(data), &mut sink);
            sink
        })
    });
    group.bench_function("pem::scan", |b| {
        b.iter_batched_ref(
            CertCache::new,
            |cache| {
                let mut sink = CountingSink::default();
                detect::pem::scan(&config.detector(cache), black_box(data), &mut sink);
                sink
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("der::scan", |b| {
        b.iter_batched_ref(
            CertCache::new,
            |cache| {
                let mut sink = CountingSink::default();
                detect::der::scan(&config.detector(cache), black_box(data), &mut sink);
                sink
            },
            BatchSize::LargeInput,
        )
    });
    if archive {
        // What `--open-code-members` costs: every `.class` (most of a real JAR's bytes) inflated
        // and searched too.
        let open_code = options(true);
        group.bench_function("walk --open-code-members", |b| {
            b.iter_batched_ref(
                CertCache::new,
                |cache| {
                    let mut sink = CountingSink::default();
                    walk(&open_code, cache, black_box(data), &mut sink);
                    sink
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn detectors(c: &mut Criterion) {
    let (path, data) = ca_bundle();
    bench_input(c, "ca-bundle", &path, &data, false);
    let (path, data) = elf();
    bench_input(c, "elf", &path, &data, false);
    for (name, path, data) in archives() {
        bench_input(c, name, &path, &data, true);
    }
}

criterion_group!(benches, detectors);
criterion_main!(benches);
