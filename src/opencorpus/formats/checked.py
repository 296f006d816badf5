"""Checked files: JSON lines in zstd, with a last line that proves the rest whole.

The run cache (opencorpus/cache/) keeps its entries in this form. The last line is
`{"checked": {"sha256": H, "records": N}}`, H the sha256 of every byte before it (after
decompression). A file cut short, with a flipped byte, or written by another format has no such
line or a wrong one, and `read_checked` raises CorruptFileError before yielding a record: a
cache entry is used whole or not at all.

Files appear whole or not at all (storage.open_atomic): a writer killed midway leaves at most
a temporary file that no reader opens.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import zstandard

from opencorpus import storage

ZSTD_LEVEL = 3
_TRAILER = "checked"


class CorruptFileError(ValueError):
    """A checked file that is not whole: cut short, changed, or not a checked file at all."""


def _line(record: Any) -> bytes:
    # surrogatepass: a text may hold lone surrogates (documents keep what they were given).
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass") + b"\n"


@contextlib.contextmanager
def checked_writer(url: str) -> Iterator[Callable[[Any], None]]:
    """A function that adds one record (a JSON value) to a checked file at `url`. The file
    appears when the block ends, and not at all when it fails."""
    digest, count = hashlib.sha256(), 0

    def write(record: Any) -> None:
        nonlocal count
        line = _line(record)
        digest.update(line)
        out.write(line)
        count += 1

    with storage.open_atomic(url) as raw, zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw, closefd=False) as out:
        yield write
        out.write(_line({_TRAILER: {"sha256": digest.hexdigest(), "records": count}}))


def read_checked(url: str) -> Iterator[Any]:
    """The records of a checked file, once a first pass has proved it whole.

    Raises CorruptFileError (naming the file) when it is not, FileNotFoundError when it is
    absent, both before returning. Two passes keep memory at one line: nothing is read from a
    file that turns out bad.
    """
    return _records(url, _verify(url))


def _records(url: str, count: int) -> Iterator[Any]:
    with _lines(url) as lines:
        for _, line in zip(range(count), lines):
            yield json.loads(line.decode("utf-8", "surrogatepass"))


def _verify(url: str) -> int:
    digest, previous = hashlib.sha256(), None
    try:
        with _lines(url) as lines:
            for line in lines:
                if previous is not None:
                    digest.update(previous)
                previous = line
    except zstandard.ZstdError as e:
        raise CorruptFileError(f"{url}: not a whole zstd stream ({e})") from None
    try:
        trailer = json.loads(previous or b"null")[_TRAILER]
        sha256, count = trailer["sha256"], trailer["records"]
    except (ValueError, TypeError, KeyError):
        raise CorruptFileError(f"{url}: no checksum line at the end (cut short?)") from None
    if sha256 != digest.hexdigest():
        raise CorruptFileError(f"{url}: checksum mismatch")
    return int(count)


@contextlib.contextmanager
def _lines(url: str) -> Iterator[Iterator[bytes]]:
    """The decompressed lines of a file, one at a time."""
    with storage.open_url(url, "rb") as f:
        yield iter(io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)))
