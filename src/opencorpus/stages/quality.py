"""Quality filters: datatrove's Gopher (quality, repetition), C4 and FineWeb filters as a stage.

Each document gets the preset of its source's kind (filters/quality/<name>.yaml, inlined in
the resolved recipe): the preset's filters run in order, and the first that rejects the
document removes it as `<filter>:<datatrove's reason>`. Only the filters' `filter(doc)` is
called, on a copy: their verdict counts, their edits do not (C4 drops lines it dislikes,
which would change the text after its hash was taken and after the license evidence).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opencorpus.document import Document, Removed
from opencorpus.stages import Outcome

ENGLISH = "en"


def _filter_classes() -> dict[str, type]:
    from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    return {"gopher_repetition": GopherRepetitionFilter, "gopher_quality": GopherQualityFilter,
            "c4": C4QualityFilter, "fineweb": FineWebQualityFilter}


def build_filters(preset: dict[str, Any], english: bool) -> list[tuple[str, Any]]:
    """(name, datatrove filter) pairs of a resolved preset; a ValueError names a bad key."""
    classes = _filter_classes()
    filters = []
    for name, kwargs in (preset.get("filters") or {}).items():
        if name not in classes:
            raise ValueError(f"unknown filter {name!r} (expected one of: {', '.join(classes)})")
        overrides = {} if english else (preset.get("other_languages") or {}).get(name) or {}
        try:
            filters.append((name, classes[name](**{**(kwargs or {}), **overrides})))
        except TypeError as e:
            raise ValueError(f"filter {name!r}: {e}") from None
    return filters


@dataclass(frozen=True)
class QualityOptions:
    """`stages.quality`: per source kind, its resolved preset (name, filters, other_languages)."""

    presets: dict[str, dict[str, Any]]

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> QualityOptions:
        """From the resolved options; each preset's filters are built once here, so that a bad
        filter or argument stops the run before it starts (a ValueError naming kind and preset)."""
        for kind, preset in options["presets"].items():
            try:
                build_filters(preset, english=True)
            except ValueError as e:
                raise ValueError(f"quality.presets.{kind} ({preset.get('name')}): {e}") from None
        return cls(presets=options["presets"])


class QualityFilter:
    """Drops documents that fail their kind's preset; every drop names the filter and reason."""

    name = "quality"
    exclusive = True  # datatrove's word tokenizers share spaCy state that concurrent calls corrupt

    def __init__(self, options: QualityOptions):
        self.presets = options.presets
        self._filters: dict[tuple[str, bool], list[tuple[str, Any]]] = {}

    def setup(self) -> None:
        self._filters = {(kind, english): build_filters(preset, english)
                         for kind, preset in self.presets.items() for english in (True, False)}

    def process(self, doc: Document) -> Iterator[Outcome]:
        from datatrove.data import Document as DatatroveDocument

        # No language stage (or no verdict): the filters' English defaults apply.
        english = doc.metadata.get("language", ENGLISH) in (ENGLISH, "und")
        for name, dt_filter in self._filters[(doc.kind, english)]:
            result = dt_filter.filter(DatatroveDocument(text=doc.text, id=doc.id))
            keep, reason = result if isinstance(result, tuple) else (result, None)
            if not keep:
                yield Removed(id=doc.id, source=doc.source, sha256=doc.metadata["sha256"], stage=self.name,
                              reason=f"{name}:{reason or 'rejected'}")
                return
        yield doc
