"""Scratch files of a run: documents on their way from the readers to their part.

Written and read only by the run's own workers, under the run's scratch folder, and removed
when the run ends. A *frame* is one zstd frame of pickled records: Documents, or the tokenizer
sample's (key, text) pairs. Level 1: these files are written once and read once, so speed
matters more than size. A *run* file is frames back to
back, one per slice of the shard-key space (formats/documents.py), each in order_key order;
a reader fetches one frame by its offset and length, never the whole run.
"""

from __future__ import annotations

import heapq
import io
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import zstandard

from opencorpus import storage
from opencorpus.document import Document
from opencorpus.formats.documents import order_key

ZSTD_LEVEL = 1


@dataclass(frozen=True, order=True)
class FrameRef:
    """Where one frame lies: a file, a byte range of it, and how many documents it holds."""

    url: str
    offset: int
    length: int
    count: int


def pack(records: Iterable[Any]) -> tuple[bytes, int]:
    """One frame holding `records` in the order given, and how many there are."""
    buffer, count = io.BytesIO(), 0
    with zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(buffer, closefd=False) as out:
        for record in records:
            pickle.dump(record, out, protocol=pickle.HIGHEST_PROTOCOL)
            count += 1
    return buffer.getvalue(), count


def unpack(frame: bytes) -> Iterator[Any]:
    """The records of one frame, decompressed as they are read."""
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(frame)) as stream:
        reader = io.BufferedReader(stream)
        while reader.peek(1):
            yield pickle.load(reader)


def write_frames(url: str, groups: Iterable[Iterable[Any]]) -> list[FrameRef]:
    """Write one frame per group into one file; the refs of the non-empty ones, in order."""
    refs, offset = [], 0
    with storage.open_url(url, "wb") as out:
        for group in groups:
            data, count = pack(group)
            if count:
                out.write(data)
                refs.append(FrameRef(url, offset, len(data), count))
                offset += len(data)
    return refs


def read_frame(ref: FrameRef) -> Iterator[Any]:
    return unpack(storage.read_range(ref.url, ref.offset, ref.length))


def read_merged(frames: Iterable[FrameRef]) -> Iterator[Document]:
    """The documents of several frames, each in order_key order, as one ordered stream: memory
    holds the compressed frames and one document of each, never all of them."""
    return heapq.merge(*(read_frame(f) for f in sorted(frames)), key=lambda d: (order_key(d.id), d.location))
