"""What changed between two snapshot versions: documents added, removed and changed, and why.

Documents are compared by id and published sha256. Both versions keep their documents in one
global order — parts are ranges of the shard-key space, each in (shard key, id) order
(formats/documents.py) — so the two are merged as streams: memory holds the differences, never
a version's documents. A removed document's reason comes from the newer version's `removed/`
(a filter, dedup, or a takedown); token deltas from the two versions' stats.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.documents import order_key
from opencorpus.formats.jsonl import read_jsonl_zst


@dataclass(frozen=True)
class Entry:
    """One published document as diff sees it (no text)."""

    id: str
    source: str
    sha256: str  # of the published text
    license: str


@dataclass
class SnapshotDiff:
    a: str
    b: str
    documents: dict[str, int] = field(default_factory=dict)
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)  # each with `reason` (stage/reason) or None
    changed: list[dict[str, Any]] = field(default_factory=list)
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    by_license: dict[str, dict[str, int]] = field(default_factory=dict)
    removed_by_reason: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def entries(version_url: str) -> Iterator[Entry]:
    """The version's published documents in (shard key, id) order, as Entries."""
    folder = storage.join(version_url, "documents")
    for name in storage.list_dir(folder):
        if name.endswith(".jsonl.zst"):
            for record in read_jsonl_zst(storage.join(folder, name)):
                meta = record.get("metadata") or {}
                yield Entry(record["id"], record["source"], meta.get("sha256_published") or meta.get("sha256", ""),
                            meta.get("license", "NOASSERTION"))


def diff_versions(a_url: str, b_url: str) -> SnapshotDiff:
    """A diff of version B against version A (two version URLs)."""
    result = SnapshotDiff(a=a_url, b=b_url)
    same = 0
    tagged = heapq.merge(((order_key(e.id), 0, e) for e in entries(a_url)),
                         ((order_key(e.id), 1, e) for e in entries(b_url)), key=lambda t: (t[0], t[1]))
    for _, group in itertools.groupby(tagged, key=lambda t: t[0]):
        pairs = list(group)
        olds = [e for _, side, e in pairs if side == 0]
        news = [e for _, side, e in pairs if side == 1]
        same += _compare(olds, news, result)
    _removal_reasons(b_url, result)
    _tally(result, same)
    result.tokens = _token_deltas(a_url, b_url)
    return result


def _compare(olds: list[Entry], news: list[Entry], result: SnapshotDiff) -> int:
    """Record the differences among the documents of one id; returns how many are unchanged."""
    unmatched_new = list(news)
    unmatched_old = []
    for old in olds:
        twin = next((n for n in unmatched_new if n.sha256 == old.sha256), None)
        if twin is None:
            unmatched_old.append(old)
        else:
            unmatched_new.remove(twin)
    for old, new in zip(unmatched_old, unmatched_new):
        result.changed.append({"id": new.id, "source": new.source, "sha256_a": old.sha256, "sha256_b": new.sha256,
                               "license_a": old.license, "license_b": new.license})
    paired = min(len(unmatched_old), len(unmatched_new))
    result.removed.extend({**asdict(e), "reason": None} for e in unmatched_old[paired:])
    result.added.extend(asdict(e) for e in unmatched_new[paired:])
    return len(olds) - len(unmatched_old)


def _removal_reasons(b_url: str, result: SnapshotDiff) -> None:
    """Fill each removed document's reason from B's removed/ (stage/reason); None when B never saw it."""
    wanted = {(r["id"], r["sha256"]) for r in result.removed}
    if not wanted:
        return
    # removed/ records the hash of the text the stage saw (before PII), the documents the published
    # one: the id decides, and the hash only when one id was removed twice.
    exact: dict[tuple[str, str], str] = {}
    by_id: dict[str, str] = {}
    folder = storage.join(b_url, "removed")
    ids = {i for i, _ in wanted}
    for name in storage.list_dir(folder):
        for record in read_jsonl_zst(storage.join(folder, name)):
            if record["id"] in ids:
                reason = f"{record['stage']}/{record['reason']}"
                exact.setdefault((record["id"], record["sha256"]), reason)
                by_id.setdefault(record["id"], reason)
    for r in result.removed:
        r["reason"] = exact.get((r["id"], r["sha256"])) or by_id.get(r["id"])


def _tally(result: SnapshotDiff, same: int) -> None:
    result.documents = {"added": len(result.added), "removed": len(result.removed), "changed": len(result.changed),
                        "unchanged": same}
    for kind, rows, license_key in (("added", result.added, "license"), ("removed", result.removed, "license"),
                                    ("changed", result.changed, "license_b")):
        for row in rows:
            source = result.by_source.setdefault(row["source"], {"added": 0, "removed": 0, "changed": 0})
            source[kind] += 1
            license = result.by_license.setdefault(row[license_key], {"added": 0, "removed": 0, "changed": 0})
            license[kind] += 1
    reasons = Counter(r["reason"] or "not in B's input" for r in result.removed)
    result.removed_by_reason = dict(sorted(reasons.items()))


def _token_deltas(a_url: str, b_url: str) -> dict[str, Any]:
    """Total tokens of each version and B - A, in total, by source and by license (from stats.json)."""
    a, b = (json.loads(storage.read_bytes(storage.join(u, layout.STATS))).get("tokens") for u in (a_url, b_url))
    if a is None or b is None:
        return {}
    out: dict[str, Any] = {"a": a["total"], "b": b["total"], "delta": b["total"] - a["total"]}
    for key in ("by_source", "by_license"):
        names = sorted(set(a.get(key, {})) | set(b.get(key, {})))
        deltas = {n: b.get(key, {}).get(n, 0) - a.get(key, {}).get(n, 0) for n in names}
        out[key] = {n: d for n, d in deltas.items() if d}
    return out
