"""HTML pages: a folder or glob of files, one document per page (id = the relative path).

Only files named *.html, *.htm or *.xhtml are pages: a saved site's folder also holds CSS,
scripts and images, which are skipped (and logged).

`html_document` is shared with the WARC reader: it turns a page's bytes into a Document that
carries the decoded HTML in `raw` and an empty `text`, which the extract stage
(stages/extract.py) fills. Its `metadata["sha256"]` is the page's hash until then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote, urljoin

from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources.records import dead_letter, make_document, read_file_capped

log = logging.getLogger(__name__)

PAGE_SUFFIXES = (".html", ".htm", ".xhtml")
# A NUL byte in the first 8 KB means an image, archive or executable, whatever the server said.
_SNIFF_BYTES = 8192


def read_html(spec: SourceSpec, url: str, display: str, date: str, relative: str) -> Iterator[Document | DeadLetter]:
    """One page per file; its URL is `base_url` + the relative path when the recipe gives one."""
    if not relative.lower().endswith(PAGE_SUFFIXES):
        log.info("%s: skipped, not an HTML page (expected %s)", display, ", ".join(PAGE_SUFFIXES))
        return
    data = read_file_capped(spec, url, display, relative)
    if isinstance(data, DeadLetter):
        yield data
        return
    page_url = urljoin(spec.base_url.rstrip("/") + "/", quote(relative)) if spec.base_url else None
    yield html_document(spec, date, relative, data, display, url=page_url, path=relative)


def html_document(spec: SourceSpec, date: str, local_id: str, payload: bytes, location: str, charset: str | None = None,
                  created: str | None = None, url: str | None = None, path: str | None = None) -> Document | DeadLetter:
    """A page awaiting extraction, or a DeadLetter (too large, binary, not Unicode)."""
    if len(payload) > spec.max_document_bytes:
        return dead_letter(spec, location, "too-large",
                           f"page of more than {spec.max_document_bytes} bytes exceeds max_document_bytes", local_id)
    if b"\x00" in payload[:_SNIFF_BYTES]:
        return dead_letter(spec, location, "binary", "NUL bytes in the first 8 KB: binary data, not HTML", local_id)
    doc = make_document(spec, date, local_id, decode_html(payload, charset), location, created=created, url=url, path=path)
    if isinstance(doc, DeadLetter):
        return doc
    return replace(doc, raw=doc.text, text="")


def decode_html(payload: bytes, charset: str | None = None) -> str:
    """The declared charset when it decodes cleanly, else trafilatura's guess (UTF-8 first)."""
    from trafilatura.utils import decode_file

    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_file(payload)
