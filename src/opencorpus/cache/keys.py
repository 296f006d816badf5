"""Cache keys: a digest of everything that shapes an entry, the code included.

The code fingerprint covers opencorpus's own files (its modules and filters/) and the name
and version of every installed distribution: a changed stage, preset, model or library gives
new keys. It is computed where the work runs (each worker), so a cache filled on one machine is
used on another only when both run the same code.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
from pathlib import Path
from typing import Any

from opencorpus.formats.canonical import canonical_json
from opencorpus.recipe import FILTERS_DIR

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def key_of(*parts: Any) -> str:
    """sha256 (hex) of JSON values, in order."""
    return hashlib.sha256(canonical_json(list(parts))).hexdigest()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for root in (_PACKAGE_DIR, FILTERS_DIR):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    versions = sorted({(d.metadata["Name"] or "", d.version) for d in importlib.metadata.distributions()})
    digest.update(canonical_json(versions))
    return digest.hexdigest()
