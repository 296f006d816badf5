"""The lookup index: canonical hash or normalized URL -> where a document is and its license.

On disk, inside a snapshot version (every file listed by the manifest like any other):

    index/index.json                     {"format", "indexes": {name: {"prefix_hex", "entries"}}}
    index/by-sha256/<prefix>.jsonl.zst   key = a canonical sha256 (original or published text)
    index/by-url/<prefix>.jsonl.zst      key = sha256 of the normalized URL (UTF-8)

An index's shard is the first `prefix_hex` hex digits of the key; `prefix_hex` is the
smallest number (at least 1) that keeps the average shard at or below TARGET_ENTRIES, so
one lookup reads one small file whatever the snapshot size, also over s3:// or gs://. Every
shard 0..16**prefix_hex-1 is written, empty ones too, so a missing file is damage, not
"not found". Lines are deterministic JSON (formats/jsonl.py) sorted by (key, id).

Entries are plain dicts: `key`, `id`, `source`, `license`, `license_evidence`, `part`,
`line` (where the document sits in documents/), `matched` (which hashes of the document
equal the key: "original", "published") and `url`/`path` when the document has one. The
hash of a document that dedup removed maps to its survivor: the survivor's fields plus
`duplicate_of` (the survivor id) and `removed` (the copy's id, source, license, stage,
reason). A document removed for another reason maps to `removed` alone, without a survivor.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import zstandard

from opencorpus import storage
from opencorpus.document import normalize_url
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.formats.jsonl import encode_line, write_lines_zst

FORMAT = "opencorpus-index/1"
META = layout.INDEX_META
BY_SHA256 = "by-sha256"
BY_URL = "by-url"
INDEXES = (BY_SHA256, BY_URL)
TARGET_ENTRIES = 1024
TAKEDOWN = "takedown"  # the stage of the records a takedown writes (snapshot/takedown.py)
_SHA256 = re.compile(r"[0-9a-f]{64}")

Entry = dict[str, Any]


def is_sha256(value: str) -> bool:
    """64 lowercase hex digits: the only keys that ever reach a file path."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def url_key(url: str) -> str:
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()


def prefix_hex_for(entries: int) -> int:
    prefix = 1
    while entries > TARGET_ENTRIES * 16 ** prefix:
        prefix += 1
    return prefix


def shard_names(prefix_hex: int) -> list[str]:
    return [f"{i:0{prefix_hex}x}" for i in range(16 ** prefix_hex)]


def _located(doc: dict[str, Any]) -> Entry:
    meta = doc["metadata"]
    entry = {"id": doc["id"], "source": doc["source"], "license": meta["license"],
             "license_evidence": meta["license_evidence"], "part": doc["part"], "line": doc["line"]}
    for name in ("url", "path"):
        if meta.get(name):
            entry[name] = meta[name]
    return entry


def document_entries(doc: dict[str, Any]) -> list[tuple[str, Entry]]:
    """(index, entry) pairs of one published document: {id, source, metadata, part, line}."""
    meta = doc["metadata"]
    matched: dict[str, list[str]] = {}
    for which in ("original", "published"):
        matched.setdefault(meta["sha256" if which == "original" else "sha256_published"], []).append(which)
    out = [(BY_SHA256, {**_located(doc), "key": key, "matched": names}) for key, names in matched.items()]
    if meta.get("url"):
        out.append((BY_URL, {**_located(doc), "key": url_key(meta["url"]), "matched": ["url"]}))
    return out


def removed_entry(removed: dict[str, Any], survivor: dict[str, Any] | None) -> tuple[str, Entry]:
    """The by-sha256 entry of a removed record ({id, source, sha256, stage, reason, details}).

    `survivor` is the located document its `details.duplicate_of` names, when published.
    """
    copy = {"id": removed["id"], "source": removed["source"], "stage": removed["stage"], "reason": removed["reason"]}
    if removed["stage"] == TAKEDOWN:  # the request as the takedown recorded it (snapshot/takedown.py)
        details = removed.get("details", {})
        copy.update({k: details.get(k) for k in ("reason", "request", "version")})
    if survivor is None:
        return BY_SHA256, {"key": removed["sha256"], "id": removed["id"], "source": removed["source"],
                           "matched": ["original"], "removed": copy}
    for dup in survivor["metadata"].get("duplicates", []):
        if dup["id"] == removed["id"]:
            copy["license"] = dup.get("license")
    return BY_SHA256, {**_located(survivor), "key": removed["sha256"], "matched": ["original"],
                       "duplicate_of": survivor["id"], "removed": copy}


def sort_key(entry: Entry) -> tuple[str, str, str]:
    return entry["key"], entry["id"], entry.get("removed", {}).get("id", "")


def write_shard(version_url: str, index: str, shard: str, entries: Iterable[Entry]) -> storage.Digest:
    """Write one shard (entries in any order; they are sorted here); returns its digest."""
    lines = (encode_line(entry) for entry in sorted(entries, key=sort_key))
    return write_lines_zst(storage.join(version_url, layout.index_shard(index, shard)), lines).digest


def meta_bytes(counts: dict[str, int]) -> bytes:
    """index/index.json for the entry count of each index."""
    indexes = {name: {"entries": counts.get(name, 0), "prefix_hex": prefix_hex_for(counts.get(name, 0))} for name in INDEXES}
    return canonical_json({"format": FORMAT, "indexes": indexes})


def write_index(version_url: str, entries: Iterable[tuple[str, Entry]]) -> dict[str, int]:
    """Write a whole index from (index, entry) pairs held in memory; returns entries per index.

    The Beam transform (beam/index.py) writes the same bytes shard by shard at scale.
    """
    grouped: dict[str, list[Entry]] = {name: [] for name in INDEXES}
    for name, entry in entries:
        grouped[name].append(entry)
    counts = {name: len(items) for name, items in grouped.items()}
    storage.write_bytes(storage.join(version_url, META), meta_bytes(counts))
    for name, items in grouped.items():
        prefix = prefix_hex_for(len(items))
        shards: dict[str, list[Entry]] = {s: [] for s in shard_names(prefix)}
        for entry in items:
            shards[entry["key"][:prefix]].append(entry)
        for shard, members in shards.items():
            write_shard(version_url, name, shard, members)
    return counts


class IndexDamaged(LookupError):
    """The index is missing or damaged (a snapshot problem, not "not found")."""


def read_meta(version_url: str) -> dict[str, Any]:
    url = storage.join(version_url, META)
    try:
        meta = json.loads(storage.read_bytes(url))
    except FileNotFoundError:
        raise IndexDamaged(f"{url}: no lookup index in this snapshot") from None
    except ValueError as e:
        raise IndexDamaged(f"{url}: not valid JSON: {e}") from None
    if meta.get("format") != FORMAT:
        raise IndexDamaged(f"{url}: format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def find(version_url: str, meta: dict[str, Any], index: str, key: str) -> list[Entry]:
    """Every entry of `index` whose key is `key` (a validated sha256), read from one shard."""
    if not is_sha256(key):
        raise ValueError(f"not a sha256 (64 lowercase hex digits): {key!r}")
    prefix = meta["indexes"][index]["prefix_hex"]
    url = storage.join(version_url, layout.index_shard(index, key[:prefix]))
    try:
        data = zstandard.ZstdDecompressor().decompressobj().decompress(storage.read_bytes(url))
    except FileNotFoundError:
        raise IndexDamaged(f"{url}: index shard missing") from None
    return list(_matching_lines(data, key))


def _matching_lines(data: bytes, key: str) -> Iterator[Entry]:
    """Lines whose "key" field is `key`: a byte search first, JSON only for the hits."""
    needle = f'"key":"{key}"'.encode("ascii")
    start = data.find(needle)
    while start != -1:
        begin = data.rfind(b"\n", 0, start) + 1
        end = data.find(b"\n", start)
        yield json.loads(data[begin:end])
        start = data.find(needle, end)
