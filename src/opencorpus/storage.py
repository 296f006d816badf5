"""fsspec helpers: every byte opencorpus reads or writes goes through these.

Ground floor, next to `document`: sources, formats and snapshot all store through it,
so any fsspec URL (local path, memory://, s3://, gs://) works everywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
from typing import IO, Iterator

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


def expand(uri: str) -> list[tuple[str, str]]:
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
    elif fs.exists(path):
        root, paths = posixpath.dirname(path), [path]
    else:
        return []
    remote = "://" in uri
    return sorted((fs.unstrip_protocol(p) if remote else p, posixpath.relpath(p, root)) for p in paths)


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


class TruncatedStream(IOError):
    """A compressed stream that ends before its end-of-frame marker."""




def iter_decompressed(fileobj: IO[bytes], compression: str | None) -> Iterator[bytes]:
    """Decompressed chunks of a stream; a truncated stream raises TruncatedStream.

    zstandard's stream_reader stops silently at a truncated frame, so frames are
    decoded one by one here and an unfinished last frame is an error.
    """
    if compression is None:
        while chunk := fileobj.read(_CHUNK):
            yield chunk
    elif compression == "gzip":
        with gzip.GzipFile(fileobj=fileobj) as gz:
            try:
                while chunk := gz.read(_CHUNK):
                    yield chunk
            except EOFError as e:
                raise TruncatedStream(f"gzip stream ends early: {e}") from None
    elif compression == "zstd":
        dctx = zstandard.ZstdDecompressor()
        dobj, fed = dctx.decompressobj(), False
        while data := fileobj.read(_CHUNK):
            while data:
                out = dobj.decompress(data)
                fed = True
                if out:
                    yield out
                data = dobj.unused_data if dobj.eof else b""
                if dobj.eof:
                    dobj, fed = dctx.decompressobj(), False
        if fed and not dobj.eof:
            raise TruncatedStream("zstd stream ends in the middle of a frame (truncated file?)")
    else:
        raise ValueError(f"unknown compression {compression!r}")


def iter_lines(fileobj: IO[bytes], compression: str | None) -> Iterator[bytes]:
    """Lines (without the newline) of a possibly compressed stream."""
    pending = b""
    for chunk in iter_decompressed(fileobj, compression):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending
