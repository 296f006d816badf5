"""Stage outcomes as JSON values and back, for the run cache (opencorpus/cache/files.py).

A Document keeps every field but `raw` (the HTML extract and license read, which nothing after
them does); Removed and DeadLetter keep all of theirs. `outcome_from_record(outcome_record(o))`
equals `o` for every outcome the stages make: their metadata is JSON already, as published.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.stages import Outcome

_KINDS: dict[str, type] = {"document": Document, "removed": Removed, "dead_letter": DeadLetter}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    fields = dataclasses.asdict(outcome)
    fields.pop("raw", None)
    return {"kind": _KIND_OF[type(outcome)], "fields": fields}


def outcome_from_record(record: dict[str, Any]) -> Outcome:
    """Raises KeyError or TypeError for a record not made by outcome_record."""
    return _KINDS[record["kind"]](**record["fields"])
