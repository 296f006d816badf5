"""A text tree's license files as the run's planning records them in the license stage's options
(discovery.py), and so in the manifest: each file by its path under the tree root and its sha256, with the
licensing facts parsed from it, never its text. Copyright lines, authors' and maintainers'
addresses (or whatever a mistaken file holds) stay in the file; the stage applies the facts.

    {"file": "debian/copyright", "kind": "dep5", "sha256": "…", "stanzas": dep5.to_facts(…)}
    {"file": "REUSE.toml", "kind": "reuse-toml", "sha256": "…", "annotations": reuse_toml.to_facts(…)}
    {"file": "PKG-INFO", "kind": "python-metadata", "sha256": "…", "evidence": {…} or None}
    {"file": "x-1.0.dist-info/METADATA", "kind": "python-distribution", "sha256": "…", "evidence": …,
     "record": {"file": "x-1.0.dist-info/RECORD", "sha256": "…", "paths": [tree paths it lists]}}
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

from opencorpus.stages.licenses import dep5, reuse_toml
from opencorpus.stages.licenses.pymeta import distribution_files, metadata_evidence


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kind_of(name: str) -> str:
    """The kind of a license file, by its name: package metadata, REUSE.toml, else DEP-5."""
    base = posixpath.basename(name)
    return "python-metadata" if base in ("PKG-INFO", "METADATA") else "reuse-toml" if base == "REUSE.toml" else "dep5"


def license_file(name: str, data: bytes) -> dict[str, Any] | None:
    """The record of the license file at `name` (its path under the tree root); None for a DEP-5 file
    that is not machine-readable (no `Format:` header: an old-style debian/copyright says nothing
    by path). A file that does not parse raises Dep5Error or ReuseTomlError naming it."""
    kind, text = kind_of(name), _text(data)
    entry: dict[str, Any] = {"file": name, "kind": kind, "sha256": _sha256(data)}
    if kind == "dep5":
        if not dep5.is_machine_readable(text):
            return None
        return {**entry, "stanzas": dep5.to_facts(dep5.parse_dep5(text, name))}
    if kind == "reuse-toml":
        return {**entry, "annotations": reuse_toml.to_facts(reuse_toml.parse_reuse_toml(text, name))}
    return {**entry, "evidence": metadata_evidence(text, name)}


def distribution(metadata: str, metadata_data: bytes, record: str, record_data: bytes) -> dict[str, Any]:
    """The record of an installed distribution: its metadata's evidence and the tree paths its
    installation record lists (paths only: the record's hashes and sizes say nothing of licenses)."""
    return {"file": metadata, "kind": "python-distribution", "sha256": _sha256(metadata_data),
            "evidence": metadata_evidence(_text(metadata_data), metadata),
            "record": {"file": record, "sha256": _sha256(record_data),
                       "paths": sorted(distribution_files(_text(record_data), record))}}
