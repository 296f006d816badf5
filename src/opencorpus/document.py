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
    """The text as hashed: one leading BOM dropped, newlines unified, NFC, ASCII-stripped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:  # one scan; most texts have no CR
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():  # ASCII is NFC already, and isascii() is far quicker than normalize's check
        text = unicodedata.normalize("NFC", text)
    return text.strip(_ASCII_WHITESPACE)


def canonical_hash(text: str | bytes) -> str:
    """sha256 (lowercase hex) of the canonical text; bytes must be valid UTF-8.

    Raises UnicodeDecodeError for invalid UTF-8: bytes are never silently replaced.
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
    dot segments resolved, an empty path as '/'; the query is kept as it is (its order can matter).

    Raises ValueError for a URL without scheme or host.
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    port = parts.port
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    # urljoin resolves '.' and '..' segments (RFC 3986 5.2.4) and nothing else.
    path = urlsplit(urljoin("http://h/", parts.path or "/")).path
    return urlunsplit((scheme, netloc, path, parts.query, ""))


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
