"""The PII stage's results by text, in packs by range of the shard-key space.

Slices (beam/slices.py) redact after dedup, each over one range of the shard-key space. A slice
loads the packs whose range meets its own into a RedactionMemo, the PII stage takes from it
what it would compute again and adds what it computes, and the slice writes what was added as
a new pack every so often and at its end, so a run killed midway loses little. Ranges are those
of the run that wrote a pack: a run cut into other slices still finds every entry over its range.

A pack's records: [text digest (hex), redacted text or null when unchanged, counts by type].
The digest is of the source kind and the text, which is all the stage's result depends on
under one fingerprint (the PII options and the code).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import uuid
from typing import Any

from opencorpus import storage
from opencorpus.cache.keys import code_fingerprint, key_of
from opencorpus.formats.checked import CorruptFileError, checked_writer, read_checked

log = logging.getLogger(__name__)

_PACK = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})-[0-9a-f]{32}\.jsonl\.zst")
Result = tuple[str, dict[str, int]]


class RedactionMemo:
    """What the PII stage found for each (kind, text): loaded from packs, and added to as it works."""

    def __init__(self) -> None:
        self.known: dict[bytes, tuple[str | None, dict[str, int]]] = {}
        self.added: list[tuple[bytes, str | None, dict[str, int]]] = []
        self.hits = 0

    @staticmethod
    def key(text: str, kind: str) -> bytes:
        return hashlib.sha256(kind.encode() + b"\0" + text.encode("utf-8", "surrogatepass")).digest()

    def get(self, key: bytes, text: str) -> Result | None:
        found = self.known.get(key)
        if found is None:
            return None
        self.hits += 1
        redacted, counts = found
        return (text if redacted is None else redacted), counts

    def put(self, key: bytes, text: str, result: Result) -> None:
        redacted = None if result[0] == text else result[0]
        self.known[key] = (redacted, result[1])
        self.added.append((key, redacted, result[1]))

    def take_added(self) -> list[tuple[bytes, str | None, dict[str, int]]]:
        added, self.added = self.added, []
        return added


def slice_range(slice_: int, slices: int) -> tuple[int, int]:
    """[lo, hi) of the 64-bit shard keys that formats.documents.range_of puts in `slice_`."""
    return -(-(slice_ << 64) // slices), -(-((slice_ + 1) << 64) // slices)


class RedactionPacks:
    """The packs of one fingerprint (PII options + code) in a cache folder."""

    def __init__(self, cache_url: str, pii_options: dict[str, Any]):
        self.cache_url, self.pii_options = cache_url, pii_options
        self.listed: list[tuple[int, int, str]] | None = None

    @functools.cached_property
    def folder(self) -> str:
        # Where the work runs: the fingerprint is of the worker's code (cache/keys.py).
        return storage.join(self.cache_url, "redactions", key_of("redactions", code_fingerprint(), self.pii_options))

    def list_packs(self) -> None:
        """List the packs there are (once: packs this run writes are over other slices' ranges)."""
        self.listed = []
        for name in storage.list_dir(self.folder):
            if match := _PACK.fullmatch(name):
                self.listed.append((int(match.group(1), 16), int(match.group(2), 16), name))

    def memo_for(self, lo: int, hi: int) -> RedactionMemo:
        """A memo holding every entry of the packs that meet [lo, hi)."""
        if self.listed is None:
            self.list_packs()
        memo = RedactionMemo()
        for first, last, name in self.listed or []:
            if first < hi and last >= lo:
                self._load(storage.join(self.folder, name), memo)
        return memo

    def _load(self, url: str, memo: RedactionMemo) -> None:
        try:
            for digest, redacted, counts in read_checked(url):
                memo.known[bytes.fromhex(digest)] = (redacted, counts)
        except FileNotFoundError:
            pass  # another run's pack may be gone (the cache was cleared)
        except CorruptFileError as e:
            log.warning("PII cache pack not used, its texts are redacted again: %s", e)

    def write(self, lo: int, hi: int, entries: list[tuple[bytes, str | None, dict[str, int]]]) -> None:
        if not entries:
            return
        url = storage.join(self.folder, f"{lo:016x}-{hi - 1:016x}-{uuid.uuid4().hex}.jsonl.zst")
        with checked_writer(url) as write:
            for digest, redacted, counts in entries:
                write([digest.hex(), redacted, counts])
