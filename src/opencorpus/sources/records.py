"""Turning one raw record of any source format into a Document, or a dead letter saying why not."""

from __future__ import annotations

from typing import Any

from opencorpus import storage
from opencorpus.document import DeadLetter, Document, canonical_text, digest_of_canonical, normalize_url
from opencorpus.recipe import SourceSpec

STAGE = "ingest"


def dead_letter(spec: SourceSpec, location: str, reason: str, detail: str, local_id: str | None = None) -> DeadLetter:
    return DeadLetter(stage=STAGE, reason=reason, detail=detail, location=location, source=spec.name,
                      id=f"{spec.name}/{local_id}" if local_id is not None else None)


def read_file_capped(spec: SourceSpec, url: str, display: str, local_id: str) -> bytes | DeadLetter:
    """A one-document file's bytes, at most max_document_bytes + 1 (enough to see it is too large)."""
    try:
        with storage.open_url(url, "rb") as f:
            return f.read(spec.max_document_bytes + 1)
    except OSError as e:
        return dead_letter(spec, display, "unreadable", f"unreadable file: {e}", local_id)


def make_document(spec: SourceSpec, date: str, local_id: str, text: Any, location: str,
                  created: Any = None, url: str | None = None, path: str | None = None) -> Document | DeadLetter:
    """A Document with its canonical text and hash, or a DeadLetter naming the problem.

    `text` may be bytes (strict UTF-8) or str; anything else is a bad record.
    """
    if isinstance(text, bytes):
        if len(text) > spec.max_document_bytes:
            return _too_large(spec, location, local_id, len(text))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            return dead_letter(spec, location, "invalid-utf8", f"invalid UTF-8 at byte {e.start}", local_id)
    if not isinstance(text, str):
        return dead_letter(spec, location, "bad-field",
                           f"field '{spec.text_field}' is {type(text).__name__}, expected a string", local_id)
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > spec.max_document_bytes:
        return _too_large(spec, location, local_id, size)
    try:
        text = canonical_text(text)
        sha256 = digest_of_canonical(text)
    except UnicodeEncodeError:  # lone surrogates from a JSON "\ud800" escape
        return dead_letter(spec, location, "invalid-unicode", "text is not valid Unicode (lone surrogate)", local_id)
    metadata: dict[str, Any] = {"sha256": sha256}
    if url not in (None, ""):
        if problem := _url_problem(url):
            return dead_letter(spec, location, "bad-url", problem, local_id)
        metadata["url"] = url
    if path is not None:
        metadata["path"] = path
    return Document(
        id=f"{spec.name}/{local_id}",
        text=text,
        source=spec.name,
        kind=spec.kind,
        added=date,
        created=None if created is None else str(created),
        metadata=metadata,
        location=location,
    )


def _too_large(spec: SourceSpec, location: str, local_id: str, size: int) -> DeadLetter:
    return dead_letter(spec, location, "too-large",
                       f"document of {size} bytes exceeds max_document_bytes={spec.max_document_bytes}", local_id)


def _url_problem(url: Any) -> str | None:
    """Why the index could not key a document by this URL (normalize_url refuses it), or None.
    The URL itself is not quoted: it can carry a password."""
    if not isinstance(url, str):
        return f"url is {type(url).__name__}, expected a string"
    try:
        normalize_url(url)
    except ValueError:
        return "url is not an absolute URL with a valid host and a port in 0-65535"
    return None
