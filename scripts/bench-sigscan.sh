#!/usr/bin/env bash
# Whole-process comparison of `rootsift sigscan fs` with YARA's pe module (signature fields of every
# PE, `yara -r -D`) and with `osslsigncode verify` run once per PE file, on the same tree.
#
# Usage: scripts/bench-sigscan.sh [DIR] [RUNS]
#
#   DIR     tree to scan (default target/fixtures/signed/tree, made by tests/fixtures/signed.sh)
#   RUNS    timed runs of each command (default 5)
#
# Builds the release binary, warms the page cache with one run of each, then alternates the three
# commands RUNS times (stdout to a file), and prints the median wall time of each, its ratio to
# rootsift, and how many signatures each reported. They do not do the same work: YARA parses PE
# signatures without verifying them and opens no archives; osslsigncode verifies one PE per process;
# rootsift verifies every Authenticode, JAR and kernel-module signature, inside archives too.
# Installs yara and osslsigncode with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/fixtures/signed/tree}
runs=${2:-5}
[[ -d $dir ]] || { echo "bench-sigscan: $dir is not a directory" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-sigscan: RUNS must be a positive number" >&2; exit 2; }
need=()
command -v yara > /dev/null || need+=(yara)
command -v osslsigncode > /dev/null || need+=(osslsigncode)
if ((${#need[@]})); then
    apt-get install -y "${need[@]}" > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y "${need[@]}" > /dev/null; }
fi
cargo build --release --quiet
rootsift=$PWD/target/release/rootsift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'import "pe"\nrule signed_pe { condition: pe.number_of_signatures > 0 }\n' > "$tmp/pe.yar"
# The PE files (by their MZ header), for the one-process-per-file tool.
find "$dir" -type f -print0 | while IFS= read -r -d '' f; do
    [[ $(head -c 2 -- "$f") == MZ ]] && printf '%s\0' "$f"
done > "$tmp/pe.list"

run() { # NAME: runs the tool, output to $tmp/NAME.out, appends milliseconds to $tmp/NAME.ms
    local start end
    start=$(date +%s%N)
    case $1 in
        rootsift) "$rootsift" sigscan fs -o json "$dir" > "$tmp/rootsift.out" ;;
        yara) yara -r -D "$tmp/pe.yar" "$dir" > "$tmp/yara.out" 2> /dev/null || true ;;
        osslsigncode) xargs -0 -r -n 1 sh -c 'osslsigncode verify -in "$0" 2>&1; true' < "$tmp/pe.list" > "$tmp/osslsigncode.out" ;;
    esac
    end=$(date +%s%N)
    echo $(((end - start) / 1000000)) >> "$tmp/$1.ms"
}
tools=(rootsift yara osslsigncode)
for t in "${tools[@]}"; do run "$t"; done
rm -f "$tmp"/*.ms
for ((i = 1; i <= runs; i++)); do
    for t in "${tools[@]}"; do run "$t"; done
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(median "$tmp/rootsift.ms")
pe_files=$(tr -cd '\0' < "$tmp/pe.list" | wc -c)
found_rootsift=$(jq '.filesystem.signatures | length' "$tmp/rootsift.out")
found_authenticode=$(jq '[.filesystem.signatures[] | select(.format == "authenticode" and (.path | contains("!/") | not))] | length' "$tmp/rootsift.out")
found_yara=$(grep -c '^[[:space:]]*subject = ' "$tmp/yara.out" || true)
found_ossl=$(awk -F': ' '/^Number of verified signatures:/ { n += $2 } END { print n + 0 }' "$tmp/osslsigncode.out")
echo "bench-sigscan: $dir, $runs runs, $pe_files PE files"
printf '%-14s median %7s ms  ratio %5s  %s\n' rootsift "$base" 1.00 \
    "$found_rootsift signatures ($found_authenticode Authenticode outside archives), verified"
for t in yara osslsigncode; do
    ms=$(median "$tmp/$t.ms")
    case $t in
        yara) what="$found_yara signer subjects (pe module; not verified, archives not opened)" ;;
        osslsigncode) what="$found_ossl signatures checked (one process per PE file; digests and signatures, chain trust fails without a CA file)" ;;
    esac
    printf '%-14s median %7s ms  ratio %5s  %s\n' "$t" "$ms" "$(awk "BEGIN { printf(\"%.2f\", $ms / ($base > 0 ? $base : 1)) }")" "$what"
done
