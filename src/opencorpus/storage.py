"""fsspec helpers: every byte opencorpus reads or writes goes through these.

Ground floor, next to `document`: sources, formats and snapshot all store through it,
so any fsspec URL (local path, memory://, s3://, gs://) works everywhere.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import posixpath
import re
import stat
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple, TypeVar

import fsspec
from fsspec.core import url_to_fs as _fsspec_url_to_fs
from fsspec.implementations.local import LocalFileSystem

_CHUNK = 1 << 20
_T = TypeVar("_T")

# fsspec protocols of object stores: buckets, no real folders, no atomic rename, and listings
# that other processes (a run's workers) change while this one holds a filesystem object.
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss"})
# Object stores whose fsspec client makes mode "xb" a create that the store itself refuses when
# the object exists (s3fs: a PUT with If-None-Match: *).
EXCLUSIVE_CREATE = frozenset({"s3", "s3a"})
# The reachability check (check_reachable) waits at most this long, in seconds, for a connection
# and for an answer, and makes one attempt: a wrong endpoint fails in seconds, not after retries.
PROBE_TIMEOUT = 5


class StoreError(OSError):
    """An object store that cannot be used: unreachable, refusing the credentials, or without the
    bucket. One line naming the URL (and the endpoint tried), never a credential."""


def protocol_of(url: str) -> str | None:
    """The fsspec protocol of a URL, None for a local path."""
    return url.split("://", 1)[0].lower() if "://" in url else None


def is_object_store(url: str) -> bool:
    return protocol_of(url) in OBJECT_STORES


def check_protocol(url: str) -> None:
    """Raise ValueError for an unknown protocol, ImportError when its filesystem is not installed;
    touches nothing (a dry run's check of an output it must not reach)."""
    fsspec.get_filesystem_class(protocol_of(url) or "file")


def url_to_fs(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """fsspec's url_to_fs; on object stores without the listings cache, so that a listing or an
    existence check always sees what other processes wrote (fsspec would otherwise answer from
    a listing it made earlier, before the run's workers wrote their files)."""
    if is_object_store(url):
        return _fsspec_url_to_fs(url, use_listings_cache=False)
    return _fsspec_url_to_fs(url)


def _store_exceptions() -> tuple[type[BaseException], ...]:
    """Exceptions of object-store clients that are not OSError (botocore's and aiohttp's are
    not), among those already imported: nothing is imported for this."""
    found: list[type[BaseException]] = []
    if "botocore.exceptions" in sys.modules:
        found += [sys.modules["botocore.exceptions"].BotoCoreError, sys.modules["botocore.exceptions"].ClientError]
    if "aiohttp" in sys.modules:
        found.append(sys.modules["aiohttp"].ClientError)
    if "google.auth.exceptions" in sys.modules:
        found.append(sys.modules["google.auth.exceptions"].GoogleAuthError)
    return tuple(found)


def _store_errors(func: Callable[..., _T]) -> Callable[..., _T]:
    """Raise an object-store client's own exceptions as StoreError naming the URL (the first
    argument), so that callers catch OSError alone."""

    @functools.wraps(func)
    def wrapper(url: str, *args: Any, **kwargs: Any) -> _T:
        try:
            return func(url, *args, **kwargs)
        except StoreError:
            raise
        except Exception as e:
            if isinstance(e, _store_exceptions()):
                raise StoreError(f"{url}: {_describe_store_error(e)}") from e
            raise

    return wrapper


def _describe_store_error(e: BaseException) -> str:
    """One line for an object-store client's exception (botocore's name the request URL, not a
    credential; the query string is dropped)."""
    name = type(e).__name__
    if name == "NoCredentialsError":
        return ("no credentials for the object store (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE)")
    if name in ("EndpointConnectionError", "ConnectionClosedError"):
        return f"cannot connect to the object store at {_origin(getattr(e, 'kwargs', {}).get('endpoint_url'))}"
    if name in ("ConnectTimeoutError", "ReadTimeoutError"):
        return f"the object store at {_origin(getattr(e, 'kwargs', {}).get('endpoint_url'))} did not answer in time"
    text = " ".join(str(e).split()) or name
    return f"object store error: {name}: {text[:300]}"


def _origin(url: object) -> str:
    """scheme://host[:port] of a URL, without userinfo, path or query; "its endpoint" when none."""
    match = re.match(r"([a-z][a-z0-9+.-]*://)(?:[^/@]*@)?([^/?#]*)", str(url or ""), re.IGNORECASE)
    return match.group(1) + match.group(2) if match else "its endpoint"


def join(base: str, *parts: str) -> str:
    """Join URL path segments with '/', keeping the protocol of `base`.

    In a URL, '.' and '..' segments are resolved here (a recipe on s3:// naming `../data`):
    object stores take them for part of a key. Local paths keep them, for the OS to resolve
    (through symlinks).
    """
    if "://" in base:
        protocol, path = base.split("://", 1)
        joined = posixpath.join(path, *parts)
        if any(segment in (".", "..") for segment in joined.split("/")):
            joined = posixpath.normpath(joined)
        return f"{protocol}://{joined}"
    return posixpath.join(base, *parts)


def is_absolute(url: str) -> bool:
    return "://" in url or url.startswith("/")


@_store_errors
def open_url(url: str, mode: str = "rb") -> IO:
    """Open a URL; parent folders are created when writing ("w", "x", "a"), except on object
    stores, which have no folders (and where fsspec's makedirs would create a missing bucket).

    Mode "xb" (exclusive create) raises FileExistsError when the file exists: locally by
    O_EXCL, on S3 by a conditional PUT (If-None-Match, which s3fs sends) that the store checks.
    """
    fs, path = url_to_fs(url)
    if any(ch in mode for ch in "wxa") and not is_object_store(url):
        parent = posixpath.dirname(path)
        if parent:
            fs.makedirs(parent, exist_ok=True)
    return fs.open(path, mode)


@_store_errors
def read_bytes(url: str) -> bytes:
    with open_url(url, "rb") as f:
        return f.read()


@_store_errors
def write_bytes(url: str, data: bytes) -> None:
    with open_url(url, "wb") as f:
        f.write(data)


def write_exclusive(url: str, data: bytes) -> None:
    """Create a file that must not exist yet; FileExistsError when it does (another writer won).

    One check-and-create step where the store has one: local files (O_EXCL) and S3 (s3fs sends
    mode "xb" as a conditional PUT, If-None-Match, that the store checks; an S3-compatible store
    that ignores the header overwrites). On other object stores, whose clients may take "xb" for
    "wb", and on any filesystem that refuses mode "xb" (ValueError, NotImplementedError), the file
    is checked for first: two writers racing between the check and the write may then both
    succeed, the later one's bytes winning.
    """
    if is_object_store(url) and protocol_of(url) not in EXCLUSIVE_CREATE and exists(url):
        raise FileExistsError(url)
    try:
        f = open_url(url, "xb")
    except (ValueError, NotImplementedError):
        if exists(url):
            raise FileExistsError(url) from None
        write_bytes(url, data)
        return
    with f:
        f.write(data)


@_store_errors
def exists(url: str) -> bool:
    fs, path = url_to_fs(url)
    return fs.exists(path)


def check_reachable(url: str) -> None:
    """Raise StoreError within seconds unless the object store holding `url` answers, takes the
    credentials and has the bucket; a local path or another kind of URL passes unchecked.

    For s3:// one request (a listing of at most one key under the URL's prefix, which also
    needs the list permission that runs need) with one attempt and PROBE_TIMEOUT, on a client
    of its own, so botocore's retries (minutes on a closed port) do not apply to the check;
    the run itself keeps them. Other object stores: whether the bucket exists, with their own
    client settings. Unknown protocols raise what fsspec raises (ValueError, ImportError).
    """
    if not is_object_store(url):
        return
    fs, path = url_to_fs(url)
    bucket, _, key = path.strip("/").partition("/")
    if not bucket:
        raise StoreError(f"{url}: no bucket in the URL")
    endpoint = ""
    try:
        if protocol_of(url) in ("s3", "s3a"):
            probe = _s3_probe(fs)
            try:
                probe.call_s3("list_objects_v2", Bucket=bucket, Prefix=key, MaxKeys=1)
            finally:
                endpoint = _s3_endpoint(probe)
        elif not fs.exists(bucket):
            raise FileNotFoundError(bucket)
    except StoreError:
        raise
    except FileNotFoundError:
        raise StoreError(f"{url}: bucket {bucket!r} does not exist{endpoint}") from None
    except PermissionError as e:
        raise StoreError(f"{url}: access denied{endpoint}: {' '.join(str(e).split())[:300]}") from None
    except Exception as e:
        if isinstance(e, (OSError, *_store_exceptions())):
            raise StoreError(f"{url}: {_describe_store_error(e)}") from None
        raise


def _s3_probe(fs: Any) -> Any:
    """An S3FileSystem with `fs`'s options (so FSSPEC_S3 settings apply) but one attempt and
    short timeouts, not shared with anything else."""
    options = dict(fs.storage_options)
    config = {**(options.get("config_kwargs") or {}), "retries": {"max_attempts": 1, "mode": "standard"},
              "connect_timeout": PROBE_TIMEOUT, "read_timeout": PROBE_TIMEOUT}
    probe = type(fs)(**{**options, "config_kwargs": config, "skip_instance_cache": True})
    probe.retries = 1  # s3fs's own retry loop around botocore's
    return probe


def _s3_endpoint(probe: Any) -> str:
    """' (endpoint http://host:port)': where the probe went, for the message; '' when unknown."""
    client = getattr(probe, "_s3", None)  # None when no client was made
    url = getattr(getattr(client, "meta", None), "endpoint_url", None)
    return f" (endpoint {_origin(url)})" if url else ""


class Match(NamedTuple):
    """One file a URI names."""

    url: str
    relative: str  # its path below the root: a text tree's document id
    root: str  # the folder the URI names, or the file itself: where the file must really be
    size: int  # bytes as stored, from the listing (planning only; 0 when a link cannot be followed)


@_store_errors
def is_glob(uri: str) -> bool:
    return any(ch in uri for ch in "*?[")


def glob_root(uri: str) -> str:
    """The fixed prefix of a glob, up to the last '/' before its first wildcard: the folder its
    matches' relative paths are taken from, and where its tree's license files are looked for."""
    return uri[: min(uri.index(ch) for ch in "*?[" if ch in uri)].rsplit("/", 1)[0]


def expand(uri: str) -> list[Match]:
    """The files a URI names, sorted, each with its path relative to the URI's root.

    A folder names every file below it (root: the folder); a glob its matches (root: the
    part before the first wildcard); a file itself (relative path: its name).
    """
    fs, path = url_to_fs(uri)
    if fs.isdir(path):
        root, paths = path, _files(fs, fs.find(path, detail=True))
    elif is_glob(path):
        root = glob_root(path)
        paths = _files(fs, fs.glob(path, detail=True))
    elif fs.exists(path):  # named itself, so it may be a symlink to anywhere
        return [Match(_full(fs, uri, path), posixpath.basename(path), _full(fs, uri, path),
                      _size(fs.info(path)))]
    else:
        return []
    return sorted(Match(_full(fs, uri, p), posixpath.relpath(p, root), _full(fs, uri, root), size)
                  for p, size in paths.items())


def _files(fs: fsspec.AbstractFileSystem, listing: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The entries of a detailed listing that are not folders, with their sizes. Locally a folder
    is what a path resolves to (a symlink to a folder is one); elsewhere the listing says, so an
    object store answers with one request per page, not one per file."""
    if isinstance(fs, LocalFileSystem):
        return {p: _size(info) for p, info in listing.items() if not fs.isdir(p)}
    return {p: _size(info) for p, info in listing.items() if info.get("type") != "directory"}


def _size(info: dict[str, Any]) -> int:
    return int(info.get("size") or 0)


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


@_store_errors
def write_atomic(url: str, data: bytes) -> None:
    """Write so that readers see the whole file or none of it (see open_atomic)."""
    with open_atomic(url) as f:
        f.write(data)


@_store_errors
def list_dir(url: str) -> list[str]:
    """Names of the entries directly inside a folder (none when it does not exist), sorted."""
    fs, path = url_to_fs(url)
    if not fs.isdir(path):
        return []
    return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))


@_store_errors
def file_digest(url: str) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in chunks so large files never sit in memory."""
    h = hashlib.sha256()
    size = 0
    with open_url(url, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


class Digest(NamedTuple):
    """What a manifest records of a file's bytes."""

    sha256: str  # hex
    bytes: int


class HashingWriter:
    """A write-only file that hands every byte on to `raw`, hashing and counting it on the way,
    so a writer knows its file's digest without reading the file back (at terabyte scale that
    read would be a second pass over the snapshot). Compressors (zstd, gzip) write through it;
    `digest` is the file's once everything on top of it has finished writing."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._sha256 = hashlib.sha256()
        self._bytes = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        self._raw.write(data)
        self._sha256.update(view)
        self._bytes += view.nbytes
        return view.nbytes

    def flush(self) -> None:
        self._raw.flush()

    def writable(self) -> bool:
        return True

    @property
    def digest(self) -> Digest:
        return Digest(self._sha256.hexdigest(), self._bytes)


@contextlib.contextmanager
def hashed_writer(url: str) -> Iterator[HashingWriter]:
    """Open `url` for writing (as open_url) through a HashingWriter; its digest is the file's
    once the block ends."""
    with open_url(url, "wb") as raw:
        yield HashingWriter(raw)


def bytes_digest(data: bytes) -> Digest:
    return Digest(hashlib.sha256(data).hexdigest(), len(data))


def write_hashed(url: str, data: bytes) -> Digest:
    """write_bytes, returning the digest of what it wrote."""
    write_bytes(url, data)
    return bytes_digest(data)


@_store_errors
def read_range(url: str, offset: int, length: int) -> bytes:
    """`length` bytes of a file from `offset` (one ranged GET on object stores)."""
    fs, path = url_to_fs(url)
    return bytes(fs.cat_file(path, start=offset, end=offset + length))


@_store_errors
def size(url: str) -> int:
    fs, path = url_to_fs(url)
    return int(fs.size(path))


@_store_errors
def list_files(root: str) -> list[str]:
    """Every file below `root`, as paths relative to it, sorted."""
    fs, path = url_to_fs(root)
    if not fs.exists(path):
        return []
    base = path.rstrip("/") + "/"
    return sorted(p[len(base):] for p in fs.find(path) if p.startswith(base))


@_store_errors
def list_file_sizes(root: str) -> dict[str, int]:
    """Every file below `root`, as paths relative to it (sorted), with its size as the listing
    gives it: one request per page of the listing on object stores, none per file."""
    fs, path = url_to_fs(root)
    if not fs.exists(path):
        return {}
    base = path.rstrip("/") + "/"
    listing = fs.find(path, detail=True)
    return {p[len(base):]: _size(listing[p]) for p in sorted(listing) if p.startswith(base)}


@_store_errors
def remove_tree(url: str) -> None:
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)


@_store_errors
def is_dir(url: str) -> bool:
    fs, path = url_to_fs(url)
    return bool(fs.isdir(path))


@contextlib.contextmanager
def open_atomic(url: str) -> Iterator[IO]:
    """Open a file for writing that readers see whole or not at all.

    Locally the bytes go to a file of its own beside `url`, renamed onto it when the block ends
    (atomic on POSIX; two writers of one URL never mix their bytes, the last rename wins) and
    removed when the block fails. On object stores, which have no atomic rename, the upload
    completes when the block ends and is abandoned when it fails (a killed process never
    completes it): one PUT appears whole or not at all.
    """
    fs, path = url_to_fs(url)
    if not isinstance(fs, LocalFileSystem):
        f = open_url(url, "wb")
        try:
            yield f
        except BaseException:
            with contextlib.suppress(Exception):
                f.discard()  # type: ignore[attr-defined]  # fsspec's close would complete a partial upload
            raise
        f.close()
        return
    aside = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open_url(aside, "wb") as f:
            yield f
        fs.mv(aside, path)
    finally:
        if fs.exists(aside):
            fs.rm(aside)


@_store_errors
def copy(source: str, destination: str) -> None:
    """Copy one file within a store (server-side on object stores), parent folders created."""
    fs, src = url_to_fs(source)
    dst_fs, dst = url_to_fs(destination)
    if type(fs) is not type(dst_fs):
        write_bytes(destination, read_bytes(source))
        return
    if not is_object_store(destination) and posixpath.dirname(dst):
        fs.makedirs(posixpath.dirname(dst), exist_ok=True)
    fs.copy(src, dst)
