"""Which run is writing a version: a claim file per version being built.

A version folder without a manifest is either the leftover of a crashed run (to be removed) or
the work of a run still going (to be left alone). The claim, `<corpus>/_running/<version>.json`,
tells them apart: it names the host and process and is refreshed while the run lives. It sits
beside the version folder, not in it, so a published version holds only its own files.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

from opencorpus import storage
from opencorpus.formats import layout

# The run refreshes its claim every HEARTBEAT seconds (cli); a claim from another host unrefreshed
# for STALE_AFTER seconds is a crashed run's. On the claiming host a dead process settles it at once.
STALE_AFTER = 120.0


class VersionBusyError(RuntimeError):
    """Another live run is building this version."""


@dataclass(frozen=True)
class Claim:
    url: str
    host: str
    pid: int
    started: float

    def refresh(self) -> None:
        storage.write_bytes(self.url, _claim_bytes(self.host, self.pid, self.started))

    def release(self) -> None:
        storage.remove_tree(self.url)


def claim_url(corpus_url: str, version: str) -> str:
    return storage.join(corpus_url, layout.RUNNING, f"{version}.json")


def live_claims(corpus_url: str) -> list[str]:
    """Versions that a live run is building under a corpus."""
    folder = storage.join(corpus_url, layout.RUNNING)
    return [name.removesuffix(".json") for name in storage.list_dir(folder)
            if name.endswith(".json") and _is_live(storage.join(folder, name))]


def claim_version(corpus_url: str, version: str) -> Claim:
    """Claim `version` for this process; VersionBusyError when a live run holds it."""
    url = claim_url(corpus_url, version)
    if storage.exists(url):
        if _is_live(url):
            raise VersionBusyError(f"{storage.join(corpus_url, version)} is being built by another run "
                                   f"({_describe(url)}); wait for it, or give another version")
        storage.remove_tree(url)  # a crashed run's
    claim = Claim(url, socket.gethostname(), os.getpid(), time.time())
    try:  # exclusive: of two runs starting together, one wins (see storage.write_exclusive)
        storage.write_exclusive(url, _claim_bytes(claim.host, claim.pid, claim.started))
    except FileExistsError:
        raise VersionBusyError(f"{storage.join(corpus_url, version)} was claimed by another run "
                               f"just now; give another version") from None
    return claim


def _claim_bytes(host: str, pid: int, started: float) -> bytes:
    return json.dumps({"host": host, "pid": pid, "started": started, "refreshed": time.time()}).encode("utf-8")


def _read(url: str) -> dict | None:
    try:
        data = json.loads(storage.read_bytes(url))
    except (OSError, ValueError):
        return None  # vanished or half-written: not a live run's claim
    return data if isinstance(data, dict) else None


def _is_live(url: str) -> bool:
    data = _read(url)
    if data is None:
        return False
    try:
        fresh = time.time() - float(data["refreshed"]) < STALE_AFTER
        if data["host"] == socket.gethostname():
            return fresh and _process_alive(int(data["pid"]))
    except (KeyError, TypeError, ValueError):
        return False
    return fresh


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _describe(url: str) -> str:
    data = _read(url) or {}
    started = data.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if isinstance(started, (int, float)) else "?"
    return f"host {data.get('host', '?')}, pid {data.get('pid', '?')}, started {when}"
