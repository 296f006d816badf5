"""License tagging: what the document itself says (SPDX-License-Identifier lines), else the
source's declared license, else NOASSERTION — always with the evidence.

Runs on the raw text, before PII redaction; the evidence's matched text is redacted later
together with the document text.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any, Iterator

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from opencorpus.document import Document

log = logging.getLogger(__name__)

NOASSERTION = "NOASSERTION"
# REUSE/SPDX convention: the tag may follow a comment marker anywhere on a line.
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:[ \t]*([^\n\r]*)")
# Comment closers and trailing punctuation that surround identifiers in source files.
_TRAILER = re.compile(r"(\s*(\*/|-->|\"\"\"|'''|#}|%>|\*|;|,))+\s*$")


@lru_cache(maxsize=1)
def _licensing() -> Licensing:
    return get_spdx_licensing()


def parse_spdx(expression: str) -> tuple[str | None, str | None]:
    """(normalized SPDX expression, None) or (None, why it is not valid)."""
    try:
        info = _licensing().validate(expression)
    except ExpressionError as e:
        return None, str(e)
    if info.errors:
        return None, "; ".join(info.errors)
    return info.normalized_expression, None


def find_spdx_identifiers(text: str) -> list[dict[str, Any]]:
    """Evidence for every `SPDX-License-Identifier:` line, valid or not, in text order."""
    found = []
    for m in _SPDX_LINE.finditer(text):
        value = _TRAILER.sub("", m.group(1)).strip()
        line = text.count("\n", 0, m.start()) + 1
        expression, error = parse_spdx(value) if value else (None, "empty identifier")
        evidence: dict[str, Any] = {
            "method": "spdx-identifier",
            "where": f"line {line}",
            "matched": m.group(0).strip(),
            "confidence": 1.0 if expression else 0.0,
        }
        if expression:
            evidence["expression"] = expression
        else:
            evidence["error"] = error
        found.append(evidence)
    return found


def combine(expressions: list[str]) -> str:
    """One expression for several findings: all of them apply (AND), duplicates folded."""
    unique = sorted(set(expressions))
    if len(unique) == 1:
        return unique[0]
    return str(_licensing().dedup(" AND ".join(f"({e})" for e in unique)).render())


class LicenseTagger:
    """Sets metadata.license (SPDX or NOASSERTION) and metadata.license_evidence."""

    name = "license"

    def __init__(self, options: dict[str, Any], declared: dict[str, str | None]):
        self.options = options
        self.declared = declared  # source name -> declared SPDX expression (recipe)

    def setup(self) -> None:
        _licensing()

    def process(self, doc: Document) -> Iterator[Document]:
        evidence = find_spdx_identifiers(doc.raw if doc.raw is not None else doc.text)
        for bad in (e for e in evidence if "error" in e):
            log.warning("%s: %s: unknown or invalid SPDX identifier (%s); not used", doc.location, bad["where"], bad["error"])
        expressions = [e["expression"] for e in evidence if "expression" in e]
        declared = self.declared.get(doc.source)
        if not expressions and declared:
            evidence.append({"method": "declared", "where": "recipe", "matched": declared, "confidence": 1.0,
                             "expression": declared})
            expressions = [declared]
        doc.metadata["license"] = combine(expressions) if expressions else NOASSERTION
        doc.metadata["license_evidence"] = evidence
        yield doc
