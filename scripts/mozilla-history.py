#!/usr/bin/env python3
"""Rebuild data/mozilla-roots.tsv: the history of Mozilla's root store, from every certifi release.

    python3 scripts/mozilla-history.py [--out FILE] [--cache DIR] [--offline]

What the data means
-------------------
The PyPI package `certifi` ships `cacert.pem`, a bundle of the root certificates Mozilla's root
store (NSS, certdata.txt) trusts for TLS server authentication (the "websites" trust bit). Each
certifi release is a dated snapshot of that set, so reading every release gives the history of the
set: when a root first appeared, when it was last carried and, for roots the newest release no
longer carries, the first release without it.

"Removed" therefore means removed from Mozilla's trust for TLS server authentication, as certifi
observed it: a root distrusted for websites but still trusted for e-mail (S/MIME) counts as removed;
the dates are certifi's upload dates, which follow Mozilla's NSS releases by days to months; and
certifi sometimes kept roots longer than Mozilla did (2015's releases still carried the 1024-bit
roots NSS had dropped, for compatibility), or carried what curl's bundle carried (the 2011-2014
releases were built from curl's mk-ca-bundle). It is a history of one widely used bundle that
tracks Mozilla, not Mozilla's own record: for that, CCADB publishes the "Removed CA Certificate
Report", which rootsift can merge on top (`--mozilla-data`).

How
---
1. List every release of certifi with https://pypi.org/pypi/certifi/json; a release's date is the
   earliest upload time of its files, and releases are read in that order (version as tie-break).
   Yanked releases are read like the others (they were published and installed).
2. Download each release's wheel, else its sdist, into the cache (target/mozilla-cache/ by default;
   kept between runs) and check the file's SHA-256 against the JSON.
3. Take its `cacert.pem`: `certifi/cacert.pem` in a wheel, `certifi-VERSION/certifi/cacert.pem` in an
   sdist; the earliest sdists put it elsewhere (0.0.1: `certifi-0.0.1/cacert.pem`), so any member
   named cacert.pem is the fallback, shallowest first. A release with no bundle is skipped, saying so.
4. Every PEM CERTIFICATE block is decoded; its DER is hashed (SHA-256, SHA-1). The subject of each
   distinct certificate comes from `openssl x509 -noout -subject -nameopt RFC2253`, once each.

Output (tab-separated, one row per distinct root ever carried, sorted by sha256):
    sha256  sha1  first_release  first_date  last_release  last_date  removed_release  removed_date
    absent  subject
- removed_release/removed_date: the first release after last_release, when the newest release does
  not carry the root; `-` when it does.
- absent: releases between first and last that did not carry it (a root that vanished and came
  back), as `V` or `V1..V2` ranges joined by `,`; `-` when none.
Comment lines (`# key: value`) before the header say what generated the file, when, from how many
releases, and the newest release and its date. Dates are YYYY-MM-DD (UTC). No PEM is written.

Needs python3 (stdlib only) and the openssl command.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import concurrent.futures
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

JSON_URL = "https://pypi.org/pypi/certifi/json"
FILES_HOST = "https://files.pythonhosted.org/packages/"
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PEM_RE = re.compile(
    rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL
)
COLUMNS = [
    "sha256",
    "sha1",
    "first_release",
    "first_date",
    "last_release",
    "last_date",
    "removed_release",
    "removed_date",
    "absent",
    "subject",
]


def log(msg: str) -> None:
    print(f"mozilla-history: {msg}", file=sys.stderr, flush=True)


def fetch(url: str, what: str) -> bytes:
    """GET url, three tries; raise with the url on failure."""
    last = None
    for attempt in range(3):
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "rootsift-mozilla-history"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.read()
        except (urllib.error.URLError, OSError) as e:
            last = e
            time.sleep(1 + 2 * attempt)
    raise RuntimeError(f"cannot download {what} from {url}: {last}")


def file_urls(entry: dict) -> list[str]:
    """Where a release file can be fetched: the JSON's url (which a mirror may give relative to the
    JSON's address), then the same path on files.pythonhosted.org."""
    url = urllib.parse.urljoin(JSON_URL, entry["url"])
    urls = [url]
    path = urllib.parse.urlparse(url).path
    m = re.search(r"/packages/([0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]+/[^/]+)$", path)
    if m and not url.startswith(FILES_HOST):
        urls.append(FILES_HOST + m.group(1))
    return urls


def download(entry: dict, cache: str) -> bytes:
    """The release file, from the cache when its SHA-256 matches, else downloaded and checked."""
    name = entry["filename"]
    if "/" in name or name.startswith("."):
        raise RuntimeError(f"odd file name in the PyPI JSON: {name!r}")
    want = entry["digests"]["sha256"].lower()
    path = os.path.join(cache, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() == want:
            return data
        log(f"{name}: cached copy has the wrong SHA-256, downloading again")
    errors = []
    for url in file_urls(entry):
        try:
            data = fetch(url, name)
        except RuntimeError as e:
            errors.append(str(e))
            continue
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            errors.append(f"{url}: SHA-256 {got}, PyPI says {want}")
            continue
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return data
    raise RuntimeError("; ".join(errors))


def pick_file(files: list[dict]) -> dict | None:
    """The wheel if there is one, else the sdist (.tar.gz, .zip), else None."""
    for kind in ("bdist_wheel", "sdist"):
        for f in files:
            if f["packagetype"] == kind:
                return f
    return None


def extract_bundle(entry: dict, data: bytes, version: str) -> tuple[str, bytes] | None:
    """(member name, cacert.pem bytes) from a wheel or sdist, or None when there is none."""
    name = entry["filename"]
    wanted = ["certifi/cacert.pem", f"certifi-{version}/certifi/cacert.pem"]
    members: dict[str, callable] = {}
    if name.endswith((".whl", ".zip", ".egg")):
        z = zipfile.ZipFile(io.BytesIO(data))
        for n in z.namelist():
            members[n] = (lambda n=n: z.read(n))
    elif name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
        t = tarfile.open(fileobj=io.BytesIO(data))
        for m in t.getmembers():
            if m.isfile():
                members[m.name] = (lambda m=m: t.extractfile(m).read())
    else:
        raise RuntimeError(f"{name}: unknown archive type")
    for w in wanted:
        if w in members:
            return w, members[w]()
    fallback = sorted(
        (n for n in members if n.rsplit("/", 1)[-1] == "cacert.pem"),
        key=lambda n: (n.count("/"), n),
    )
    if fallback:
        return fallback[0], members[fallback[0]]()
    return None


def parse_pem(pem: bytes, where: str) -> list[bytes]:
    """The DER of every CERTIFICATE block."""
    ders = []
    for m in PEM_RE.finditer(pem):
        body = b"".join(m.group(1).split())
        try:
            ders.append(base64.b64decode(body, validate=True))
        except binascii.Error as e:
            raise RuntimeError(f"{where}: bad base64 in a PEM block: {e}") from None
    return ders


def subject_of(der: bytes) -> str:
    """The subject in RFC 2253 form, as openssl prints it."""
    out = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "RFC2253"],
        input=der,
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"openssl cannot read certificate {hashlib.sha256(der).hexdigest()}: "
            + out.stderr.decode(errors="replace").strip()
        )
    text = out.stdout.decode("utf-8", errors="replace").strip()
    if text.startswith("subject="):
        text = text[len("subject="):]
    text = text.strip()
    # The TSV must stay one line per root; RFC2253 escapes control characters, so this is a guard.
    text = text.replace("\t", "\\09").replace("\n", "\\0A").replace("\r", "\\0D")
    return text or "-"


def ranges(indices: list[int], versions: list[str]) -> str:
    """[3,4,5,9] -> 'v3..v5,v9'."""
    if not indices:
        return "-"
    parts = []
    start = prev = indices[0]
    for i in indices[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(versions[start] if start == prev else f"{versions[start]}..{versions[prev]}")
        if i is not None:
            start = prev = i
    return ",".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", default=os.path.join(REPO, "data", "mozilla-roots.tsv"))
    ap.add_argument("--cache", default=os.path.join(REPO, "target", "mozilla-cache"))
    ap.add_argument(
        "--offline",
        action="store_true",
        help="use the cached PyPI JSON and files; fail if something is missing",
    )
    args = ap.parse_args()
    started = time.monotonic()
    os.makedirs(args.cache, exist_ok=True)

    json_path = os.path.join(args.cache, "certifi.json")
    if args.offline:
        with open(json_path, "rb") as f:
            raw = f.read()
    else:
        raw = fetch(JSON_URL, "the certifi release list")
        with open(json_path + ".part", "wb") as f:
            f.write(raw)
        os.replace(json_path + ".part", json_path)
    meta = json.loads(raw)

    releases = []  # (upload time, version, date, chosen file, yanked)
    for version, files in meta["releases"].items():
        if not files:
            log(f"{version}: no files on PyPI, skipped")
            continue
        first = min(f["upload_time_iso_8601"] for f in files)
        chosen = pick_file(files)
        if chosen is None:
            log(f"{version}: neither a wheel nor an sdist, skipped")
            continue
        releases.append((first, version, first[:10], chosen, all(f.get("yanked") for f in files)))
    releases.sort(key=lambda r: (r[0], r[1]))

    read = []  # (version, date, set of sha256)
    certs: dict[str, bytes] = {}
    skipped = []
    for _, version, date, entry, yanked in releases:
        data = download(entry, args.cache)
        found = extract_bundle(entry, data, version)
        if found is None:
            log(f"{version} ({entry['filename']}): no cacert.pem, skipped")
            skipped.append(version)
            continue
        member, pem = found
        ders = parse_pem(pem, f"{entry['filename']}!/{member}")
        if not ders:
            log(f"{version} ({entry['filename']}!/{member}): no certificate in it, skipped")
            skipped.append(version)
            continue
        shas = set()
        for der in ders:
            h = hashlib.sha256(der).hexdigest()
            certs.setdefault(h, der)
            shas.add(h)
        note = []
        if yanked:
            note.append("yanked")
        if not member.endswith("certifi/cacert.pem"):
            note.append(f"bundle at {member}")
        if len(shas) != len(ders):
            note.append(f"{len(ders) - len(shas)} duplicate blocks")
        log(
            f"{version} {date} {entry['packagetype']}: {len(shas)} roots"
            + (f" ({'; '.join(note)})" if note else "")
        )
        read.append((version, date, shas))

    if not read:
        log("no release had a bundle")
        return 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        subjects = dict(zip(certs, pool.map(subject_of, certs.values())))

    versions = [r[0] for r in read]
    newest_version, newest_date, newest = read[-1]
    rows = []
    for h in sorted(certs):
        carried = [i for i, r in enumerate(read) if h in r[2]]
        first, last = carried[0], carried[-1]
        absent = [i for i in range(first, last + 1) if h not in read[i][2]]
        if h in newest:
            removed = ("-", "-")
        else:
            removed = (read[last + 1][0], read[last + 1][1])
        rows.append(
            [
                h,
                hashlib.sha1(certs[h]).hexdigest(),
                read[first][0],
                read[first][1],
                read[last][0],
                read[last][1],
                removed[0],
                removed[1],
                ranges(absent, versions),
                subjects[h],
            ]
        )

    n_removed = sum(1 for r in rows if r[6] != "-")
    n_gaps = sum(1 for r in rows if r[8] != "-")
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = io.StringIO()
    out.write(
        "# rootsift: history of Mozilla's root store for TLS server authentication, "
        "as the certifi package (PyPI) carried it\n"
    )
    out.write("# generator: scripts/mozilla-history.py\n")
    out.write(f"# generated: {generated}\n")
    out.write(f"# newest-release: {newest_version}\n")
    out.write(f"# newest-date: {newest_date}\n")
    out.write(f"# oldest-release: {read[0][0]}\n")
    out.write(f"# oldest-date: {read[0][1]}\n")
    out.write(f"# releases: {len(read)}\n")
    if skipped:
        out.write(f"# skipped-releases: {' '.join(skipped)} (no cacert.pem)\n")
    out.write(f"# roots: {len(rows)} ({len(rows) - n_removed} in the newest release, {n_removed} removed)\n")
    out.write("\t".join(COLUMNS) + "\n")
    for r in rows:
        out.write("\t".join(r) + "\n")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".part", "w", encoding="utf-8", newline="\n") as f:
        f.write(out.getvalue())
    os.replace(args.out + ".part", args.out)
    log(
        f"wrote {args.out}: {len(read)} releases ({read[0][0]} {read[0][1]} .. "
        f"{newest_version} {newest_date}), {len(rows)} roots, {len(rows) - n_removed} included, "
        f"{n_removed} removed, {n_gaps} absent from some releases between first and last; "
        f"{time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        log(f"error: {e}")
        sys.exit(1)
