#!/usr/bin/env bash
# Whole-process comparison: scanning an image (docker-archive of the debootstrap rootfs) against
# scanning the same tree unpacked, side by side, alternating; medians and the ratio.
#
# Usage: scripts/bench-image.sh [RUNS]       RUNS timed runs of each command (default 7)
#
# Needs the fixtures: tests/fixtures/rootfs.sh (the tree) and tests/fixtures/images.sh (its
# docker-archive, target/fixtures/images/rootfs.docker.tar, one uncompressed layer). Also times
# the same image as an OCI layout with gzip layers (skopeo copy), whose layers are decompressed
# into the cache on the first (untimed) run and read from it after: the warm-cache case.
# Each command runs once untimed first (page cache, layer cache), then RUNS rounds alternate:
#   rootsift scan -o json ROOTFS
#   rootsift scan -o json docker-archive:ROOTFS.docker.tar       (layer verified before: its stamp)
#   rootsift scan -o json docker-archive:ROOTFS.docker.tar       (a new cache each run: the layer
#                                                                 is hashed in place every time)
#   rootsift scan -o json oci:LAYOUT:bench                       (warm layer cache)
#   rootsift scan -o json MOUNTPOINT        (rootsift mount --daemon oci:LAYOUT:bench MOUNTPOINT)
# and the script checks that all four report the same (location, fingerprint) pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
fixtures=target/fixtures
tree=$fixtures/rootfs
archive=$fixtures/images/rootfs.docker.tar
[[ -d $tree && -f $archive ]] || {
    echo "bench-image.sh: build the fixtures first: bash tests/fixtures/rootfs.sh && bash tests/fixtures/images.sh" >&2
    exit 1
}
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
cargo build --release -q
bin=target/release/rootsift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout=$work/oci
skopeo copy -q "docker-archive:$archive" "oci:$layout:bench" >/dev/null
cache=$work/cache
mnt=$work/mnt
mkdir -p "$mnt"
$bin mount --daemon --cache-dir "$cache" "oci:$layout:bench" "$mnt" 2>/dev/null
trap 'fusermount3 -u "$mnt" 2>/dev/null; rm -rf "$work"' EXIT

declare -A cmd=(
    [dir]="$bin scan -o json $tree"
    [docker-archive]="$bin scan -o json --cache-dir $work/cache-in-place docker-archive:$archive"
    [docker-archive-first]="$bin scan -o json --cache-dir $work/cache-first-\$RANDOM docker-archive:$archive"
    [oci-gzip-warm]="$bin scan -o json --cache-dir $cache oci:$layout:bench"
    [mount]="$bin scan -o json $mnt"
)
order=(dir docker-archive docker-archive-first oci-gzip-warm mount)
for name in "${order[@]}"; do
    eval "${cmd[$name]}" | jq -r '.certificates[] | "\(.fileLocation)\t\(.fingerprintSHA256)"' | sort >"$work/$name.tsv"
done
for name in docker-archive docker-archive-first oci-gzip-warm mount; do
    if ! cmp -s "$work/dir.tsv" "$work/$name.tsv"; then
        echo "bench-image.sh: $name reports other certificates than the unpacked tree:" >&2
        diff "$work/dir.tsv" "$work/$name.tsv" | head >&2
        exit 1
    fi
done
echo "same findings: $(wc -l <"$work/dir.tsv") certificates in each"

declare -A times
for ((i = 1; i <= runs; i++)); do
    for name in "${order[@]}"; do
        start=$(date +%s%N)
        eval "${cmd[$name]}" >/dev/null
        ms=$((($(date +%s%N) - start) / 1000000))
        times[$name]+="$ms "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[dir]}" | median)
for name in "${order[@]}"; do
    m=$(echo "${times[$name]}" | median)
    printf '%-20s runs (ms): %-40s median %5d ms  ratio %.2f\n' "$name" "${times[$name]}" "$m" \
        "$(echo "$m / $base" | bc -l)"
done
