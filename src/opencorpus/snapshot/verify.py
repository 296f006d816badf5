"""Check a published snapshot against its manifest, file by file.

Only relative paths are compared, so a mirrored copy of a snapshot verifies as well.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.snapshot.manifest import CountMismatchError, check_counts, problems


class SnapshotNotFound(LookupError):
    """Neither a version (manifest.json) nor a corpus root (LATEST) at the URL."""


@dataclass
class VerifyReport:
    version_url: str
    digest: str
    checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.missing or self.unlisted)


def resolve_snapshot(url: str) -> str:
    """The version URL that `url` names: itself if it has a manifest, else what its LATEST names.

    An object store that does not answer, or has no such bucket, raises storage.StoreError in
    seconds (storage.check_reachable) rather than after the client's retries.
    """
    url = url.rstrip("/")
    storage.check_reachable(url)
    if storage.exists(storage.join(url, layout.MANIFEST)):
        return url
    latest_url = storage.join(url, layout.LATEST)
    if not storage.exists(latest_url):
        raise SnapshotNotFound(f"no snapshot at {url}: looked for {storage.join(url, layout.MANIFEST)} "
                               f"(a version) and {latest_url} (a corpus root)")
    version = storage.read_bytes(latest_url).decode("utf-8").strip()
    target = storage.join(url, version)
    if not storage.exists(storage.join(target, layout.MANIFEST)):
        raise SnapshotNotFound(f"{latest_url} names {version!r}, but {storage.join(target, layout.MANIFEST)} "
                               f"does not exist")
    return target


def verify(url: str) -> VerifyReport:
    """Re-hash every file of the snapshot at `url` (version or corpus root) against its manifest."""
    version_url = resolve_snapshot(url)
    data = storage.read_bytes(storage.join(version_url, layout.MANIFEST))
    report = VerifyReport(version_url=version_url, digest=hashlib.sha256(data).hexdigest())
    try:
        manifest = json.loads(data)
    except ValueError as e:
        report.mismatches.append(f"{layout.MANIFEST}: not valid JSON: {e}")
        return report
    found = problems(manifest)
    report.mismatches.extend(f"{layout.MANIFEST}: {p}" for p in found)
    if found:
        return report  # the file list cannot be trusted enough to check files against it
    try:
        check_counts(manifest["counts"])
    except CountMismatchError as e:
        report.mismatches.append(f"{layout.MANIFEST}: {e}")

    present = set(storage.list_files(version_url)) - set(layout.UNLISTED)
    for entry in manifest["files"]:
        path = entry["path"]
        if path not in present:
            report.missing.append(path)
            continue
        sha256, size = storage.file_digest(storage.join(version_url, path))
        report.checked += 1
        if (sha256, size) != (entry["sha256"], entry["bytes"]):
            report.mismatches.append(f"{path}: expected sha256 {entry['sha256']} ({entry['bytes']} bytes), "
                                     f"got {sha256} ({size} bytes)")
    report.unlisted = sorted(present - {entry["path"] for entry in manifest["files"]})
    return report
