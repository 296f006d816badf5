"""The Document record, what happens to one, and the canonical text hash.

This is the ground floor: every other module uses these types and `canonical_hash`,
so that "the same document" means one thing everywhere (CLI, index, web page).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

_ASCII_WHITESPACE = " \t\n\v\f\r"


def canonical_text(text: str) -> str:
    """The text as hashed: one leading BOM dropped, newlines unified, NFC, ASCII-stripped.

    Total on str (lone surrogates pass through). Idempotent unless the result starts with a
    BOM: DESIGN.md drops exactly one, so a second one, or one after leading spaces, is text.
    """
    text = text.removeprefix("\ufeff")
    if "\r" in text:  # one scan; most texts have no CR
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():  # ASCII is NFC already, and isascii() is far quicker than normalize's check
        text = unicodedata.normalize("NFC", text)
    return text.strip(_ASCII_WHITESPACE)


def canonical_hash(text: str | bytes) -> str:
    """sha256 (lowercase hex) of the canonical text; bytes must be valid UTF-8.

    Raises UnicodeDecodeError for invalid UTF-8: bytes are never silently replaced; and
    UnicodeEncodeError for a str with a lone surrogate, which has no UTF-8 form to hash.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="strict")
    return digest_of_canonical(canonical_text(text))


def digest_of_canonical(text: str) -> str:
    """canonical_hash of a text that is canonical_text's output already (spares a second pass)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """The form pages are found by: lowercase scheme and host, no default port, no fragment,
    dot segments resolved, an empty path as '/', no spaces at either end; the query is kept as it
    is (its order can matter). Normalizing the result again changes nothing.

    Raises ValueError (never another exception) for a URL without scheme or host, with a port
    that is not a number in 0-65535, a malformed IP literal, or a lone surrogate (the result
    must have a UTF-8 form: index keys hash it).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    port = parts.port
    if parts.netloc.rpartition("@")[2].startswith("["):  # an IP literal (IPv6, IPvFuture) keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    # Without the fragment the query ends the URL (the path does when no query is left), and the
    # next normalization's strip() would take its trailing spaces: they go now.
    query = parts.query.rstrip()
    normalized = urlunsplit((scheme, netloc, _path(parts.path, ends_url=not query), query, ""))
    if not _has_utf8(normalized):
        raise ValueError("not a valid Unicode URL (lone surrogate)")
    return normalized


def _path(path: str, ends_url: bool) -> str:
    """The path with dot segments resolved, '/' when empty.

    Repeated until nothing changes (a pass that changes a nonempty path shortens it): urljoin
    drops an empty ';' parameter, which can leave a '..' or, at the URL's end, trailing spaces
    for one more pass.
    """
    while True:
        if ends_url:
            path = path.rstrip()
        # urljoin resolves '.' and '..' segments (RFC 3986 5.2.4) and nothing else. The leading
        # '/.' is a segment it drops; it keeps a path starting with '//' from being read as a host.
        resolved = urlsplit(urljoin("http://h/", "/." + (path or "/"))).path
        if resolved == path:
            return path
        path = resolved


def _has_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Document:
    """One document on its way through the stages.

    `location` (file:line or file) and `raw` (e.g. HTML for the license stage) are
    working fields: they are never published.
    """

    id: str
    text: str
    source: str
    kind: str = "text"
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    location: str = ""
    raw: str | None = None

    def to_dolma(self) -> dict[str, Any]:
        """The published record (Dolma field names)."""
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "added": self.added,
            "created": self.created,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class Removed:
    """A document a stage dropped on purpose; published in `removed/` (never its text)."""

    id: str
    source: str
    sha256: str
    stage: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "sha256": self.sha256,
            "stage": self.stage,
            "reason": self.reason,
            **({"details": self.details} if self.details else {}),
        }


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed: where it was, which stage, and why.

    `reason` is a short category (counted in stats); `detail` says what exactly. Neither
    carries document text, so dead letters cannot leak PII.
    """

    stage: str
    reason: str
    location: str
    source: str
    id: str | None = None
    detail: str = ""

    def to_record(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
            "location": self.location,
            "source": self.source,
            "id": self.id,
        }
