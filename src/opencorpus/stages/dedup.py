"""Exact deduplication, and what both dedup stages hand on: keys and verdicts, never text.

A document is known to dedup by its `Member` (node, id, source, hashes, license); the stages
decide on members and say what becomes of a document in `Verdict`s, which reach the document
where it waits on scratch storage (beam/slices.py). Exact duplicates share a canonical hash:
the survivor is the smallest id (never arrival order), and it lists the copies removed in its
favour, so their sources and licenses stay disclosed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from opencorpus.document import Document, Removed

STAGE = "dedup"
REASON = "exact-duplicate"
# A document the previous version already published (an incremental run reads it again).
ALREADY_PUBLISHED = "already-published"
# The order in which the stages' `duplicates` entries are listed on a survivor.
EXACT_RANK, NEAR_RANK = 0, 1


# A document's identity in dedup: its hash, id and where it was read (two records with the
# same id and text are still two documents); the smallest node has the smallest hash.
Node = tuple[str, str, str]


def doc_node(doc: Document) -> Node:
    return doc.metadata["sha256"], doc.id, doc.location


@dataclass(frozen=True)
class Member:
    """What choosing a survivor needs of a document (no text)."""

    node: Node
    id: str
    source: str
    sha256: str
    license: str | None = None
    license_category: str | None = None  # the policy's (stages/licenses/policy.py): what most-permissive-license ranks
    duplicates: tuple = field(default=())
    carried: bool = False  # published by the previous version: it survives, and its record stays as it was

    @classmethod
    def of(cls, doc: Document) -> Member:
        return cls(node=doc_node(doc), id=doc.id, source=doc.source, sha256=doc.metadata["sha256"],
                   license=doc.metadata.get("license"), license_category=doc.metadata.get("license_category"),
                   duplicates=tuple(doc.metadata.get("duplicates", ())),
                   carried=doc.carried)


@dataclass(frozen=True)
class Verdict:
    """What a dedup stage decided for one document: removed (`duplicates` None), or kept with
    entries for the copies removed in its favour."""

    node: Node
    id: str
    rank: int
    duplicates: tuple | None


def resolve_exact_duplicates(members: Iterable[Member]) -> tuple[Member, list[Verdict], list[Removed]]:
    """All members sharing one canonical hash -> (survivor with its copies listed, verdicts, removed).

    A document the previous version published (an incremental run) survives, and its record is
    left as published: the copies are removed as `already-published`, not listed on it.
    """
    ordered = sorted(members, key=lambda m: (not m.carried, m.id, m.node))
    survivor, copies = ordered[0], ordered[1:]
    if not copies:
        return survivor, [], []
    if survivor.carried:
        verdicts = [Verdict(c.node, c.id, EXACT_RANK, None) for c in copies]
        return survivor, verdicts, [Removed(id=c.id, source=c.source, sha256=c.sha256, stage=STAGE,
                                            reason=ALREADY_PUBLISHED, details={"duplicate_of": survivor.id})
                                    for c in copies]
    entries = tuple({"id": c.id, "source": c.source, "license": c.license} for c in copies)
    survivor = dataclasses.replace(survivor, duplicates=entries)
    verdicts = [Verdict(survivor.node, survivor.id, EXACT_RANK, entries)]
    verdicts += [Verdict(c.node, c.id, EXACT_RANK, None) for c in copies]
    removed = [Removed(id=c.id, source=c.source, sha256=c.sha256, stage=STAGE, reason=REASON,
                       details={"duplicate_of": survivor.id}) for c in copies]
    return survivor, verdicts, removed


def apply_verdicts(doc: Document, verdicts: Iterable[Verdict]) -> Document | None:
    """The document with every `duplicates` entry the verdicts give it (a new Document: the one
    given may come out of a GroupByKey, which Beam forbids changing), or None if one removes it."""
    ranked = sorted(verdicts, key=lambda v: v.rank)
    if any(v.duplicates is None for v in ranked):
        return None
    entries = [dict(e) for v in ranked for e in v.duplicates or ()]
    if not entries:
        return doc
    return dataclasses.replace(doc, metadata={**doc.metadata,
                                              "duplicates": list(doc.metadata.get("duplicates", [])) + entries})
