"""Publish a snapshot version atomically (docs/ARCHITECTURE.md "Snapshot layout").

A version exists once its manifest.json does: the manifest is written last, in one step, so
a crash anywhere earlier leaves a folder without a manifest, which readers ignore, LATEST
does not name, and the next prepare_version removes, unless a live run claims it (claims.py).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from typing import Any

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.formats.canonical import canonical_json
from opencorpus.snapshot.claims import Claim, claim_url, claim_version, live_claims
from opencorpus.snapshot.manifest import manifest_bytes

_NUMBERED = re.compile(r"^v([0-9]+)$")


class VersionExistsError(RuntimeError):
    """The version is already published; versions are immutable."""


def version_url(root: str, corpus: str, version: str) -> str:
    return storage.join(root, corpus, version)


def published_versions(corpus_url: str) -> list[str]:
    """The numbered versions published under a corpus root (those with a manifest), oldest first."""
    names = [name for name in storage.list_dir(corpus_url)
             if _NUMBERED.match(name) and storage.exists(storage.join(corpus_url, name, layout.MANIFEST))]
    return sorted(names, key=lambda name: int(name[1:]))


def next_version(root: str, corpus: str) -> str:
    """'v<N+1>' for the highest vN under <root>/<corpus> that is published or that a live run is
    building ('v1' when there is none), so two runs started together take two versions."""
    corpus_url = storage.join(root, corpus)
    published = published_versions(corpus_url)
    numbers = [int(m.group(1)) for name in published + live_claims(corpus_url) if (m := _NUMBERED.match(name))]
    return f"v{max(numbers, default=0) + 1}"


def prepare_version(root: str, corpus: str, version: str) -> tuple[str, Claim]:
    """The URL to build `version` in, claimed for this run; call before any work so a clash fails early.

    Raises VersionExistsError when the version is published, claims.VersionBusyError when a live
    run is building it; removes the leftovers of a crashed run (a folder without a manifest nor
    a live claim), which never became a version. publish() releases the claim.
    """
    url = version_url(root, corpus, version)
    if storage.exists(storage.join(url, layout.MANIFEST)):
        raise VersionExistsError(f"{url} is already published and versions are immutable; "
                                 f"publish a new version instead")
    claim = claim_version(storage.join(root, corpus), version)
    storage.remove_tree(url)
    return url, claim


def publish(version_url: str, manifest: dict[str, Any], run_info: dict[str, Any]) -> str:
    """Write run.json, then manifest.json (the commit point), then LATEST; return the digest."""
    manifest_url = storage.join(version_url, layout.MANIFEST)
    if storage.exists(manifest_url):
        raise VersionExistsError(f"{version_url} is already published and versions are immutable")
    # Run facts are informational: stringify what JSON cannot hold rather than lose the run here.
    storage.write_bytes(storage.join(version_url, layout.RUN), canonical_json(run_info, default=str))
    data = manifest_bytes(manifest)
    storage.write_atomic(manifest_url, data)
    corpus_url, version = posixpath.split(version_url.rstrip("/"))
    update_latest(corpus_url, version)
    storage.remove_tree(claim_url(corpus_url, version))
    return hashlib.sha256(data).hexdigest()


def update_latest(corpus_url: str, version: str) -> None:
    """Point LATEST at `version` unless it names a higher vN already (an older run finishing late)."""
    latest_url = storage.join(corpus_url, layout.LATEST)
    if storage.exists(latest_url):
        current = _NUMBERED.match(storage.read_bytes(latest_url).decode("utf-8").strip())
        new = _NUMBERED.match(version)
        if current and new and int(new.group(1)) <= int(current.group(1)):
            return
    storage.write_atomic(latest_url, f"{version}\n".encode())
