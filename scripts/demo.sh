#!/usr/bin/env bash
# Builds the small trees the README's examples run on, from the test fixtures, into DIR (default
# /tmp/rootsift-demo); run the examples from DIR:
#
#   demo/        a WAR holding a JAR, a JKS keystore, a kubeconfig, a gcc-built ELF, a PKCS#12 store
#                with an unknown password, a truncated PEM block before a valid one, an absolute
#                symlink and a FIFO (neither of which is read)
#   demo2/       three of Debian's roots (ca-certificates), a private root, a leaf in /etc/ssl/certs
#                and an RSA-1024 leaf signed with SHA-1, the last three made here by `openssl ca`
#                with fixed dates (valid from 2026-11-01)
#   demo2.yaml   the README's policy, with the fingerprint of the private root made here
#   sdemo/       Debian's shim and GRUB, a Debian kernel module, Microsoft's vcruntime140.dll, a JAR
#                with three signers, a tampered EFI image and a tampered JAR
#   debian-ca.der  the Debian Secure Boot CA (from shim's .vendor_cert), for --trust-roots
#   images       a link to the image fixtures
#
# Needs the fixtures (tests/fixtures/make.sh, signed.sh, images.sh; ROOTSIFT_FIXTURES overrides
# where they are) and openssl. Rerunnable: the trees are made again each time.
#
# Usage: scripts/demo.sh [DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fx=${ROOTSIFT_FIXTURES:-$root/target/fixtures}
out=${1:-/tmp/rootsift-demo}
die() { echo "demo.sh: $*" >&2; exit 1; }

for need in tree signed/tree images work/ca-certificates; do
    [[ -e $fx/$need ]] || die "$fx/$need is missing: build the fixtures first (bash tests/fixtures/make.sh; bash tests/fixtures/signed.sh; bash tests/fixtures/images.sh)"
done
command -v openssl >/dev/null || die "openssl is missing"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/demo" "$out/demo2" "$out/sdemo" "$out/demo2.yaml" "$out/debian-ca.der" "$out/images"

# put SRC DEST: a copy of the fixture file SRC (relative to FROM) at DEST under the tree.
put() { install -D -m 0644 "$from/$1" "$to/$2"; }

from=$fx/tree to=$out/demo
put etc/pki/odd/truncated-then-good.pem etc/pki/truncated-then-good.pem
put etc/pki/pkcs12/secret.p12 etc/pki/secret.p12
put opt/app.war opt/app.war
put opt/java/server.jks opt/java/server.jks
put root/.kube/config root/.kube/config
install -D -m 0755 "$fx/tree/usr/bin/certprint" "$to/usr/bin/certprint"
ln -s /etc/ssl/certs/ca-certificates.crt "$to/etc/pki/host-bundle.crt"
mkdir -p "$to/run" && mkfifo "$to/run/control.fifo"

from=$fx/work/ca-certificates/usr/share/ca-certificates/mozilla to=$out/demo2
for ca in Baltimore_CyberTrust_Root Entrust_Root_Certification_Authority ISRG_Root_X1; do
    put "$ca.crt" "usr/share/ca-certificates/mozilla/$ca.crt"
done

# A private CA with fixed dates: `openssl ca` takes -startdate/-enddate (OpenSSL 3.0's `req` does not).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new"
: >"$work/index.txt"
cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = demo
[demo]
dir = $work
database = $work/index.txt
new_certs_dir = $work/new
serial = $work/serial
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
organizationName = optional
[root]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
EOF
echo 01 >"$work/serial"
dates=(-startdate 20261101000000Z -enddate 20361101000000Z)
q() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; die "$1 failed"; }; }
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/root.key"
q openssl req -new -key "$work/root.key" -subj "/O=Acme/CN=Acme Internal Root" -out "$work/root.csr"
q openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile "$work/root.key" -extensions root \
    -md sha256 "${dates[@]}" -in "$work/root.csr" -out "$work/root.pem" -notext
# leaf NAME CN ALGORITHM-OPTIONS DIGEST
leaf() {
    q openssl genpkey "${@:3:$#-3}" -out "$work/$1.key"
    q openssl req -new -key "$work/$1.key" -subj "/CN=$2" -out "$work/$1.csr"
    q openssl ca -batch -config "$work/ca.cnf" -cert "$work/root.pem" -keyfile "$work/root.key" \
        -extensions leaf -md "${!#}" "${dates[@]}" -in "$work/$1.csr" -out "$work/$1.pem" -notext
}
leaf www www.acme.test -algorithm EC -pkeyopt ec_paramgen_curve:P-256 sha256
leaf legacy legacy.acme.test -algorithm RSA -pkeyopt rsa_keygen_bits:1024 sha1
install -D -m 0644 "$work/root.pem" "$to/srv/tls/acme-root.pem"
install -D -m 0644 "$work/www.pem" "$to/etc/ssl/certs/www.pem"
install -D -m 0644 "$work/legacy.pem" "$to/srv/tls/legacy.pem"
acme=$(openssl x509 -in "$work/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')

cat >"$out/demo2.yaml" <<EOF
version: "1"
allow:
  - mozilla: included
    comment: "Everything Mozilla currently trusts"
  - subject: '^CN=[a-z.]+\.acme\.test\$'
    issuer: 'CN=Acme Internal Root'
    expired: false
  - fingerprints:
      sha256: $acme
    comment: "Acme's internal root"
forbid:
  - mozilla: removed
    comment: "Mozilla no longer trusts it"
require:
  - fingerprints:
      sha256: 96bcec06264976f37460779acf28c5a7cfe8a3c0aae11a8ffcee05c0bddf08c6
    comment: "ISRG Root X1 (Let's Encrypt)"
EOF

from=$fx/signed/tree to=$out/sdemo
put boot/efi/EFI/debian/grubx64.efi boot/efi/EFI/debian/grubx64.efi
put boot/efi/EFI/debian/shimx64.efi boot/efi/EFI/debian/shimx64.efi
dummy=$(cd "$from" && find lib/modules -path '*/kernel/drivers/net/dummy.ko' | head -n 1)
[[ -n $dummy ]] || die "no dummy.ko in $from/lib/modules"
put "$dummy" lib/modules/dummy.ko
put opt/signtest/pe/tampered.efi opt/app/tampered.efi
put opt/signtest/jar/tampered.jar opt/app/tampered.jar
put opt/signtest/jar/three-signers.jar opt/app/three-signers.jar
put opt/msvc/vcruntime140.dll opt/msvc/vcruntime140.dll

install -m 0644 "$fx/signed/expected/debian-ca.der" "$out/debian-ca.der"

ln -s "$fx/images" "$out/images"
echo "demo.sh: demo, demo2, demo2.yaml, sdemo and images in $out"
