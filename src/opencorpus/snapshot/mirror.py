"""Publish a copy of a published version under another root, at any fsspec URL (`opencorpus publish`).

The copy is published the way a run publishes (publish.py): the destination version is claimed
and cleared of an interrupted copy's leftovers; every file the manifest lists, run.json and
manifest.json.sig are copied, then read back and checked at the destination; only then is
manifest.json written (the commit point), then LATEST (never moved back). An interrupted or
failed copy leaves a folder without a manifest: no version, which the next publish replaces.

Nothing here assumes a local path: s3://, gs://, memory:// and hf:// (huggingface_hub's
HfFileSystem) are all reached through storage's fsspec helpers.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

import humanize

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.snapshot.claims import Claim
from opencorpus.snapshot.manifest import ManifestError, read_manifest
from opencorpus.snapshot.publish import prepare_version, update_latest, version_url
from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot

# Copies wait on the network, not the CPU: more threads than cores.
COPY_THREADS = 8
# Bytes a streamed copy holds at once, per thread (the object store's client buffers its own
# upload part on top: s3fs 50 MiB); a multi-GB file never sits in memory whole.
CHUNK = 1 << 20
# Seconds between progress lines, which also refresh the destination claim: a claim unrefreshed
# for claims.STALE_AFTER seconds is taken for a crashed run's and taken over.
PROGRESS_EVERY = 15.0
# Files beside the listed ones that belong to a version: run facts and the signature.
EXTRAS = (layout.RUN, layout.SIGNATURE)
_T = TypeVar("_T")
log = logging.getLogger(__name__)


class SourceDamaged(RuntimeError):
    """The source's manifest is not a valid manifest: its file list cannot be trusted."""


class DestinationOverlaps(ValueError):
    """The destination version would be inside the source version, or hold it."""


class CopyMismatch(RuntimeError):
    """Files at the destination that differ from the manifest (or, for run.json and the
    signature, from the source); the message names each one."""


def publish_copy(source_url: str, dest_root: str) -> str:
    """Copy the version at `source_url` (or the one its LATEST names) to
    `dest_root`/<corpus>/<version>/ and publish it there; return the destination version URL.

    Raises SnapshotNotFound (no published version at `source_url`), SourceDamaged,
    DestinationOverlaps, publish.VersionExistsError (published there already: nothing is
    written), claims.VersionBusyError (another copy is writing it), CopyMismatch (nothing
    published) and OSError (storage.StoreError for a store that cannot be used).
    """
    source = _published_source(source_url)
    manifest_data, manifest = _read_manifest(source)
    expected = _expected_files(source, manifest)
    storage.check_reachable(dest_root)
    corpus, version = manifest["corpus"], manifest["version"]
    _refuse_overlap(source, version_url(dest_root, corpus, version))
    dest, claim = prepare_version(dest_root, corpus, version)
    try:
        log.info("[publish]    %s -> %s: %d files, %s", source, dest, len(expected),
                 humanize.naturalsize(sum(size for _, size in expected.values())))
        _copy_all(source, dest, expected, claim)
        _check_all(dest, expected, claim)
        storage.write_atomic(storage.join(dest, layout.MANIFEST), manifest_data)
        update_latest(storage.join(dest_root, corpus), version)
    finally:
        claim.release()
    latest = storage.read_bytes(storage.join(dest_root, corpus, layout.LATEST)).decode("utf-8").strip()
    log.info("[publish]    %s published (manifest written last); LATEST -> %s", dest, latest)
    return dest


def _published_source(url: str) -> str:
    """The version URL `url` names (itself, or its LATEST's), with a plain refusal for a version
    folder that has files but no manifest: unfinished, so nothing of it may be published."""
    try:
        return resolve_snapshot(url)
    except SnapshotNotFound:
        url = url.rstrip("/")
        if storage.list_dir(url) and not storage.exists(storage.join(url, layout.LATEST)):
            raise SnapshotNotFound(f"{url} has no {layout.MANIFEST}: an unfinished version (a run still writing "
                                   f"it, or one that crashed); only a published version is copied") from None
        raise


def _read_manifest(source: str) -> tuple[bytes, dict[str, Any]]:
    """The source manifest's bytes (copied as they are) and its content, refused unless valid."""
    try:
        return read_manifest(source)
    except ManifestError as e:
        raise SourceDamaged(f"{e}; `opencorpus verify {source}` says more") from None


def _expected_files(source: str, manifest: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Path -> (sha256, bytes) of every file to copy: the manifest's, and run.json and the
    signature as the source holds them (the manifest does not list them)."""
    expected = {entry["path"]: (entry["sha256"], entry["bytes"]) for entry in manifest["files"]}
    for path in EXTRAS:
        url = storage.join(source, path)
        if storage.exists(url):
            expected[path] = storage.file_digest(url)
    return expected


def _refuse_overlap(source: str, dest: str) -> None:
    """Preparing a destination inside the source version, or holding it, would copy the version
    into itself or remove it as leftovers. (The same folder is refused as published already.)"""
    a, b = _location(source), _location(dest)
    if a.startswith(b + "/") or b.startswith(a + "/"):
        raise DestinationOverlaps(f"{dest} and {source} overlap: publish the copy outside the source version")


def _location(url: str) -> str:
    """One spelling per place: protocol and absolute path (a relative local path resolved)."""
    fs, path = storage.url_to_fs(url)
    return fs.unstrip_protocol(path).rstrip("/")


def _copy_all(source: str, dest: str, expected: dict[str, tuple[str, int]], claim: Claim) -> None:
    # Largest first, so the copy does not end with one thread on a big file while the rest idle.
    paths = sorted(expected, key=lambda path: (-expected[path][1], path))
    with _Progress("copied", {path: size for path, (_, size) in expected.items()}, claim) as progress:
        _in_threads(lambda path: _copy_file(storage.join(source, path), storage.join(dest, path)), paths, progress)


def _copy_file(source: str, destination: str) -> None:
    """Server-side within one kind of store (S3 to S3, local to local); between two kinds
    streamed in CHUNK pieces. Either way the destination file appears whole or not at all."""
    if type(storage.url_to_fs(source)[0]) is type(storage.url_to_fs(destination)[0]):
        storage.copy(source, destination)
        return
    with storage.open_url(source, "rb") as reader, storage.open_atomic(destination) as writer:
        shutil.copyfileobj(reader, writer, CHUNK)


def _check_all(dest: str, expected: dict[str, tuple[str, int]], claim: Claim) -> None:
    """Read every copied file back at the destination; CopyMismatch naming each one that differs.
    Before the manifest, so a bad copy never becomes a version (verify's check, per file)."""
    paths = sorted(expected)
    with _Progress("checked", {path: size for path, (_, size) in expected.items()}, claim) as progress:
        found = _in_threads(lambda path: _difference(storage.join(dest, path), path, expected[path]), paths, progress)
    differences = sorted(d for d in found if d is not None)
    if differences:
        raise CopyMismatch(f"the copy at {dest} differs from the source; nothing published (a new publish "
                           f"replaces it):\n  " + "\n  ".join(differences))


def _difference(url: str, path: str, want: tuple[str, int]) -> str | None:
    """How the file at `url` differs from (sha256, bytes) `want`, or None when it does not."""
    try:
        got = storage.file_digest(url)
    except FileNotFoundError:
        return f"{path}: missing at the destination"
    if got != want:
        return f"{path}: expected sha256 {want[0]} ({want[1]} bytes), got {got[0]} ({got[1]} bytes)"
    return None


def _in_threads(work: Callable[[str], _T], paths: list[str], progress: _Progress) -> list[_T]:
    """work(path) for every path in COPY_THREADS threads, counted as each ends; the first
    failure cancels what has not started and is raised."""
    with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:
        futures = {pool.submit(work, path): path for path in paths}
        results = []
        try:
            for future in as_completed(futures):
                results.append(future.result())
                progress.done(futures[future])
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return results


class _Progress:
    """Files and bytes done, logged every PROGRESS_EVERY seconds (refreshing the claim) while
    the work runs, and once when it ends."""

    def __init__(self, verb: str, sizes: dict[str, int], claim: Claim):
        self.verb, self.sizes, self.claim = verb, sizes, claim
        self.files = self.bytes = 0
        self.start = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> _Progress:
        self.thread.start()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.stop.set()
        self.thread.join()
        if exc_type is None:
            log.info("[publish]    %s %d files (%s) in %.1f s", self.verb, self.files,
                     humanize.naturalsize(self.bytes), time.monotonic() - self.start)

    def done(self, path: str) -> None:
        """Called from one thread only (the one waiting on the pool): no lock."""
        self.files += 1
        self.bytes += self.sizes[path]

    def _tick(self) -> None:
        while not self.stop.wait(PROGRESS_EVERY):
            log.info("[publish]    %s %d/%d files, %s of %s, %.0f s", self.verb, self.files, len(self.sizes),
                     humanize.naturalsize(self.bytes), humanize.naturalsize(sum(self.sizes.values())),
                     time.monotonic() - self.start)
            try:
                self.claim.refresh()
            except OSError as e:  # the copy goes on; only a concurrent publish's check could misjudge it
                log.warning("[publish]    could not refresh the claim %s: %s", self.claim.url, e)
