"""PII in the strings that name a document, not only in its text.

A file named after its author's e-mail address, a record id holding a phone number, a URL with
a password in it: identifiers are published in more places than text (documents, removed/,
dead letters, the index, stats, logs), and most of those are written before the pii stage
runs. So when the recipe redacts PII, identifiers are redacted where they enter the run: input
file names when the run is planned, record ids, URLs and dates as records are read. The pii
stage's own redactor does it, with the recipe's settings, so a value is redacted in a name
exactly when it would be in the text.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from opencorpus.document import DeadLetter, Document
from opencorpus.stages.pii import PiiRedactor, PiiSettings

# Document metadata that names where a document came from; the rest are facts stages compute.
IDENTIFYING_METADATA = ("url", "path")
# Where a path or location splits into names: folders, a file's extension, a ":line" suffix.
# "data/jane.doe@example.org.jsonl:3" holds an address that the e-mail pattern misses whole
# (it reads "org.jsonl" as the domain's end, and "data/" as part of the local name).
_NAME_BREAKS = re.compile(r"(/|\\|\.(?=[A-Za-z0-9]{1,8}(?::\d+)?$)|:(?=\d+$))")


# A record's position after a file's name (":12", a line; "@4096", a WARC offset): digits that
# only count. Redacted apart, a file's name is analysed once per worker, not once per record.
_POSITION = re.compile(r"[:@]\d+$")
# Redacted texts a worker remembers (file names, folders and other repeated values; a few hundred KB).
CACHE_SIZE = 4096


class IdentifierRedactor:
    def __init__(self, settings: PiiSettings):
        self.redactor = PiiRedactor(settings)
        self.cache: dict[str, str] = {}

    def setup(self) -> None:
        self.redactor.setup()

    def redact(self, values: list[str]) -> list[str]:
        """Each value with its PII replaced by <TYPE> placeholders: first whole (a URL's password,
        an IPv6 address), then, where it has folders or an extension, name by name (an address in
        a file name). A trailing record position is kept as it is."""
        split = [_split_position(value) for value in values]
        pieces = [_NAME_BREAKS.split(text) for text in self._redact_texts([name for name, _ in split])]
        names = iter(self._redact_texts([p for parts in pieces if len(parts) > 1 for p in parts[::2]]))
        return ["".join(next(names) if i % 2 == 0 else p for i, p in enumerate(parts)) + position
                if len(parts) > 1 else parts[0] + position for parts, (_, position) in zip(pieces, split)]

    def _redact_texts(self, texts: list[str]) -> list[str]:
        """redact_many's texts, each distinct text analysed once per worker (file names and the
        folders of paths repeat from record to record)."""
        found = {text: self.cache[text] for text in texts if text in self.cache}
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            found.update(zip(missing, (text for text, _ in self.redactor.redact_many([(t, "text") for t in missing]))))
            if len(self.cache) + len(missing) > CACHE_SIZE:
                self.cache.clear()
            self.cache.update((text, found[text]) for text in missing[:CACHE_SIZE])
        return [found[text] for text in texts]

    def redact_outcomes(self, outcomes: list[Document | DeadLetter]) -> list[Document | DeadLetter]:
        """Documents and dead letters with their identifying fields redacted, in one batch."""
        fields = [_identifying_fields(outcome) for outcome in outcomes]
        redacted = iter(self.redact([value for f in fields for value in f.values()]))
        return [_with_fields(outcome, {key: next(redacted) for key in f}) for outcome, f in zip(outcomes, fields)]


def _split_position(value: str) -> tuple[str, str]:
    match = _POSITION.search(value)
    return (value[:match.start()], value[match.start():]) if match else (value, "")


def _identifying_fields(outcome: Document | DeadLetter) -> dict[str, str]:
    """What names the record: its id (after the source name), location, and for a document its
    created date and identifying metadata; for a dead letter its detail (which may quote a path)."""
    fields = {"location": outcome.location}
    if outcome.id is not None:
        fields["id"] = outcome.id.removeprefix(f"{outcome.source}/")
    if isinstance(outcome, DeadLetter):
        return {**fields, "detail": outcome.detail}
    if isinstance(outcome.created, str):
        fields["created"] = outcome.created
    return {**fields, **{f"metadata.{k}": v for k in IDENTIFYING_METADATA
                         if isinstance(v := outcome.metadata.get(k), str)}}


def _with_fields(outcome: Document | DeadLetter, fields: dict[str, str]) -> Document | DeadLetter:
    changes: dict[str, Any] = {k: v for k, v in fields.items() if not k.startswith("metadata.")}
    if "id" in changes:
        changes["id"] = f"{outcome.source}/{changes['id']}"
    if isinstance(outcome, Document):
        changes["metadata"] = {**outcome.metadata, **{k.removeprefix("metadata."): v for k, v in fields.items()
                                                       if k.startswith("metadata.")}}
    return dataclasses.replace(outcome, **changes)
