"""Offline language identification with py3langid (its model ships inside the wheel).

Sets `metadata["language"]` (ISO 639-1, or "und" for text with no letters to go by) and
`metadata["language_score"]` (probability, 4 decimals so the published value does not depend
on float noise); with `keep`, other languages are removed as `not-kept:<lang>` — except in
`code` sources, where the natural language of comments says nothing about the document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from opencorpus.document import Document, Removed
from opencorpus.stages import Outcome

UNDETERMINED = "und"
# The first characters decide: enough for a stable verdict, bounded time on huge documents.
MAX_CHARS = 20_000


@dataclass(frozen=True)
class LanguageOptions:
    """`stages.language`: the languages kept (None: every one)."""

    keep: frozenset[str] | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LanguageOptions:
        """From the resolved options (recipe resolution checks `keep`: null or a non-empty list of codes)."""
        return cls(keep=frozenset(options["keep"]) if options["keep"] is not None else None)


class LanguageIdentifier:
    name = "language"

    def __init__(self, options: LanguageOptions):
        self.keep = options.keep
        self._model: Any = None  # py3langid's LanguageIdentifier (untyped), loaded by setup()

    def setup(self) -> None:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as Model

        self._model = Model.from_model_file(MODEL_FILE, norm_probs=True)

    def identify(self, text: str) -> tuple[str, float]:
        sample = text[:MAX_CHARS]
        if not any(ch.isalpha() for ch in sample):
            return UNDETERMINED, 0.0
        language, score = self._model.classify(sample)
        return language, round(float(score), 4)

    def process(self, doc: Document) -> Iterator[Outcome]:
        language, score = self.identify(doc.text)
        if self.keep is not None and doc.kind != "code" and language not in self.keep:
            yield Removed(id=doc.id, source=doc.source, sha256=doc.metadata["sha256"], stage=self.name,
                          reason=f"not-kept:{language}", details={"language_score": score})
            return
        yield replace(doc, metadata={**doc.metadata, "language": language, "language_score": score})
