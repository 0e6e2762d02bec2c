#!/usr/bin/env bash
# Fuzzes every target for a short while on the stable toolchain; fails if any target crashes.
#
# Usage: fuzz/smoke.sh [--asan] [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  default 20
#   TARGET...           default: every target (pem der pkcs7 pkcs12 jks archive detector policy ccadb authenticode kmod jar cms layer manifest)
#   --asan              build with AddressSanitizer (RUSTC_BOOTSTRAP=1 on stable; a separate
#                       target dir, so the first run rebuilds everything). Without it, the targets are
#                       built with --sanitizer none: Rust code is memory-safe unless `unsafe` is wrong,
#                       and libFuzzer runs several times faster.
#
# Builds are cargo-fuzz's default: optimised (release) WITH debug assertions and overflow checks, so
# an integer overflow in a parser is a crash. (`-O` would turn those checks off.)
#
# Installs cargo-fuzz if missing, (re)seeds fuzz/corpus/ with fuzz/seed.sh (needs the fixtures from
# tests/fixtures/make.sh; FIXTURES=DIR overrides), builds every target once, then runs each with
#   -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10
# Logs go to fuzz/target/smoke/<target>.log. A crash, timeout or out-of-memory input is written to
# fuzz/artifacts/<target>/; the script prints its path, the panic message and how to reproduce and
# minimise it, and exits 1. Save minimised crashes under fuzz/regressions/<target>/ so that
# `cargo test --test fuzz_regressions` replays them.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.." || exit 2

sanitizer=none
target_dir=()
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
if [[ ${1:-} == --asan ]]; then
    shift
    sanitizer=address
    export RUSTC_BOOTSTRAP=1
    target_dir=(--target-dir fuzz/target/asan)
fi
seconds=20
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
all_targets=(pem der pkcs7 pkcs12 jks archive detector policy ccadb authenticode kmod jar cms layer manifest)
targets=("$@")
(( ${#targets[@]} )) || targets=("${all_targets[@]}")

if ! cargo fuzz --version > /dev/null 2>&1; then
    echo "smoke.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || { echo "smoke.sh: cannot install cargo-fuzz" >&2; exit 2; }
fi

fuzz/seed.sh || { echo "smoke.sh: seeding failed" >&2; exit 2; }

echo "smoke.sh: building the fuzz targets, sanitizer=$sanitizer"
if ! cargo fuzz build --sanitizer "$sanitizer" "${target_dir[@]}"; then
    echo "smoke.sh: build failed" >&2
    exit 2
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$triple/release
[[ $sanitizer == address ]] && bin_dir=fuzz/target/asan/$triple/release
for t in "${targets[@]}"; do
    [[ -x $bin_dir/$t ]] || { echo "smoke.sh: no fuzz target binary $bin_dir/$t" >&2; exit 2; }
done
logs=fuzz/target/smoke
mkdir -p "$logs"
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$t"
    before=$(ls -1 "fuzz/artifacts/$t" | sort)
    log="$logs/$t.log"
    echo "smoke.sh: fuzzing $t for ${seconds}s (log: $log)"
    # The binaries built above, run directly (what `cargo fuzz run` does after building): sources
    # edited while this runs do not trigger a rebuild between targets.
    "$bin_dir/$t" -artifact_prefix="fuzz/artifacts/$t/" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        "fuzz/corpus/$t" > "$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE '(INITED|DONE|pulse|NEW|REDUCE) +cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
    corpus_n=$(find "fuzz/corpus/$t" -type f | wc -l)
    new=$(comm -13 <(echo "$before") <(ls -1 "fuzz/artifacts/$t" | sort) | grep -E '^(crash|oom|timeout|leak|slow-unit)-' || true)
    if (( status != 0 )) || [[ -n $new ]]; then
        failed+=("$t")
        summary+=("$(printf '%-9s FAILED  runs=%-9s execs/s=%-7s %s' "$t" "${runs:-?}" "${rate:-?}" "$cov")")
        echo "smoke.sh: *** $t FAILED (exit $status) ***" >&2
        grep -m 3 -E "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|out-of-memory|timeout after" -A 3 "$log" >&2
        for a in $new; do
            echo "smoke.sh:   input: fuzz/artifacts/$t/$a" >&2
            echo "smoke.sh:   reproduce: cargo fuzz run --sanitizer $sanitizer ${target_dir[*]} $t fuzz/artifacts/$t/$a" >&2
            echo "smoke.sh:   minimise:  cargo fuzz tmin --sanitizer $sanitizer ${target_dir[*]} $t fuzz/artifacts/$t/$a" >&2
        done
        [[ -n $new ]] || echo "smoke.sh:   no artifact written; see $log" >&2
    else
        summary+=("$(printf '%-9s ok      runs=%-9s execs/s=%-7s %s corpus=%s' "$t" "${runs:-?}" "${rate:-?}" "$cov" "$corpus_n")")
    fi
done

echo
echo "smoke.sh: ${seconds}s per target, sanitizer=$sanitizer"
printf '  %s\n' "${summary[@]}"
if (( ${#failed[@]} )); then
    echo "smoke.sh: FAILED: ${failed[*]} (inputs under fuzz/artifacts/<target>/, logs under $logs/)" >&2
    exit 1
fi
echo "smoke.sh: no crashes"
