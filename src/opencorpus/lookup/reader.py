"""Answers from a snapshot's lookup index: one shard read per hash or URL."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from opencorpus import storage
from opencorpus.document import canonical_hash
from opencorpus.formats import layout
from opencorpus.formats.index import (
    BY_SHA256,
    BY_URL,
    TAKEDOWN,
    Entry,
    find,
    is_sha256,
    normalize_url,
    read_meta,
    url_key,
)
from opencorpus.snapshot.publish import published_versions

_URL = re.compile(r"https?://", re.IGNORECASE)


class BadQuery(ValueError):
    """A query that is neither a sha256, an existing file nor an http(s) URL that normalizes."""


def parse_query(query: str) -> tuple[str, str]:
    """("sha256", hex) or ("url", normalized url) for a CLI argument: an http(s) URL, a FILE
    (hashed canonically; invalid UTF-8 raises UnicodeDecodeError) or a sha256 (any case)."""
    if _URL.match(query):
        try:
            return "url", normalize_url(query)
        except ValueError as e:
            raise BadQuery(f"not a URL that can be looked up: {e}") from None
    try:
        is_file = storage.exists(query)
    except (ValueError, OSError):  # e.g. an unknown fsspec protocol: not a file
        is_file = False
    if is_file:
        return "sha256", canonical_hash(storage.read_bytes(query))
    if is_sha256(query.lower()):
        return "sha256", query.lower()
    why = "non-hex characters" if re.search(r"[^0-9a-fA-F]", query) else f"{len(query)} hex digits"
    raise BadQuery(f"{query!r} is not a sha256 (64 hex digits; got {why}), an existing file or an http(s) URL")


def _match(entry: Entry) -> dict[str, Any]:
    """An index entry as users see it (`evidence` for the license evidence)."""
    out = {k: v for k, v in entry.items() if k not in ("key", "license_evidence")}
    if "license_evidence" in entry:
        out["evidence"] = entry["license_evidence"]
    return out


class Lookup:
    """Read-only lookups in one snapshot version (already resolved, see snapshot.verify).

    Answers name the snapshot `label`, by default its URL; a server passes what its clients
    may see instead (its local disk path is the server's business).
    """

    def __init__(self, version_url: str, label: str | None = None):
        self.version_url = version_url
        self.label = label or version_url
        self.meta = read_meta(version_url)  # fails early when the snapshot has no index

    def by_sha256(self, sha256: str) -> dict[str, Any]:
        """Raises ValueError unless `sha256` is 64 lowercase hex digits (checked before any read)."""
        return self._answer({"sha256": sha256})

    def by_url(self, url: str) -> dict[str, Any]:
        return self._answer({"url": normalize_url(url)})

    def query(self, kind: str, value: str) -> dict[str, Any]:
        return self.by_url(value) if kind == "url" else self.by_sha256(value)

    def _entries(self, query: dict[str, str]) -> list[Entry]:
        if "url" in query:
            return find(self.version_url, self.meta, BY_URL, url_key(query["url"]))
        return find(self.version_url, self.meta, BY_SHA256, query["sha256"])

    def _answer(self, query: dict[str, str], older: bool = True) -> dict[str, Any]:
        """`found` when a published document matches; its fields on top, every match below.

        A hash whose document was removed without a survivor is not found, but the answer
        still says what was removed and why. One taken down (opencorpus takedown) says in which
        version and why, and which older versions still hold it (`older`: look for them).
        """
        matches = [_match(e) for e in self._entries(query)]
        published = [m for m in matches if "part" in m]
        answer: dict[str, Any] = {**query, "found": bool(published), "snapshot": self.label, "matches": matches}
        if published:
            first = published[0]
            answer.update({k: first[k] for k in ("id", "source", "license", "evidence")})
            if "duplicate_of" in first:
                answer["duplicate_of"] = first["duplicate_of"]
        taken = [m["removed"] for m in matches if m.get("removed", {}).get("stage") == TAKEDOWN]
        if taken and not published:
            answer["taken_down"] = {k: taken[0][k] for k in ("version", "reason", "request")}
            if older:
                answer["older_versions_with_it"] = self._older_versions_with(query)
        return answer

    def _older_versions_with(self, query: dict[str, str]) -> list[str]:
        """Labels of the versions before this one (same corpus root) in which the query finds a document."""
        corpus_url, current = self.version_url.rstrip("/").rsplit("/", 1)
        label_root = self.label.rstrip("/").rsplit("/", 1)[0]
        found = []
        for name in published_versions(corpus_url):
            if name == current:
                break
            older = Lookup(storage.join(corpus_url, name), f"{label_root}/{name}")
            if older._answer(query, older=False)["found"]:
                found.append(older.label)
        return found

    def snapshot_info(self) -> dict[str, Any]:
        """What is served: label, corpus, version, manifest digest, documents, index sizes."""
        data, manifest = read_manifest(self.version_url)
        return {"url": self.label, "corpus": manifest["corpus"], "version": manifest["version"],
                "date": manifest["date"], "digest": hashlib.sha256(data).hexdigest(),
                "documents": manifest["counts"]["output"],
                "index": {name: info["entries"] for name, info in self.meta["indexes"].items()}}


def read_manifest(version_url: str) -> tuple[bytes, dict[str, Any]]:
    """The manifest's bytes (for its digest) and its JSON."""
    data = storage.read_bytes(storage.join(version_url, layout.MANIFEST))
    return data, json.loads(data)
