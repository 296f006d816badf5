"""Document shards: Dolma-compatible JSON lines, sorted by id, in documents/part-NNNNN.jsonl.zst."""

from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

from opencorpus.document import Document
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst, write_jsonl_zst
from opencorpus import storage


def shard_of(doc_id: str, shards: int) -> int:
    """DESIGN.md: first 8 bytes of sha256(id), big-endian, mod the shard count."""
    return int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") % shards


def shards_for_bytes(total_bytes: int, shard_bytes: int) -> int:
    """How many shards a target shard size asks for (at least one)."""
    return max(1, -(-total_bytes // shard_bytes))


def write_documents(version_url: str, part: int, docs: Iterable[Document]) -> int:
    """Write one documents part; `docs` must already be sorted by id."""
    return write_jsonl_zst(storage.join(version_url, layout.documents_part(part)), (d.to_dolma() for d in docs))


def read_documents(version_url: str, part: int) -> Iterator[dict]:
    return read_jsonl_zst(storage.join(version_url, layout.documents_part(part)))
