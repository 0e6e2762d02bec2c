#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the real fixtures that tests/fixtures/make.sh writes under
#
#   pem       files holding PEM blocks or base64-wrapped PEM (LS0tLS1CRUdJTi…)
#   der       lone DER objects, PKCS#7/#12 bundles (certificates inside), ELF binaries
#   pkcs7     DER PKCS#7 SignedData (PEM "PKCS7" files are converted to DER with openssl when present)
#   pkcs12    PFX files
#   jks       JKS (FEEDFEED) and JCEKS (CECECECE) stores
#   archive   zip-family files (jar, war, zip, whl, …)
#   detector  all of the above
#   policy    tests/policy_configs/*.yaml (Paranoia's examples, rootsift's extensions)
#   ccadb     tests/fixtures/ccadb-removed-sample.csv (CCADB's removed-CA report shape)
#   authenticode, kmod, jar   signed PE/EFI images, kernel modules (plain, .ko.xz, .ko.zst), JARs
#             (tests/fixtures/signed.sh)
#   cms       the PKCS#7 blocks of those JARs
#   layer     uncompressed layer tars of the test images (tests/fixtures/images.sh)
#   manifest  their manifests, indexes, configs, manifest.json and index.json, and image references
#
# plus a few slices per target: truncated copies (half, and a few bytes short) and windows around the
# PEM headers and DER certificate headers found in large files. Inputs over 128 KiB are only added as
# 16 KiB windows (big inputs make libFuzzer slow). Seeds are named by their SHA-1, as libFuzzer does.
#
# Usage: fuzz/seed.sh            (FIXTURES=DIR overrides the fixture tree; CORPUS=DIR the output)
# Exits non-zero, saying why, if the fixture tree is missing or a target ends up with no seeds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures=${FIXTURES:-$root/target/fixtures/tree}
corpus=${CORPUS:-$here/corpus}
targets=(pem der pkcs7 pkcs12 jks archive detector policy ccadb authenticode kmod jar cms layer manifest)
max_seed=$((128 << 10))
window=$((16 << 10))

if [[ ! -d $fixtures ]] || [[ -z $(find "$fixtures" -type f -print -quit) ]]; then
    echo "seed.sh: no fixtures in $fixtures" >&2
    echo "seed.sh: build them first: tests/fixtures/make.sh (or set FIXTURES=DIR)" >&2
    exit 1
fi

for t in "${targets[@]}"; do mkdir -p "$corpus/$t"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# add TARGET FILE [OFFSET LENGTH]: copies FILE (or a slice of it) into TARGET's corpus.
add() {
    local target=$1 file=$2 offset=${3:-} length=${4:-} out="$tmp/slice"
    if [[ -n $offset ]]; then
        tail -c +$((offset + 1)) -- "$file" | head -c "$length" > "$out" || true
    else
        if (( $(stat -c %s -- "$file") > max_seed )); then return 0; fi
        cp -- "$file" "$out"
    fi
    [[ -s $out ]] || return 0
    local sum
    sum=$(sha1sum < "$out" | cut -d' ' -f1)
    cp -- "$out" "$corpus/$target/$sum"
}

# slices TARGET FILE: truncated copies of a small file (a parser must survive a cut at any point).
slices() {
    local target=$1 file=$2 size
    size=$(stat -c %s -- "$file")
    if (( size < 32 || size > max_seed )); then return 0; fi
    add "$target" "$file" 0 $((size / 2))
    add "$target" "$file" 0 $((size - 7))
}

# windows TARGET FILE: 16 KiB windows starting at the first few PEM headers and DER certificate
# headers (30 82 xx xx 30 82) in a file, for files too large to be seeds whole.
windows() {
    local target=$1 file=$2 offset
    {
        LC_ALL=C grep -obUa -- '-----BEGIN' "$file" 2>/dev/null | head -n 4 || true
        LC_ALL=C grep -obUaP '\x30\x82[\x00-\xff]{2}\x30\x82' "$file" 2>/dev/null | head -n 4 || true
    } | cut -d: -f1 | while read -r offset; do
        [[ $offset =~ ^[0-9]+$ ]] || continue
        add "$target" "$file" "$offset" "$window"
        add "$target" "$file" $(( offset > 4096 ? offset - 4096 : 0 )) "$window"
    done
}

hex_head() { od -An -v -tx1 -N "$2" -- "$1" | tr -d ' \n'; }

has_pem() { LC_ALL=C grep -qaE -- '-----BEGIN|LS0tLS1CRUdJTi|0tLS0tQkVHSU4g|tLS0tLUJFR0lO' "$1"; }

nfiles=0
while IFS= read -r -d '' f; do
    nfiles=$((nfiles + 1))
    size=$(stat -c %s -- "$f")
    (( size > 0 )) || continue
    head=$(hex_head "$f" 32)
    kinds=()
    case $head in
        504b0304* | 504b0506*) kinds+=(archive) ;;
        feedfeed* | cececece*) kinds+=(jks) ;;
        7f454c46*) kinds+=(der elf) ;;
        30*)
            # PKCS#7 SignedData: the OID 1.2.840.113549.1.7.2 right inside the outer SEQUENCE.
            # PFX: version INTEGER 3 right inside it.
            if [[ ${head:0:64} =~ ^30(8[0-4][0-9a-f]*|[0-7][0-9a-f])06092a864886f70d010702 ]]; then
                kinds+=(pkcs7 der)
            elif [[ ${head:0:64} =~ ^30(8[0-4]([0-9a-f]{2}){0,4}|[0-7][0-9a-f])020103 ]]; then
                kinds+=(pkcs12 der)
            else
                kinds+=(der)
            fi
            ;;
    esac
    if has_pem "$f"; then
        kinds+=(pem)
        if LC_ALL=C grep -qa -- '-----BEGIN PKCS7-----' "$f" && command -v openssl > /dev/null; then
            if openssl pkcs7 -in "$f" -outform DER -out "$tmp/p7.der" 2> /dev/null; then
                add pkcs7 "$tmp/p7.der"
                add detector "$tmp/p7.der"
            fi
        fi
    fi
    (( ${#kinds[@]} )) || continue
    for k in "${kinds[@]}"; do
        case $k in
            elf)
                # ELF binaries: the embedded search and the whole stack, as windows when large.
                for t in der pem detector; do
                    add "$t" "$f"
                    if (( size > max_seed )); then windows "$t" "$f"; fi
                done
                continue
                ;;
        esac
        add "$k" "$f"
        if (( size > max_seed )); then windows "$k" "$f"; fi
        # A few truncations of each structured input (cheap: only small files, two per file).
        case $k in pkcs7 | pkcs12 | jks | archive) slices "$k" "$f" ;; esac
    done
    add detector "$f"
    if (( size > max_seed )); then windows detector "$f"; fi
done < <(find "$fixtures" -type f -print0 | sort -z)

# A few truncated PEM and DER seeds too (from the smallest files, which are single certificates).
for t in pem der; do
    find "$corpus/$t" -type f -size -8k -print0 | sort -z > "$tmp/small"
    n=0
    while IFS= read -r -d '' f && ((n++ < 6)); do
        slices "$t" "$f"
    done < "$tmp/small"
done

# Policies (Paranoia's examples and rootsift's extensions) and a CCADB-shaped removed-CA CSV, from
# the repository, with truncations.
for f in "$root"/tests/policy_configs/*.yaml; do add policy "$f"; slices policy "$f"; done
add ccadb "$root/tests/fixtures/ccadb-removed-sample.csv"
slices ccadb "$root/tests/fixtures/ccadb-removed-sample.csv"

# Signed code (tests/fixtures/signed.sh): PE/EFI images, kernel modules, JARs whole (a signature
# parser needs the whole file), up to 1 MiB; their PKCS#7 blocks for cms.
signed=${SIGNED_FIXTURES:-$root/target/fixtures/signed/tree}
if [[ -d $signed ]]; then
    while IFS= read -r -d '' f; do
        (( $(stat -c %s -- "$f") <= 1 << 20 )) || continue
        case $(hex_head "$f" 4) in
            4d5a*) t=authenticode ;;
            7f454c46 | fd377a58 | 28b52ffd) t=kmod ;;
            504b0304) t=jar ;;
            *) continue ;;
        esac
        cp -- "$f" "$corpus/$t/$(sha1sum < "$f" | cut -d' ' -f1)"
        if [[ $t == jar ]] && unzip -Z1 "$f" 2> /dev/null | grep -qiE '^META-INF/[^/]+\.(RSA|DSA|EC)$'; then
            unzip -p "$f" 'META-INF/*.RSA' 'META-INF/*.DSA' 'META-INF/*.EC' > "$tmp/block" 2> /dev/null || true
            [[ -s $tmp/block ]] && add cms "$tmp/block"
        fi
    done < <(find "$signed" -type f -print0 | sort -z)
else
    echo "seed.sh: no signed-code fixtures in $signed (tests/fixtures/signed.sh makes them)" >&2
fi

# Images (tests/fixtures/images.sh): layer tars and metadata documents, with truncations.
images=${IMAGE_FIXTURES:-$root/target/fixtures/images}
if [[ -d $images/oci-uncompressed ]]; then
    for f in "$images"/oci-uncompressed/blobs/sha256/* "$images"/oci/blobs/sha256/* "$images"/multi/blobs/sha256/* \
        "$images"/*/index.json; do
        if [[ $(hex_head "$f" 1) == 7b ]]; then
            add manifest "$f"; slices manifest "$f"
        elif (( $(stat -c %s -- "$f") <= max_seed )) && [[ $(tail -c +258 -- "$f" | head -c 5) == ustar ]]; then
            add layer "$f"; slices layer "$f"
        fi
    done
    tar -xOf "$images/test.docker.tar" manifest.json > "$tmp/m.json" && add manifest "$tmp/m.json"
    for r in alpine:3.20 quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
        127.0.0.1:5000/a/b:v1 localhost/x; do
        printf '%s' "$r" > "$tmp/ref" && add manifest "$tmp/ref"
    done
else
    echo "seed.sh: no image fixtures in $images (tests/fixtures/images.sh makes them)" >&2
fi

status=0
echo "seed.sh: $nfiles fixture files read from $fixtures"
for t in "${targets[@]}"; do
    n=$(find "$corpus/$t" -type f | wc -l)
    bytes=$(du -sk "$corpus/$t" | cut -f1)
    printf 'seed.sh: %-9s %5d inputs %8d KiB  %s\n' "$t" "$n" "$bytes" "$corpus/$t"
    if (( n == 0 )); then
        echo "seed.sh: no fixture of the kind target '$t' needs was found in $fixtures" >&2
        status=1
    fi
done
exit $status
