#!/usr/bin/env bash
# Fuzzes every target for a short while on the stable toolchain; fails if any target crashes.
#
# Usage: fuzz/smoke.sh [--asan] [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  default 20
#   TARGET...           default: every target (see all_targets below)
#   --asan              build with AddressSanitizer (RUSTC_BOOTSTRAP=1 on stable; its own
#                       directory under the target dir, so the first run rebuilds everything).
#                       Without it, the targets are built with --sanitizer none: Rust code is
#                       memory-safe unless `unsafe` is wrong, and libFuzzer runs several times faster.
#
# Builds are cargo-fuzz's default: optimised (release) WITH debug assertions and overflow checks, so
# an integer overflow in a parser is a crash. (`-O` would turn those checks off.) Every target is one
# binary, fuzz_targets/rootsift.rs, which runs the target FUZZ_TARGET names; it is built once, with
# 16 codegen units (cargo-fuzz's default of 1 compiles each crate on one core; the short runs here
# lose little to the slower code).
#
# The binary goes where cargo puts the fuzz crate's builds: CARGO_TARGET_DIR when set, else
# fuzz/target (asked of `cargo metadata`, never assumed).
#
# Installs cargo-fuzz (pinned) if missing, (re)seeds fuzz/corpus/ with fuzz/seed.sh (needs the
# fixtures from tests/fixtures/make.sh; FIXTURES=DIR overrides), then runs each target with
#   -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10
# Logs go to <target dir>/smoke/<target>.log. A crash, timeout or out-of-memory input is written to
# fuzz/artifacts/<target>/; the script prints its path, the panic message and how to reproduce and
# minimise it, and exits 1. Save minimised crashes under fuzz/regressions/<target>/ so that
# `cargo test --test fuzz_regressions` replays them.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.." || exit 2

CARGO_FUZZ_VERSION=0.13.2
sanitizer=none
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
if ! target_root=$(cargo metadata --format-version 1 --no-deps --manifest-path fuzz/Cargo.toml |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'); then
    echo "smoke.sh: cargo metadata failed for fuzz/Cargo.toml" >&2
    exit 2
fi
target_dir=$target_root
if [[ ${1:-} == --asan ]]; then
    shift
    sanitizer=address
    export RUSTC_BOOTSTRAP=1
    target_dir=$target_root/asan
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
    echo "smoke.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked ||
        { echo "smoke.sh: cannot install cargo-fuzz" >&2; exit 2; }
fi

fuzz/seed.sh || { echo "smoke.sh: seeding failed" >&2; exit 2; }

build=(--sanitizer "$sanitizer" --target-dir "$target_dir" --codegen-units 16)
echo "smoke.sh: building the fuzz binary into $target_dir, sanitizer=$sanitizer"
if ! cargo fuzz build "${build[@]}" rootsift; then
    echo "smoke.sh: build failed" >&2
    exit 2
fi

triple=$(rustc -vV | sed -n 's/^host: //p')
binary=$target_dir/$triple/release/rootsift
[[ -x $binary ]] || { echo "smoke.sh: no fuzz binary at $binary" >&2; exit 2; }
known=" ${all_targets[*]} "
for t in "${targets[@]}"; do
    [[ $known == *" $t "* ]] || { echo "smoke.sh: no fuzz target $t (targets: ${all_targets[*]})" >&2; exit 2; }
done
logs=$target_dir/smoke
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
    FUZZ_TARGET=$t "$binary" -artifact_prefix="fuzz/artifacts/$t/" \
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
            echo "smoke.sh:   reproduce: FUZZ_TARGET=$t cargo fuzz run ${build[*]} rootsift fuzz/artifacts/$t/$a" >&2
            echo "smoke.sh:   minimise:  FUZZ_TARGET=$t cargo fuzz tmin ${build[*]} rootsift fuzz/artifacts/$t/$a" >&2
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
