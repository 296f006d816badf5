"""The one byte form of a JSON file people read (manifest.json, stats.json, run.json, index.json,
a signature): sorted keys, indent 2, UTF-8 as is, a trailing newline. JSON lines have their own
compact form (formats/jsonl.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def canonical_json(obj: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """One byte form per value; `default` converts values JSON cannot hold (without it they are an error)."""
    text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, default=default)
    return (text + "\n").encode("utf-8")
