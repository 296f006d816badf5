"""Takedown: a new version without some documents, every artifact rewritten to agree.

Nothing is recomputed from text: the documents that match are found through the lookup index
(hashes, URLs) or in one pass over the document parts (domains, sources); the parts that hold
them lose those lines (documents, token
files and their sidecars, the part's removed/ file gains one record each, stage `takedown`);
the other parts are copied byte for byte. The training order is drawn again from the new
counts, the lookup index is rewritten shard by shard (taken-down documents answer as removed,
with the version, reason and request; lines after them move up; copies whose survivor went
are answered without it), stats.json is the previous one minus what went, and the manifest
records the takedown (with those before it). The previous version is left untouched; the new one
is claimed first and published last, so an interrupted takedown leaves LATEST where it was.

Selectors: canonical hashes (of the original or the published text), URLs (normalized), domains
(a URL's host or any host below it) and source names. A takedown list file holds hashes and
URLs, one per line (`#` comments); a malformed line rejects the whole list, naming every bad
line, before any work.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from opencorpus import storage
from opencorpus.document import normalize_url
from opencorpus.formats import layout
from opencorpus.formats.facts import document_facts
from opencorpus.formats.index import (
    BY_SHA256,
    BY_URL,
    INDEXES,
    TAKEDOWN,
    find,
    is_sha256,
    read_meta,
    shard_names,
    url_key,
    write_shard,
)
from opencorpus.formats.jsonl import encode_line, read_jsonl_zst, read_lines_zst, write_lines_zst
from opencorpus.formats.order import training_order, write_order
from opencorpus.formats.tokens import STREAMS, file_keys, read_token_rows, token_file, write_token_shard
from opencorpus.snapshot.publish import published_versions

STAGE = TAKEDOWN
REASON = "request"  # the category stats count; the requester's words go in each record's details


class TakedownInputError(ValueError):
    """Selectors that cannot be used (malformed hashes or URLs, an empty request)."""


@dataclass(frozen=True)
class Selector:
    """Which documents a takedown removes."""

    hashes: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()  # normalized
    domains: frozenset[str] = frozenset()  # lowercase, no trailing dot
    sources: frozenset[str] = frozenset()

    def matches(self, doc: dict[str, Any]) -> bool:
        meta = doc.get("metadata") or {}
        if doc["source"] in self.sources or {meta.get("sha256"), meta.get("sha256_published")} & self.hashes:
            return True
        url = meta.get("url")
        if not url or not (self.urls or self.domains):
            return False
        try:
            normalized = normalize_url(url)
        except ValueError:
            return False
        host = (urlsplit(normalized).hostname or "").rstrip(".")
        return normalized in self.urls or any(host == d or host.endswith("." + d) for d in self.domains)

    def describe(self) -> dict[str, list[str]]:
        return {name: sorted(values) for name, values in
                (("hashes", self.hashes), ("urls", self.urls), ("domains", self.domains), ("sources", self.sources))
                if values}


def selector_from(hashes: Iterable[str] = (), urls: Iterable[str] = (), domains: Iterable[str] = (),
                  sources: Iterable[str] = (), lines: Iterable[tuple[str, str]] = ()) -> Selector:
    """A Selector from command-line values and (where, line) pairs of a takedown file; every bad
    value is named in one TakedownInputError."""
    bad: list[str] = []
    good_hashes, good_urls = set(), set()
    for where, value in [("--hash", h) for h in hashes] + [("--url", u) for u in urls] + list(lines):
        value = value.strip()
        if is_sha256(value.lower()) and len(value) == 64:
            good_hashes.add(value.lower())
            continue
        if where == "--hash":
            bad.append(f"--hash {value!r}: not a sha256 (64 hex digits)")
            continue
        try:
            good_urls.add(normalize_url(value))
        except ValueError as e:
            bad.append(f"{where}: {value!r}: neither a sha256 nor a URL ({e})")
    clean_domains = set()
    for domain in domains:
        d = domain.strip().lower().rstrip(".")
        if not d or "/" in d or ":" in d or " " in d:
            bad.append(f"--domain {domain!r}: not a host name")
        else:
            clean_domains.add(d)
    if bad:
        raise TakedownInputError("the takedown request is rejected:\n  " + "\n  ".join(bad))
    selector = Selector(frozenset(good_hashes), frozenset(good_urls), frozenset(clean_domains), frozenset(sources))
    if not selector.describe():
        raise TakedownInputError("the takedown request names nothing to take down")
    return selector


def takedown_file_lines(path: str) -> list[tuple[str, str]]:
    """(where, value) per meaningful line of a takedown list: hashes and URLs, `#` comments."""
    text = storage.read_bytes(path).decode("utf-8", errors="replace")
    return [(f"{path}:{n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


@dataclass
class Taken:
    """One taken-down document: what the rewrite needs of it (no text)."""

    id: str
    source: str
    metadata: dict[str, Any]
    part: int
    line: int
    characters: int
    tokens: int | None = None


def locate(previous_url: str, selector: Selector) -> dict[int, set[int]]:
    """part -> lines of the published documents the selector matches.

    Hashes and URLs alone go through the lookup index (one shard read each, whatever the size of
    the snapshot); domains and sources need one pass over documents/. An index entry that stands
    for a removed copy (`duplicate_of`) points at another text, its survivor: not a match.
    """
    found: dict[int, set[int]] = {}
    if selector.domains or selector.sources:
        for part in range(_part_count(previous_url)):
            for line, raw in enumerate(read_lines_zst(storage.join(previous_url, layout.documents_part(part)))):
                if selector.matches(json.loads(raw)):
                    found.setdefault(part, set()).add(line)
        return found
    meta = read_meta(previous_url)
    keys = [(BY_SHA256, h) for h in sorted(selector.hashes)] + [(BY_URL, url_key(u)) for u in sorted(selector.urls)]
    for index, key in keys:
        for entry in find(previous_url, meta, index, key):
            if "part" in entry and "duplicate_of" not in entry:
                found.setdefault(entry["part"], set()).add(entry["line"])
    return found


def request_id(previous_digest: str, selector: Selector, reason: str) -> str:
    """A takedown's id: the same request against the same version gets the same id (and bytes)."""
    data = json.dumps([previous_digest, selector.describe(), reason], sort_keys=True).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def earlier_takedowns(previous_url: str) -> dict[str, dict[str, Any]]:
    """Hash (original or published text) -> {request, reason, version} of every document taken
    down from `previous_url`'s corpus: in its own removed/ and in any version made by a takedown.
    An incremental run on `previous_url` keeps them all out (beam/previous.py)."""
    corpus_url, name = previous_url.rstrip("/").rsplit("/", 1)
    versions = [previous_url] + [storage.join(corpus_url, v) for v in published_versions(corpus_url) if v != name
                                 and "takedowns" in json.loads(storage.read_bytes(storage.join(corpus_url, v, layout.MANIFEST)))]
    taken: dict[str, dict[str, Any]] = {}
    for url in versions:
        folder = storage.join(url, "removed")
        for part in storage.list_dir(folder):
            for record in read_jsonl_zst(storage.join(folder, part)):
                if record["stage"] == STAGE:
                    details = record.get("details", {})
                    hit = {k: details.get(k) for k in ("request", "reason", "version")}
                    for key in (record["sha256"], details.get("sha256_published")):
                        if key:
                            taken.setdefault(key, hit)
    return taken


def _part_count(version_url: str) -> int:
    return sum(1 for name in storage.list_dir(storage.join(version_url, "documents")) if name.endswith(".jsonl.zst"))


def take_down(previous_url: str, new_url: str, located: dict[int, set[int]], reason: str,
              request: str) -> tuple[dict[str, Any], list[Taken], dict[str, storage.Digest]]:
    """Write the new version's files (not its manifest); returns its stats, the documents taken
    down and the digest of every file written: a rewritten file's from its writer, a copied
    one's from the previous manifest (the copy is byte for byte; `opencorpus verify` re-hashes)."""
    manifest_bytes = storage.read_bytes(storage.join(previous_url, layout.MANIFEST))
    manifest = json.loads(manifest_bytes)
    stats = json.loads(storage.read_bytes(storage.join(previous_url, layout.STATS)))
    tokenizer = manifest.get("tokenizer")
    version = posixpath.basename(new_url.rstrip("/"))
    rewritten = {layout.STATS, layout.TOKEN_ORDER, *layout.CARDS,
                 *(f["path"] for f in manifest["files"] if f["path"].startswith("index/"))}
    for part in located:
        rewritten |= {layout.documents_part(part), layout.removed_part(part)}
        if tokenizer is not None:
            rewritten |= {token_file(part, key) for key in file_keys(tokenizer["formats"])}
    copied = {f["path"]: storage.Digest(f["sha256"], f["bytes"]) for f in manifest["files"] if f["path"] not in rewritten}
    details = {"request": request, "reason": reason, "version": version}
    # Parts are independent and zstd works outside the GIL: one thread per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda path: storage.copy(storage.join(previous_url, path), storage.join(new_url, path)), copied))
        parts = list(pool.map(lambda item: _rewrite_part(previous_url, new_url, item[0], item[1], tokenizer, details),
                              sorted(located.items())))
    taken = [d for docs, _ in parts for d in docs]
    written = {**copied, **{path: digest for _, digests in parts for path, digest in digests.items()}}
    _update_stats(stats, taken, tokenizer)
    if tokenizer is not None:
        written[layout.TOKEN_ORDER] = _write_order(new_url, stats, tokenizer, manifest["recipe"].get("seed", 0),
                                                   _part_count(previous_url))
    written.update(_rewrite_index(previous_url, new_url, taken, details))
    stats.setdefault("takedowns", []).append({
        "version": version, "previous": posixpath.basename(previous_url.rstrip("/")),
        "previous_digest": hashlib.sha256(manifest_bytes).hexdigest(),
        "request": request, "reason": reason, "documents": len(taken),
    })
    stats_json = json.dumps(stats, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    written[layout.STATS] = storage.write_hashed(storage.join(new_url, layout.STATS), stats_json.encode("utf-8"))
    return stats, taken, written


def publish_takedown(previous_url: str, version: str, located: dict[int, set[int]], reason: str, request: str,
                     run_info: dict[str, Any]) -> tuple[str, str, list[Taken]]:
    """Claim `version` beside `previous_url`, write it without the located documents, build its
    manifest and publish it last: (version URL, digest, documents taken down). The claim is
    released whatever happens; a version left without a manifest is a crashed run's leftovers."""
    from opencorpus.cards import with_cards
    from opencorpus.snapshot.manifest import build_manifest
    from opencorpus.snapshot.publish import prepare_version, publish

    root, corpus = previous_url.rstrip("/").rsplit("/", 1)[0].rsplit("/", 1)
    version_url, claim = prepare_version(root, corpus, version)
    try:
        stats, taken, written = take_down(previous_url, version_url, located, reason, request)
        recipe = json.loads(storage.read_bytes(storage.join(previous_url, layout.MANIFEST)))["recipe"]
        manifest = with_cards(version_url, build_manifest(version_url, {**recipe, "version": None}, stats, written), stats)
        digest = publish(version_url, manifest, {**run_info, "version_url": version_url,
                                                 "takedown": {"previous": previous_url, "request": request,
                                                              "documents": len(taken)}})
    finally:
        claim.release()
    return version_url, digest, taken


def taken_in(version_url: str, request: str, version: str) -> list[str]:
    """The original hashes of the documents that takedown `request` (which made `version`) removed,
    as the version's removed/ records them: what replaying it takes down again."""
    folder = storage.join(version_url, "removed")
    return sorted({r["sha256"] for name in storage.list_dir(folder) for r in read_jsonl_zst(storage.join(folder, name))
                   if r["stage"] == STAGE and r.get("details", {}).get("request") == request
                   and r["details"].get("version") == version})


def _rewrite_part(previous_url: str, new_url: str, part: int, lines: set[int], tokenizer: dict[str, Any] | None,
                  details: dict[str, str]) -> tuple[list[Taken], dict[str, storage.Digest]]:
    """One part without the given lines: documents copied line by line as written (only the
    taken-down ones parsed), token rows cut out, removed/ gaining a record each; returns the
    documents taken down and the digest of each file written."""
    taken: list[Taken] = []
    documents = layout.documents_part(part)

    def kept() -> Iterator[bytes]:
        for line, raw in enumerate(read_lines_zst(storage.join(previous_url, documents))):
            if line in lines:
                doc = json.loads(raw)
                taken.append(Taken(doc["id"], doc["source"], doc["metadata"], part, line, len(doc["text"])))
            else:
                yield raw + b"\n"

    written = {documents: write_lines_zst(storage.join(new_url, documents), kept()).digest}
    if tokenizer is not None:
        rows = read_token_rows(storage.join(previous_url, layout.tokens_part(part, "csv.gz")))
        for doc in taken:
            start, end = rows[doc.line][:2]
            doc.tokens = end - start
        stream = STREAMS[tokenizer["formats"][0]]
        data = storage.read_bytes(storage.join(previous_url, token_file(part, stream)))
        tokens = np.frombuffer(data, dtype=np.dtype(tokenizer["dtype"]).newbyteorder("<"))
        rest = ((doc_id, source, sha, tokens[start:end]) for line, (start, end, doc_id, source, sha) in enumerate(rows)
                if line not in lines)
        written.update(write_token_shard(new_url, part, rest, tokenizer["vocab_size"], tokenizer["formats"],
                                         tokenizer["file"])["files"])
    removed = layout.removed_part(part)
    records = list(read_jsonl_zst(storage.join(previous_url, removed)))
    records += [{"id": d.id, "source": d.source, "sha256": d.metadata["sha256"], "stage": STAGE, "reason": REASON,
                 "details": {**details, "sha256_published": d.metadata["sha256_published"]}}
                for d in taken]
    removed_lines = (encode_line(r) for r in sorted(records, key=lambda r: r["id"]))
    written[removed] = write_lines_zst(storage.join(new_url, removed), removed_lines).digest
    return taken, written


def _add(node: dict[str, Any], path: tuple[str, ...], n: int) -> None:
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = node.get(path[-1], 0) + n


def _update_stats(stats: dict[str, Any], docs: list[Taken], tokenizer: dict[str, Any] | None) -> None:
    """stats.json minus what the taken-down documents contributed, plus their removed records."""
    for d in docs:
        for path, n in document_facts(d.source, d.metadata, d.tokens, d.characters):
            _add(stats, path, -n)
        _add(stats, ("counts", "removed", STAGE, REASON), 1)
        _add(stats, ("files", layout.documents_part(d.part), "documents"), -1)
        _add(stats, ("files", layout.removed_part(d.part), "documents"), 1)
        if tokenizer is not None:
            for fmt in tokenizer["formats"]:
                _add(stats, ("files", token_file(d.part, STREAMS[fmt]), "documents"), -1)
                _add(stats, ("files", token_file(d.part, STREAMS[fmt]), "tokens"), -(d.tokens or 0))
            _add(stats, ("files", layout.TOKEN_ORDER, "documents"), -1)
            _add(stats, ("files", layout.TOKEN_ORDER, "tokens"), -(d.tokens or 0))
    # A name whose every document went is gone, as a run without those documents would have it.
    documents = stats.get("documents", {})
    for mapping in (stats.get("licenses", {}), stats.get("pii", {}), *(stats.get("tokens", {}).get(k, {})
                    for k in ("by_source", "by_license", "by_license_category")),
                    *(documents.get(k, {}) for k in ("by_length", "by_language", "by_license_category"))):
        for name in [name for name, n in mapping.items() if n == 0]:
            del mapping[name]


def _write_order(new_url: str, stats: dict[str, Any], tokenizer: dict[str, Any], seed: int,
                 parts: int) -> storage.Digest:
    stream = STREAMS[tokenizer["formats"][0]]
    counts = [(p, stats["files"][token_file(p, stream)]["documents"],
               stats["files"][token_file(p, stream)]["tokens"]) for p in range(parts)]
    order = tokenizer["config"]["order"]
    return write_order(storage.join(new_url, layout.TOKEN_ORDER),
                       training_order(counts, order["unit"], order["window_tokens"], seed))


def _rewrite_index(previous_url: str, new_url: str, taken: list[Taken],
                   details: dict[str, str]) -> dict[str, storage.Digest]:
    """Every index shard again: the same entry count (a taken-down document's keys answer as removed),
    so shard prefixes stay and each shard is rewritten on its own; returns each file's digest."""
    meta = read_meta(previous_url)
    gone = {(d.part, d.line) for d in taken}
    shift: dict[int, list[int]] = {}
    for d in taken:
        shift.setdefault(d.part, []).append(d.line)
    added: dict[str, list[dict[str, Any]]] = {name: [] for name in INDEXES}
    for d in taken:
        for name, entry in _takedown_entries(d, details):
            added[name].append(entry)
    written: dict[str, storage.Digest] = {}
    for name in INDEXES:
        prefix = meta["indexes"][name]["prefix_hex"]
        for shard in shard_names(prefix):
            path = layout.index_shard(name, shard)
            entries = [e for e in (_moved(e, gone, shift) for e in read_jsonl_zst(storage.join(previous_url, path)))
                       if e is not None]
            entries += [e for e in added[name] if e["key"][:prefix] == shard]
            written[path] = write_shard(new_url, name, shard, entries)
    written[layout.INDEX_META] = storage.write_hashed(storage.join(new_url, layout.INDEX_META),
                                                      storage.read_bytes(storage.join(previous_url, layout.INDEX_META)))
    return written


def _moved(entry: dict[str, Any], gone: set[tuple[int, int]], shift: dict[int, list[int]]) -> dict[str, Any] | None:
    """An index entry as the new version has it: None for a taken-down document's own entry; a
    copy whose survivor was taken down, without the survivor; a line after taken-down ones, moved up."""
    if "part" not in entry:
        return entry
    place = (entry["part"], entry["line"])
    if place in gone:
        if "duplicate_of" not in entry:
            return None
        copy = entry["removed"]
        return {"key": entry["key"], "id": copy["id"], "source": copy["source"], "matched": ["original"],
                "removed": {k: copy[k] for k in ("id", "source", "stage", "reason")}}
    lines = shift.get(entry["part"])
    if lines:
        entry = {**entry, "line": entry["line"] - sum(1 for line in lines if line < entry["line"])}
    return entry


def _takedown_entries(d: Taken, details: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    removed = {"id": d.id, "source": d.source, "stage": STAGE, **details}
    matched: dict[str, list[str]] = {}
    for which, key in (("original", "sha256"), ("published", "sha256_published")):
        matched.setdefault(d.metadata[key], []).append(which)
    out = [(BY_SHA256, {"key": key, "id": d.id, "source": d.source, "matched": names, "removed": removed})
           for key, names in matched.items()]
    if d.metadata.get("url"):
        out.append((BY_URL, {"key": url_key(d.metadata["url"]), "id": d.id, "source": d.source, "matched": ["url"],
                             "removed": removed}))
    return out

