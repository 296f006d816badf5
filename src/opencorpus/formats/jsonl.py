"""Deterministic JSON lines in zstd: sorted keys, compact separators, one fixed level, one thread."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Callable, Iterable, Iterator

import zstandard

from opencorpus import storage, streams

ZSTD_LEVEL = 9


def encode_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


@contextlib.contextmanager
def jsonl_zst_writer(url: str) -> Iterator[Callable[[dict[str, Any]], object]]:
    """A function that appends one record to `url`, written as one zstd frame when the block ends."""
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0, write_checksum=True)
    with storage.open_url(url, "wb") as raw, cctx.stream_writer(raw, closefd=False) as out:
        yield lambda record: out.write(encode_line(record))


def write_jsonl_zst(url: str, records: Iterable[dict[str, Any]]) -> int:
    """Write records as one zstd frame; returns how many. Same records -> same bytes."""
    count = 0
    with jsonl_zst_writer(url) as write:
        for record in records:
            write(record)
            count += 1
    return count


def read_jsonl_zst(url: str) -> Iterator[dict[str, Any]]:
    with storage.open_url(url, "rb") as f:
        for line in streams.iter_lines(f, "zstd"):
            if line:
                yield json.loads(line)
