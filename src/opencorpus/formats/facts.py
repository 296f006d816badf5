"""What one published document adds to stats.json: the facts the run sums and a takedown subtracts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def length_bin(characters: int) -> str:
    """The power-of-two bin a length falls in, named by its lower bound ('0' for empty):
    stats.json's documents.by_length, the histogram the dataset card draws."""
    return str(1 << (characters.bit_length() - 1)) if characters else "0"


def document_facts(source: str, metadata: dict[str, Any], tokens: int | None,
                   characters: int) -> Iterator[tuple[tuple[str, ...], int]]:
    """Counts one published document contributes to stats.json."""
    yield ("counts", "output"), 1
    yield ("sources", source, "output"), 1
    yield ("licenses", metadata["license"]), 1
    for entity, n in metadata["pii"].items():
        yield ("pii", entity), n
    yield ("documents", "characters"), characters
    yield ("documents", "by_length", length_bin(characters)), 1
    if "language" in metadata:  # set by the language stage, when it ran
        yield ("documents", "by_language", metadata["language"]), 1
    if "license_category" in metadata:  # set by a license policy, when one ran
        yield ("documents", "by_license_category", metadata["license_category"]), 1
    if tokens is not None:
        yield ("tokens", "total"), tokens
        yield ("tokens", "documents"), 1
        yield ("tokens", "by_source", source), tokens
        yield ("tokens", "by_license", metadata["license"]), tokens
        if "license_category" in metadata:
            yield ("tokens", "by_license_category", metadata["license_category"]), tokens
