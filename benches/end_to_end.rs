//! A whole `scan()` (walk, read, every detector, records streamed to a callback) over the fixture tree
//! that `tests/fixtures/make.sh` builds under `target/fixtures/tree` (`ROOTSIFT_BENCH_FIXTURES=DIR`
//! overrides it). Throughput is the bytes the scan read. A missing tree is a panic, never an empty
//! benchmark.
//!
//! Quick run: `cargo bench --bench end_to_end -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rootsift::record::{Record, Summary};
use rootsift::scan::{Progress, ScanOptions, scan};
use rootsift::source::Target;

fn tree() -> PathBuf {
    std::env::var_os("ROOTSIFT_BENCH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fixtures/tree"))
}

fn run(target: &Target, options: &ScanOptions) -> (Summary, usize) {
    let progress = Progress::default();
    let mut records = 0usize;
    let summary = scan(
        std::slice::from_ref(target),
        options,
        &progress,
        |record: Record| {
            black_box(&record);
            records += 1;
        },
    );
    (summary, records)
}

fn end_to_end(c: &mut Criterion) {
    let root = tree();
    assert!(
        root.is_dir(),
        "no fixture tree at {}: run tests/fixtures/make.sh first (or set ROOTSIFT_BENCH_FIXTURES=DIR)",
        root.display()
    );
    let target = Target::resolve(&root.to_string_lossy())
        .unwrap_or_else(|e| panic!("cannot scan {}: {e}", root.display()));
    let options = ScanOptions::default();
    let (summary, records) = run(&target, &options);
    assert!(
        summary.files > 0 && summary.bytes > 0,
        "the fixture tree {} holds no files",
        root.display()
    );
    assert!(
        summary.certificates > 0,
        "no certificate found in the fixture tree {}",
        root.display()
    );
    eprintln!(
        "scan {}: {} files, {} bytes, {} certificates ({} distinct), {} partials, {} errors, {} records",
        root.display(),
        summary.files,
        summary.bytes,
        summary.certificates,
        summary.unique_certificates,
        summary.partials,
        summary.errors,
        records
    );

    let mut group = c.benchmark_group("end-to-end");
    group.throughput(Throughput::Bytes(summary.bytes));
    group.sample_size(20);
    group.bench_function("scan fixtures", |b| b.iter(|| run(&target, &options)));
    let one_thread = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    group.bench_function("scan fixtures -j1", |b| {
        b.iter(|| run(&target, &one_thread))
    });
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
