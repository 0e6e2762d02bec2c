//! The image parsers alone: a layer's tar index (`LayerIndex::build`), the squash, and manifest
//! parsing, over the docker-archive of the debootstrap rootfs that `tests/fixtures/images.sh`
//! builds (`target/fixtures/images/rootfs.docker.tar`, one uncompressed layer; override with
//! `ROOTSIFT_BENCH_IMAGE=FILE`). A missing fixture is a panic, never an empty benchmark.
//!
//! Quick run: `cargo bench --bench images -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rootsift::source::image::manifest::{parse_archive_manifest, parse_document};
use rootsift::source::image::store::Store;
use rootsift::source::layers::{LayerIndex, Limits, squash};

fn image() -> PathBuf {
    std::env::var_os("ROOTSIFT_BENCH_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/fixtures/images/rootfs.docker.tar")
        })
}

fn images(c: &mut Criterion) {
    let path = image();
    let store = Store::open_tar(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (build it with tests/fixtures/images.sh, as root)",
            path.display()
        )
    });
    let manifest = store
        .get("manifest.json")
        .unwrap()
        .expect("manifest.json")
        .read_small(1 << 20)
        .unwrap();
    let archive = parse_archive_manifest(&manifest).expect("a docker-archive manifest");
    let layer = store
        .get(&archive[0].layers[0])
        .unwrap()
        .expect("the layer");
    let data = layer.read_small(1 << 30).expect("the layer in memory");
    let limits = Limits::default();
    let index = LayerIndex::build(0, data.as_slice(), &limits).expect("a valid layer");
    assert!(
        index.entries.len() > 1000,
        "the rootfs layer has {} entries",
        index.entries.len()
    );
    eprintln!(
        "{}: layer of {} bytes, {} entries",
        path.display(),
        data.len(),
        index.entries.len()
    );

    let mut group = c.benchmark_group("layer");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("index (tar headers, in memory)", |b| {
        b.iter(|| LayerIndex::build(0, black_box(data.as_slice()), &limits).unwrap())
    });
    group.throughput(Throughput::Elements(index.entries.len() as u64));
    group.bench_function("squash", |b| {
        b.iter(|| squash(black_box(std::slice::from_ref(&index))))
    });
    group.finish();

    let oci_manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
        "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{0}","size":1}},
        "layers":[{1}]}}"#,
        "0".repeat(64),
        vec![
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{}","size":2}}"#,
                "1".repeat(64)
            );
            20
        ]
        .join(",")
    );
    let mut group = c.benchmark_group("manifest");
    group.throughput(Throughput::Bytes(oci_manifest.len() as u64));
    group.bench_function("20-layer OCI manifest", |b| {
        b.iter(|| parse_document(black_box(oci_manifest.as_bytes()), None).unwrap())
    });
    group.finish();
}

criterion_group!(benches, images);
criterion_main!(benches);
