"""fsspec helpers: every byte opencorpus reads or writes goes through these.

Ground floor, next to `document`: sources, formats and snapshot all store through it,
so any fsspec URL (local path, memory://, s3://, gs://) works everywhere.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import sys
import zlib
from typing import IO, Iterator, NamedTuple

import fsspec
import zstandard
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

_CHUNK = 1 << 20


def join(base: str, *parts: str) -> str:
    """Join URL path segments with '/', keeping the protocol of `base`."""
    if "://" in base:
        protocol, path = base.split("://", 1)
        return f"{protocol}://{posixpath.join(path, *parts)}"
    return posixpath.join(base, *parts)


def is_absolute(url: str) -> bool:
    return "://" in url or url.startswith("/")


def open_url(url: str, mode: str = "rb") -> IO:
    """Open a URL; parent folders are created when writing."""
    if "w" in mode:
        fs, path = url_to_fs(url)
        parent = posixpath.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
    return fsspec.open(url, mode).open()


def read_bytes(url: str) -> bytes:
    with open_url(url, "rb") as f:
        return f.read()


def write_bytes(url: str, data: bytes) -> None:
    with open_url(url, "wb") as f:
        f.write(data)


def exists(url: str) -> bool:
    fs, path = url_to_fs(url)
    return fs.exists(path)


class Match(NamedTuple):
    """One file a URI names."""

    url: str
    relative: str  # its path below the root: a text tree's document id
    root: str  # the folder the URI names, or the file itself: where the file must really be


def expand(uri: str) -> list[Match]:
    """The files a URI names, sorted, each with its path relative to the URI's root.

    A folder names every file below it (root: the folder); a glob its matches (root: the
    part before the first wildcard); a file itself (relative path: its name).
    """
    fs, path = url_to_fs(uri)
    if fs.isdir(path):
        root, paths = path, [p for p in fs.find(path) if not fs.isdir(p)]
    elif any(ch in path for ch in "*?["):
        root = path[: min(path.index(ch) for ch in "*?[" if ch in path)].rsplit("/", 1)[0]
        paths = [p for p in fs.glob(path) if not fs.isdir(p)]
    elif fs.exists(path):  # named itself, so it may be a symlink to anywhere
        return [Match(_full(fs, uri, path), posixpath.basename(path), _full(fs, uri, path))]
    else:
        return []
    return sorted(Match(_full(fs, uri, p), posixpath.relpath(p, root), _full(fs, uri, root)) for p in paths)


def _full(fs: fsspec.AbstractFileSystem, uri: str, path: str) -> str:
    """`path` as a URL of the same kind as `uri`: with its protocol unless a local path."""
    return fs.unstrip_protocol(path) if "://" in uri else path


def input_refusal(url: str, root: str) -> tuple[str, str] | None:
    """Why an input file must not be read, as (reason, detail), or None when it may be.

    Its real path must be inside the real path of the root its URI named: a symlink or a `..`
    in a glob may point anywhere (a credentials file). It must be a regular file: reading a
    FIFO waits forever, a device may never end. Only local files are checked: object stores
    have neither symlinks nor special files.
    """
    fs, path = url_to_fs(url)
    if not isinstance(fs, LocalFileSystem):
        return None
    try:
        real = os.path.realpath(path, strict=True)
        mode = os.stat(real).st_mode
    except OSError as e:  # a dangling symlink, a symlink loop
        return "unreadable", f"cannot resolve the path: {e.strerror or e}"
    real_root = os.path.realpath(url_to_fs(root)[1])
    if real != real_root and not real.startswith(real_root.rstrip("/") + "/"):
        return "outside-root", "a symlink to a file outside the folder the source names; not read"
    if not stat.S_ISREG(mode):
        return "not-a-regular-file", f"a {_file_kind(mode)}, not a regular file; not read"
    return None


def _file_kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISCHR: "character device", stat.S_ISBLK: "block device",
             stat.S_ISSOCK: "socket", stat.S_ISDIR: "folder"}
    return next((name for test, name in kinds.items() if test(mode)), "special file")


def write_atomic(url: str, data: bytes) -> None:
    """Write so that readers see the whole file or none of it.

    Local files are written aside and renamed (atomic on POSIX); object stores have no
    atomic rename (mv is copy + delete), but one PUT appears whole or not at all.
    """
    fs, path = url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        write_bytes(url + ".tmp", data)
        fs.mv(path + ".tmp", path)
    else:
        write_bytes(url, data)


def list_dir(url: str) -> list[str]:
    """Names of the entries directly inside a folder (none when it does not exist), sorted."""
    fs, path = url_to_fs(url)
    if not fs.isdir(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


def file_digest(url: str) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in chunks so large files never sit in memory."""
    h = hashlib.sha256()
    size = 0
    with open_url(url, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def read_range(url: str, offset: int, length: int) -> bytes:
    """`length` bytes of a file from `offset` (one ranged GET on object stores)."""
    fs, path = url_to_fs(url)
    return bytes(fs.cat_file(path, start=offset, end=offset + length))


def size(url: str) -> int:
    fs, path = url_to_fs(url)
    return int(fs.size(path))


def input_size(url: str) -> int:
    """An input file's size for planning, 0 when it has none: a dangling symlink or a symlink
    loop fails to stat, and its reader makes it a dead letter (see input_refusal)."""
    try:
        return size(url)
    except OSError:
        return 0


def list_files(root: str) -> list[str]:
    """Every file below `root`, as paths relative to it, sorted."""
    fs, path = url_to_fs(root)
    if not fs.exists(path):
        return []
    base = path.rstrip("/") + "/"
    return sorted(p[len(base):] for p in fs.find(path) if p.startswith(base))


def remove_tree(url: str) -> None:
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


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


def is_dir(url: str) -> bool:
    fs, path = url_to_fs(url)
    return bool(fs.isdir(path))
