"""Compressed streams read in bounded steps, and their lines, without holding more than a cap.

A few kilobytes of zstd or gzip can expand to gigabytes, and one line can be all of them: every
step here decompresses a bounded slice of input, and a line longer than the cap is counted to its
end, never held. Damage is a StreamError whose `reason` names it for a dead letter.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Iterator
from typing import IO, NamedTuple

import zstandard

_CHUNK = 1 << 20


class StreamError(IOError):
    """A stream that cannot be read to its end. `reason` names the kind for a dead letter;
    `line` is the number of the line it cut, set by `numbered_lines`."""

    reason = "unreadable"
    line = 0


class TruncatedStream(StreamError):
    """A compressed stream that ends before its end-of-frame marker."""

    reason = "truncated"


class CorruptStream(StreamError):
    """Bytes that do not decompress: not the format the file's name says, or damaged."""

    reason = "corrupt"


# Compressed bytes per decompress call, so that one call yields at most 16 MiB however dense the
# input: zstd's densest block (RLE, 4 bytes for 128 KiB) expands 32768-fold and its
# decompressobj has no output cap; deflate expands at most ~1032-fold.
_FEED = {"zstd": 512, "gzip": 16 << 10}


def iter_decompressed(fileobj: IO[bytes], compression: str | None) -> Iterator[bytes]:
    """Decompressed chunks of a stream, each at most 16 MiB whatever the compression ratio.

    Raises TruncatedStream for a stream that stops inside a frame (zstandard's stream_reader
    would stop silently, hence frames decoded one by one here) and CorruptStream, naming the
    compressed byte offset, for bytes that do not decompress.
    """
    if compression is None:
        while chunk := fileobj.read(_CHUNK):
            yield chunk
    elif compression in ("gzip", "zstd"):
        yield from _inflate(fileobj, compression)
    else:
        raise ValueError(f"unknown compression {compression!r}")


def _decompressor(compression: str) -> zlib._Decompress | zstandard.ZstdDecompressionObj:
    if compression == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and CRC, one member
    return zstandard.ZstdDecompressor().decompressobj()  # one frame


def _inflate(fileobj: IO[bytes], compression: str) -> Iterator[bytes]:
    """Frames (zstd) or members (gzip) one after the other, fed _FEED bytes at a time."""
    dobj, fed, ended, offset, feed = _decompressor(compression), False, False, 0, _FEED[compression]
    while data := fileobj.read(_CHUNK):
        for start in range(0, len(data), feed):
            piece = data[start:start + feed]
            while piece:
                if compression == "gzip" and ended and not fed:
                    piece = piece.lstrip(b"\x00")  # zero padding after a member, as gzip allows
                    if not piece:
                        break
                try:
                    out = dobj.decompress(piece)
                except (zlib.error, zstandard.ZstdError) as e:
                    raise CorruptStream(f"corrupt {compression} data near compressed byte {offset + start}: {e}") from None
                fed = True
                if out:
                    yield out
                piece = dobj.unused_data if dobj.eof else b""
                if dobj.eof:
                    dobj, fed, ended = _decompressor(compression), False, True
        offset += len(data)
    if fed:
        raise TruncatedStream(f"{compression} stream ends in the middle of a frame (truncated file?)")


# A run of what bytes.strip() removes: a line of these alone is blank.
_BLANK = re.compile(rb"[ \t\n\r\x0b\x0c]*")


class Line(NamedTuple):
    """A non-blank line of a stream, without its newline."""

    number: int  # 1-based, blank lines counted
    data: bytes  # empty when the line was longer than the cap: it was only counted
    size: int  # its length in bytes

    @property
    def too_large(self) -> bool:
        return len(self.data) < self.size


def numbered_lines(fileobj: IO[bytes], compression: str | None, max_bytes: int) -> Iterator[Line]:
    """The non-blank lines of a possibly compressed stream, never holding more than max_bytes of one.

    A longer line is read to its end, only counted, and comes out with empty `data`; runs of
    blank lines are skipped at C speed, so a gigabyte of newlines costs neither memory nor time.
    A StreamError carries in `line` the number of the line it cut.
    """
    number, size, blank = 1, 0, True
    held: list[bytes] = []  # the pieces of the current line, while it fits

    def hold(chunk: bytes, start: int, end: int) -> None:
        nonlocal size
        size += end - start
        if size <= max_bytes:
            held.append(chunk[start:end])
        else:
            held.clear()

    def line() -> Line:
        return Line(number, b"".join(held) if size <= max_bytes else b"", size)

    try:
        for chunk in iter_decompressed(fileobj, compression):
            pos = 0
            while pos < len(chunk):
                if blank:  # only whitespace so far: jump over the run of it
                    run = _BLANK.match(chunk, pos)
                    stop = run.end() if run else pos  # (`*` always matches)
                    if newlines := chunk.count(b"\n", pos, stop):
                        number += newlines
                        held.clear()
                        size, pos = 0, chunk.rfind(b"\n", pos, stop) + 1
                    hold(chunk, pos, stop)
                    if stop == len(chunk):
                        break
                    pos, blank = stop, False
                newline = chunk.find(b"\n", pos)
                hold(chunk, pos, len(chunk) if newline < 0 else newline)
                if newline < 0:
                    break
                yield line()
                number, size, blank, pos = number + 1, 0, True, newline + 1
                held.clear()
    except StreamError as e:
        e.line = number
        raise
    if not blank:
        yield line()


def iter_lines(fileobj: IO[bytes], compression: str | None) -> Iterator[bytes]:
    """The non-blank lines (without the newline) of a stream this project wrote: no cap."""
    return (line.data for line in numbered_lines(fileobj, compression, sys.maxsize))
