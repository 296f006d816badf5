"""fsspec helpers: every byte opencorpus reads or writes goes through these.

Ground floor, next to `document`: sources, formats and snapshot all store through it,
so any fsspec URL (local path, memory://, s3://, gs://) works everywhere.
"""

from __future__ import annotations

import posixpath
from typing import IO

import fsspec
from fsspec.core import url_to_fs


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


def expand(uri: str) -> list[str]:
    """The files a URI names: itself, every file below a folder, or a glob's matches; sorted."""
    fs, path = url_to_fs(uri)
    if fs.isdir(path):
        paths = [p for p in fs.find(path) if not fs.isdir(p)]
    elif any(ch in path for ch in "*?["):
        paths = [p for p in fs.glob(path) if not fs.isdir(p)]
    elif fs.exists(path):
        paths = [path]
    else:
        paths = []
    return sorted(fs.unstrip_protocol(p) if "://" in uri else p for p in paths)


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
