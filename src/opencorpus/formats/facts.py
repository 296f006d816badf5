"""What one published document adds to stats.json: the facts the run sums and a takedown subtracts."""

from __future__ import annotations


def document_facts(source: str, metadata: dict, tokens: int | None):
    """Counts one published document contributes to stats.json."""
    yield ("counts", "output"), 1
    yield ("sources", source, "output"), 1
    yield ("licenses", metadata["license"]), 1
    for entity, n in metadata["pii"].items():
        yield ("pii", entity), n
    if tokens is not None:
        yield ("tokens", "total"), tokens
        yield ("tokens", "documents"), 1
        yield ("tokens", "by_source", source), tokens
        yield ("tokens", "by_license", metadata["license"]), tokens
        if "license_category" in metadata:  # set by a license policy, when one ran
            yield ("tokens", "by_license_category", metadata["license_category"]), tokens
