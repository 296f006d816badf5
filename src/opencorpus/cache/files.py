"""Per input file: every outcome of reading it and of the stages before dedup, under one key.

Beam-free: beam/read.py asks `FileCache.outcomes` first and, on a miss, tees what it computes
into `FileCache.recording`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

from opencorpus import storage
from opencorpus.cache.keys import code_fingerprint, key_of
from opencorpus.formats.checked import CorruptFileError, checked_writer, read_checked
from opencorpus.formats.outcomes import outcome_from_record, outcome_record
from opencorpus.recipe import SourceSpec
from opencorpus.sources import SourceFile
from opencorpus.stages import Outcome

log = logging.getLogger(__name__)


def stage_options_for(source: str, stages: list[tuple[str, dict[str, Any] | None]]) -> list[Any]:
    """The stages' options as they bear on one source's documents: the license stage's
    recorded license files of other sources' trees do not (so adding a source keeps the keys
    of the others)."""
    narrowed: list[Any] = []
    for name, options in stages:
        if name == "license" and options is not None and "trees" in options:
            options = {**options, "trees": {source: options["trees"].get(source)}}
        narrowed.append([name, options])
    return narrowed


def file_key(sha256: str, spec: SourceSpec, file: SourceFile, date: str, stages: list[Any]) -> str:
    """The key of one file's entry: its bytes, how it is read and named, and what runs on it."""
    reading = {"spec": dataclasses.asdict(spec), "relative": file.relative, "display": file.display, "date": date}
    return key_of("file", code_fingerprint(), sha256, reading, stages)


class FileCache:
    def __init__(self, cache_url: str):
        self.cache_url = cache_url

    def url_of(self, key: str) -> str:
        return storage.join(self.cache_url, "files", key[:2], f"{key}.jsonl.zst")

    def entry(self, key: str, display: str) -> tuple[dict[str, Any], Iterator[Outcome]] | None:
        """(what the manifest records of the file, its outcomes) from its entry; None when there
        is none or it is not whole (then the caller recomputes and rewrites it)."""
        try:
            records = read_checked(self.url_of(key))
        except FileNotFoundError:
            return None
        except CorruptFileError as e:
            log.warning("%s: cache entry not used, recomputing: %s", display, e)
            return None
        return next(records)["input"], map(outcome_from_record, records)

    @contextlib.contextmanager
    def recording(self, key: str, input_record: dict[str, Any]) -> Iterator[Callable[[Outcome], None]]:
        """A function to record each outcome as it is made; the entry appears when the block ends."""
        with checked_writer(self.url_of(key)) as write:
            write({"input": input_record})
            yield lambda outcome: write(outcome_record(outcome))
