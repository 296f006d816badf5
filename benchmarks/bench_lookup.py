"""Lookup latency on a 1,000,000-document index, through the real server.

Generates index entries for N documents (seeded; 10% with a redacted "published" hash of
their own, 30% with a URL), writes them with formats/index.py's writer (timed: the index
build), starts `opencorpus serve` on it in its own process, and times sequential
keep-alive `GET /v1/documents/{sha256}` requests: hashes that exist and hashes that do not.
Anchors in the same run: `GET /healthz` on the same server (HTTP + FastAPI, no index read)
and the in-process reader without HTTP (one shard read + decompress + scan).
Target (issue 4): p99 < 20 ms for GET /v1/documents/{sha256} at 1,000,000 documents.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from opencorpus import storage
from opencorpus.formats import index
from opencorpus.lookup.reader import Lookup

LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-or-later", "CC-BY-4.0", "NOASSERTION"]


def doc_hash(i: int, kind: str = "original") -> str:
    return hashlib.sha256(f"{kind} {i}".encode()).hexdigest()


def located(i: int, parts: int) -> dict:
    license = LICENSES[i % len(LICENSES)]
    meta = {"sha256": doc_hash(i), "sha256_published": doc_hash(i, "published") if i % 10 == 0 else doc_hash(i),
            "license": license, "duplicates": [],
            "license_evidence": [{"method": "spdx-identifier", "where": "line 1", "confidence": 1.0,
                                  "expression": license, "matched": f"SPDX-License-Identifier: {license}"}]}
    if i % 10 < 3:
        meta["url"] = f"https://example.org/pages/{i}.html"
    return {"id": f"bench/{i:07d}", "source": "bench", "metadata": meta, "part": i % parts, "line": i // parts}


def entries(n: int, parts: int):
    for i in range(n):
        yield from index.document_entries(located(i, parts))


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p99": pick(0.99), "max": ordered[-1] * 1000, "mean": statistics.fmean(ordered) * 1000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(version: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "opencorpus.cli", "serve", "--snapshot", str(version),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


def time_requests(port: int, paths: list[str]) -> tuple[list[float], dict[int, int]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples, statuses = [], {}
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        samples.append(time.perf_counter() - t0)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    conn.close()
    return samples, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--keep", help="write the index here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    parts = max(1, args.documents // 50_000)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    version = folder / "bench" / "v1"
    try:
        t0 = time.perf_counter()
        generated = list(entries(args.documents, parts))
        generate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = index.write_index(str(version), generated)
        build_s = time.perf_counter() - t0
        del generated
        # The reader needs only the manifest's identity fields; a real run writes the full one.
        storage.write_bytes(str(version / "manifest.json"), json.dumps(
            {"corpus": "bench", "version": "v1", "date": "2026-11-01", "counts": {"output": args.documents}}).encode())
        index_files = list((version / "index").rglob("*.jsonl.zst"))
        index_bytes = sum(p.stat().st_size for p in index_files)

        rng = random.Random(0)
        present = [doc_hash(rng.randrange(args.documents)) for _ in range(args.requests)]
        absent = [doc_hash(rng.randrange(args.documents), "absent") for _ in range(args.requests // 5)]
        # The anchor without HTTP: the reader in this process (fresh object, same hashes).
        lookup = Lookup(str(version))
        inproc = []
        for h in present:
            t0 = time.perf_counter()
            assert lookup.by_sha256(h)["found"]
            inproc.append(time.perf_counter() - t0)

        port = free_port()
        server = start_server(version, port)
        try:
            time_requests(port, ["/healthz"] * 200 + [f"/v1/documents/{h}" for h in present[:200]])  # warm-up
            found, found_status = time_requests(port, [f"/v1/documents/{h}" for h in present])
            missing, missing_status = time_requests(port, [f"/v1/documents/{h}" for h in absent])
            health, _ = time_requests(port, ["/healthz"] * args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    assert found_status == {200: len(present)}, found_status
    assert missing_status == {404: len(absent)}, missing_status
    meta = {name: index.prefix_hex_for(n) for name, n in counts.items()}
    print(f"\nlookup index: {args.documents:,} documents -> {counts[index.BY_SHA256]:,} hash entries, "
          f"{counts[index.BY_URL]:,} URL entries; {len(index_files):,} shard files "
          f"(prefix hex digits {meta}), {index_bytes / 1e6:,.1f} MB, "
          f"{index_bytes / len(index_files) / 1e3:,.1f} kB per shard on average")
    print(f"index build (formats/index.py write_index, 1 process): {build_s:,.1f} s "
          f"({counts[index.BY_SHA256] / build_s:,.0f} hash entries/s); entry generation {generate_s:,.1f} s\n")
    rows = [
        ("GET /v1/documents/{sha256} (found, 200)", found),
        ("GET /v1/documents/{sha256} (absent, 404)", missing),
        ("anchor: GET /healthz (same server, no index read)", health),
        ("anchor: Lookup.by_sha256 in process (no HTTP)", inproc),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'latency, sequential keep-alive requests':<{width}}  {'n':>6}  {'p50 ms':>7}  {'p99 ms':>7}  "
          f"{'max ms':>7}  {'mean ms':>7}")
    print(f"{'-' * width}  {'-' * 6}  {'-' * 7}  {'-' * 7}  {'-' * 7}  {'-' * 7}")
    for name, samples in rows:
        p = percentiles(samples)
        print(f"{name:<{width}}  {len(samples):>6}  {p['p50']:>7.2f}  {p['p99']:>7.2f}  {p['max']:>7.2f}  {p['mean']:>7.2f}")
    p99 = percentiles(found)["p99"]
    print(f"\ntarget p99 < 20 ms for GET /v1/documents/{{sha256}}: {'met' if p99 < 20 else 'NOT met'} ({p99:.2f} ms)")


if __name__ == "__main__":
    main()
