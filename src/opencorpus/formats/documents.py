"""Document shards: Dolma-compatible JSON lines in documents/part-NNNNN.jsonl.zst.

A document's shard key is the first 8 bytes of sha256(id), big-endian. Part i of n holds the
documents whose key lies in the i-th of n equal ranges of the key space, in order of (key, id).
Ranges rather than a modulus let the run cut the key space into finer slices that each fall in
one or two parts (beam/slices.py), so documents reach their part without a shuffle of text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from opencorpus import storage
from opencorpus.document import Document
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst, write_jsonl_zst


def shard_key(doc_id: str) -> int:
    """The first 8 bytes of sha256(id), big-endian (docs/ARCHITECTURE.md "Determinism")."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big")


def range_of(key: int, ranges: int) -> int:
    """Which of `ranges` equal ranges of the key space holds `key`."""
    return key * ranges >> 64


def shard_of(doc_id: str, shards: int) -> int:
    return range_of(shard_key(doc_id), shards)


def order_key(doc_id: str) -> tuple[int, str]:
    """A document's place inside its part (and inside every scratch file on the way there)."""
    return shard_key(doc_id), doc_id


def shards_for_bytes(total_bytes: int, shard_bytes: int) -> int:
    """How many shards a target shard size asks for (at least one)."""
    return max(1, -(-total_bytes // shard_bytes))


def write_documents(version_url: str, part: int, docs: Iterable[Document]) -> int:
    """Write one documents part; `docs` must already be in order_key order."""
    return write_jsonl_zst(storage.join(version_url, layout.documents_part(part)), (d.to_dolma() for d in docs))


def read_documents(version_url: str, part: int) -> Iterator[dict]:
    return read_jsonl_zst(storage.join(version_url, layout.documents_part(part)))
