"""Exact deduplication: documents with the same canonical hash keep one survivor.

The survivor is the smallest id (never arrival order), and it lists the copies that were
removed in its favour, so their sources and licenses stay disclosed.
"""

from __future__ import annotations

from typing import Iterable

from opencorpus.document import Document, Removed

STAGE = "dedup"
REASON = "exact-duplicate"


def resolve_exact_duplicates(docs: Iterable[Document]) -> tuple[Document, list[Removed]]:
    """Given all documents sharing one canonical hash: (survivor, the removed copies)."""
    ordered = sorted(docs, key=lambda d: d.id)
    survivor, copies = ordered[0], ordered[1:]
    if not copies:
        return survivor, []
    survivor.metadata["duplicates"] = [
        {"id": c.id, "source": c.source, "license": c.metadata.get("license")} for c in copies
    ]
    removed = [
        Removed(id=c.id, source=c.source, sha256=c.metadata["sha256"], stage=STAGE, reason=REASON,
                details={"duplicate_of": survivor.id})
        for c in copies
    ]
    return survivor, removed
