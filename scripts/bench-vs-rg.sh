#!/usr/bin/env bash
# Whole-process comparison of `rootsift scan` with ripgrep searching for PEM certificate headers,
# plus a coverage check: every file in which rg counts a header must be reported by rootsift.
#
# Usage: scripts/bench-vs-rg.sh [--modes MODES] [--allow-mentions] [DIR] [RUNS]
#
#   DIR     tree to scan (default /usr)
#   RUNS    timed runs of each command (default 7)
#   MODES   comma-separated rootsift modes (default full,depth0):
#             full    rootsift scan -o json DIR                    (opens archives)
#             depth0  rootsift scan -o json --archive-depth 0 DIR  (archives not opened)
#
# What it does: `cargo build --release`; one untimed run of each command to warm the page cache
# (whose outputs feed the coverage check); then RUNS rounds alternating
#   rg -uuu -a -c -- '-----BEGIN CERTIFICATE-----' DIR
#   target/release/rootsift scan -o json DIR     (and the other modes)
# with stdout to /dev/null, each measured for wall time (ms) and peak RSS (/usr/bin/time %M).
# Prints per-run figures, median wall times, the ratio rootsift/rg, and rootsift's median and maximum
# peak RSS in MiB. Coverage: each file rg counts a match in must appear among rootsift's certificates
# or partials, as a `fileLocation` or as the outer file of an `!/` location; any that does not is
# listed and the script exits 1. Each missed file is labelled: `base64 follows` when some header in it
# is followed by a run of 40+ base64 characters (a certificate rootsift should have reported, or
# reported as partial), `mention` when no header in it is (code, docs or a placeholder that names the
# header). With --allow-mentions, only `base64 follows` files make the script fail.
#
# Installs ripgrep, time and jq with apt-get when they are missing.
set -euo pipefail

modes=full,depth0
allow_mentions=false
args=()
while (($#)); do
    case $1 in
        --modes) modes=${2:?--modes needs a value}; shift 2 ;;
        --modes=*) modes=${1#--modes=}; shift ;;
        --allow-mentions) allow_mentions=true; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
dir=${args[0]:-/usr}
runs=${args[1]:-7}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench-vs-rg: RUNS must be a positive number, not '$runs'" >&2; exit 2; }
[[ -d $dir ]] || { echo "bench-vs-rg: $dir is not a directory" >&2; exit 2; }
dir=$(realpath -- "$dir")
IFS=, read -r -a mode_list <<< "$modes"
for m in "${mode_list[@]}"; do
    case $m in full | depth0) ;; *) echo "bench-vs-rg: unknown mode '$m' (full, depth0)" >&2; exit 2 ;; esac
done

need=()
command -v rg > /dev/null || need+=(ripgrep)
[[ -x /usr/bin/time ]] || need+=(time)
command -v jq > /dev/null || need+=(jq)
if ((${#need[@]})); then
    echo "bench-vs-rg: installing ${need[*]}" >&2
    apt-get install -y "${need[@]}" > /dev/null 2>&1 \
        || { apt-get update > /dev/null && apt-get install -y "${need[@]}" > /dev/null; }
fi

cd "$(dirname "$0")/.."
cargo build --release --quiet
rootsift=$PWD/target/release/rootsift
[[ -x $rootsift ]] || { echo "bench-vs-rg: $rootsift was not built" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pattern='-----BEGIN CERTIFICATE-----'

# The command line of each tool.
cmd_rg=(rg -uuu -a -c -- "$pattern" "$dir")
cmd_full=("$rootsift" scan -o json "$dir")
cmd_depth0=("$rootsift" scan -o json --archive-depth 0 "$dir")
tools=(rg "${mode_list[@]}")

# calc EXPR: floating-point arithmetic, one decimal (three for small values).
calc() { awk "BEGIN { v = $1; printf(v < 10 ? \"%.3f\" : \"%.1f\", v) }"; }

# measure NAME OUT CMD...: runs CMD with stdout to OUT; appends "ms kib" to $tmp/NAME.runs.
measure() {
    local name=$1 out=$2 status
    shift 2
    local start end
    start=$(date +%s%N)
    set +e
    /usr/bin/time -f '%M' -o "$tmp/time" "$@" > "$out" 2> "$tmp/$name.stderr"
    status=$?
    set -e
    end=$(date +%s%N)
    # rg exits 1 when nothing matched and 2 when some file could not be read; neither is fatal.
    if [[ $name == rg ]] && ((status <= 2)); then status=0; fi
    if ((status != 0)); then
        echo "bench-vs-rg: $name exited with status $status:" >&2
        tail -n 5 "$tmp/$name.stderr" >&2
        exit 2
    fi
    local kib
    kib=$(grep -E '^[0-9]+$' "$tmp/time" | tail -n 1)
    echo "$(((end - start) / 1000000)) ${kib:-0}" >> "$tmp/$name.runs"
}

run_tool() { # run_tool NAME OUT
    local name=$1 out=$2
    case $name in
        rg) measure rg "$out" "${cmd_rg[@]}" ;;
        full) measure full "$out" "${cmd_full[@]}" ;;
        depth0) measure depth0 "$out" "${cmd_depth0[@]}" ;;
    esac
}

label() {
    case $1 in
        rg) echo "rg" ;;
        full) echo "rootsift" ;;
        depth0) echo "rootsift --archive-depth 0" ;;
    esac
}

echo "bench-vs-rg: $dir, $runs run(s), modes: ${mode_list[*]}"
echo "  rg:       ${cmd_rg[*]}"
for m in "${mode_list[@]}"; do
    case $m in
        full) printf '  %-9s %s\n' "$m:" "${cmd_full[*]}" ;;
        depth0) printf '  %-9s %s\n' "$m:" "${cmd_depth0[*]}" ;;
    esac
done

# Warm-up: one run of each, outputs kept for the coverage check.
measure rg "$tmp/rg.out" rg -uuu -a -c --null -- "$pattern" "$dir"
for m in "${mode_list[@]}"; do run_tool "$m" "$tmp/$m.json"; done
rm -f "$tmp"/*.runs

for ((i = 1; i <= runs; i++)); do
    for t in "${tools[@]}"; do run_tool "$t" /dev/null; done
    line="run $i:"
    for t in "${tools[@]}"; do
        read -r ms kib < <(tail -n 1 "$tmp/$t.runs")
        line+=$(printf '  %s %d.%03d s %s MiB' "$(label "$t")" $((ms / 1000)) $((ms % 1000)) "$(calc "$kib / 1024")")
        line+=" |"
    done
    echo "${line% |}"
done

# median COLUMN FILE: median of a column of numbers.
median() {
    sort -n <(cut -d' ' -f"$1" "$2") | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maximum() { cut -d' ' -f"$1" "$2" | sort -n | tail -n 1; }

rg_ms=$(median 1 "$tmp/rg.runs")
echo
printf 'median wall  %-28s %8s s   (peak RSS median %s MiB)\n' rg "$(calc "$rg_ms / 1000")" \
    "$(calc "$(median 2 "$tmp/rg.runs") / 1024")"
for m in "${mode_list[@]}"; do
    ms=$(median 1 "$tmp/$m.runs")
    printf 'median wall  %-28s %8s s   ratio rootsift/rg %s\n' "$(label "$m")" \
        "$(calc "$ms / 1000")" "$(awk "BEGIN { printf(\"%.2f\", $ms / ($rg_ms > 0 ? $rg_ms : 1)) }")"
    printf 'peak RSS     %-28s median %s MiB, max %s MiB\n' "$(label "$m")" \
        "$(calc "$(median 2 "$tmp/$m.runs") / 1024")" "$(calc "$(maximum 2 "$tmp/$m.runs") / 1024")"
done

# Coverage: files rg counts a header in, as rootsift locations (relative to DIR, starting with /).
prefix=$dir
[[ $prefix == / ]] && prefix=
# rg.out holds "PATH\0COUNT\n" per file with a match.
while IFS= read -r -d '' path && IFS= read -r count; do
    if ((count > 0)); then printf '%s\n' "${path#"$prefix"}"; fi
done < "$tmp/rg.out" | sort -u > "$tmp/rg.files"
coverage_mode=${mode_list[0]}
jq -r '(.certificates[]?, .partials[]?) | .fileLocation | sub("!/.*$"; "")' "$tmp/$coverage_mode.json" \
    | sort -u > "$tmp/rootsift.files"
summary=$(jq -c '.summary' "$tmp/$coverage_mode.json")
missing=$(comm -23 "$tmp/rg.files" "$tmp/rootsift.files")
n_rg=$(wc -l < "$tmp/rg.files")
n_rs=$(wc -l < "$tmp/rootsift.files")
echo
echo "coverage ($(label "$coverage_mode")): rg counted '$pattern' in $n_rg file(s); rootsift reported certificates or partials in $n_rs file(s)"
echo "rootsift summary: $summary"
if [[ -z $missing ]]; then
    echo "coverage: ok (every file rg counted is in rootsift's report)"
    exit 0
fi
# A header followed (through line ends, escapes, quotes, string joins) by 40+ base64 characters.
body='-----BEGIN CERTIFICATE-----(\\[rn]|[\r\n \t"'"'"'+,])*[A-Za-z0-9+/]{40}'
real=0
mentions=0
echo "coverage: $(wc -l <<< "$missing") file(s) in which rg found a header but rootsift reported nothing:" >&2
while IFS= read -r loc; do
    if rg -q -a -U -- "$body" "$prefix$loc"; then
        real=$((real + 1))
        echo "  [base64 follows] $loc" >&2
    else
        mentions=$((mentions + 1))
        echo "  [mention]        $loc" >&2
    fi
done <<< "$missing"
echo "coverage: $real with base64 after a header, $mentions with only mentions of the header" >&2
if ((real > 0)) || ! $allow_mentions; then
    exit 1
fi
echo "coverage: ok apart from header mentions (--allow-mentions)"
