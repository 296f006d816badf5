"""HTML -> text with trafilatura (as datatrove does), keeping the page title and URL.

Web readers (sources/html.py, sources/warc.py) hand a page over with its decoded HTML in
`doc.raw` and an empty `text`; this stage fills `text` with the extracted main content and
`metadata["sha256"]` with its canonical hash (for web documents the extracted text is the
"original text", docs/ARCHITECTURE.md "Contracts"). `raw` stays on the document for the license stage (CC markup,
footers) and is never published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from opencorpus.document import Document, Removed, canonical_text, digest_of_canonical
from opencorpus.stages import Outcome

# datatrove's Trafilatura extractor settings, except `deduplicate`: trafilatura's duplicate
# cache depends on the order pages arrive in a worker, which would make output nondeterministic.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_images": False,
    "deduplicate": False,
}


@dataclass(frozen=True)
class Extracted:
    text: str  # canonical text; "" when the page has no main content
    title: str | None


def extract_html(html: str, url: str | None = None, **options: Any) -> Extracted:
    """The main text and title of one page; broken or empty HTML gives empty text, never an error."""
    from trafilatura import extract
    from trafilatura.metadata import extract_title
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return Extracted("", None)
    title = extract_title(tree)
    text = extract(tree, url=url, **{**TRAFILATURA_OPTIONS, **options}) or ""
    return Extracted(canonical_text(_tidy(text)), canonical_text(title) if title else None)


def _tidy(text: str) -> str:
    """Drop whitespace-only lines and trailing blanks: indentation in the HTML source leaks into
    trafilatura's text as lines of tabs, which repetition filters count as duplicate lines."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


class HtmlExtractor:
    """Fills `text` of documents that carry HTML in `raw`; other documents pass unchanged."""

    name = "extract"

    def setup(self) -> None:
        # trafilatura logs a warning per page it discards; the Removed record already says so.
        logging.getLogger("trafilatura").setLevel(logging.ERROR)

    def process(self, doc: Document) -> Iterator[Outcome]:
        if doc.raw is None or doc.text:
            yield doc
            return
        result = extract_html(doc.raw, doc.metadata.get("url"))
        if not result.text:
            # metadata sha256 is still the hash of the page itself: the removed record can be found by it.
            yield Removed(id=doc.id, source=doc.source, sha256=doc.metadata["sha256"], stage=self.name,
                          reason="empty-extraction")
            return
        metadata = {**doc.metadata, "sha256": digest_of_canonical(result.text)}
        if result.title:
            metadata["title"] = result.title
        yield replace(doc, text=result.text, metadata=metadata)
