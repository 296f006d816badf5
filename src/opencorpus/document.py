"""The Document record, what happens to one, the canonical text hash and the one URL form.

This is the ground floor: every other module uses these types, `canonical_hash` and
`normalize_url`, so that "the same document" and "the same page" mean one thing everywhere
(crawler, readers, index, CLI, web page).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import idna

_ASCII_WHITESPACE = " \t\n\v\f\r"


def canonical_text(text: str) -> str:
    """The text as hashed: one leading BOM dropped, newlines unified, NFC, ASCII-stripped.

    Total on str (lone surrogates pass through). Idempotent unless the result starts with a
    BOM: the hash drops exactly one, so a second one, or one after leading spaces, is text.
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
# Browsers drop tabs and newlines anywhere in a URL (WHATWG URL parser), so "/a\nb" is "/ab".
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
# What RFC 3986 lets stand in each part; anything else is percent-encoded. '%' stands when it
# starts an escape (a stray '%' is escaped first); escapes are kept as written, not re-cased.
_USERINFO_SAFE = "!$&'()*+,;=:%~"
_PATH_SAFE = _USERINFO_SAFE + "@/"
_QUERY_SAFE = _PATH_SAFE + "?"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")


def normalize_url(url: str) -> str:
    """The one form of a URL: index keys, lookups and the crawler's seen-set and requests all use it.

    ASCII: an IRI becomes a URI (RFC 3987 3.1), so a page is found by what a browser's address
    bar shows ('/café') as well as by what went over the wire ('/caf%C3%A9'), and HTTP request
    lines, WARC headers and logs can carry it. The host goes into IDNA (UTS #46 mapping, as
    browsers do); user info, path and query are percent-encoded as UTF-8 (the query too, whatever
    the page's encoding: UTF-8 is what most servers read), a stray '%' included, while escapes
    already there stay as written ('%c3%a9' is not re-cased); tabs and newlines are dropped.
    Then: lowercase scheme and host, no default port, no fragment, dot segments resolved, an
    empty path as '/', no spaces at either end; the query keeps its order. Normalizing the
    result again changes nothing.

    Raises ValueError (never another exception, nor a subclass) for a URL without scheme or
    host ('http:////h/' too: its authority is empty), a host name with characters no host can
    have, a port that is not a number in 0-65535, a malformed IP literal, or a lone surrogate
    outside U+DC80-U+DCFF (those, left by `surrogateescape` decoding, are written back as the
    bytes they stand for).
    """
    try:
        return _normalize(url)
    except UnicodeError as e:  # idna's errors and unencodable surrogates: callers expect a plain ValueError
        raise ValueError(f"not a valid URL: {e}") from None


def _normalize(url: str) -> str:
    parts = urlsplit(_TAB_OR_NEWLINE.sub("", url.strip()))
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    port = parts.port  # raises ValueError for a port that is no number in 0-65535
    host = _host(parts.hostname, literal=parts.netloc.rpartition("@")[2].startswith("["))
    netloc = host if port in (None, _DEFAULT_PORTS.get(parts.scheme)) else f"{host}:{port}"
    if parts.username:  # an empty user name drops the user info, a password with it
        password = f":{_escape(parts.password, _USERINFO_SAFE)}" if parts.password else ""
        netloc = f"{_escape(parts.username, _USERINFO_SAFE)}{password}@{netloc}"
    # Escaped, path and query hold no spaces: none can end the URL for a later strip() to take.
    path = _path(_escape(parts.path, _PATH_SAFE))
    return urlunsplit((parts.scheme, netloc, path, _escape(parts.query, _QUERY_SAFE), ""))


def _escape(text: str, safe: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", text), safe=safe, errors="surrogateescape")


def _host(host: str, literal: bool) -> str:
    """The host in lowercase ASCII: an IP literal in its brackets (urlsplit has checked it), a name
    in IDNA. ValueError for a name with characters no host can have (spaces, '/', '<' ...): no
    browser would go there, and the crawler would hand it to DNS and the Host header."""
    if literal:
        if not host.isascii():  # ipaddress reads non-ASCII digits as digits
            raise ValueError(f"not an IP literal: {host!r}")
        return f"[{host.lower()}]"  # urlsplit leaves an IPv6 zone's case ('%eth0'); keys lowercase it
    if not host.isascii():
        # UTS #46 maps case, width and compatibility forms first ('ＡＢ' is 'ab'); no IDNA2008
        # validity rules beyond that, as browsers do not apply them either ('☃.net' is a host).
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        host = ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                        for label in mapped.split("."))
    if not _REG_NAME.fullmatch(host):
        raise ValueError(f"not a host name: {host!r}")
    return host.lower()


def _path(path: str) -> str:
    """The path with dot segments resolved, '/' when empty.

    Repeated until nothing changes (a pass that changes a nonempty path shortens it): urljoin
    drops an empty ';' parameter, which can leave a '..' for one more pass.
    """
    while True:
        # urljoin resolves '.' and '..' segments (RFC 3986 5.2.4) and nothing else. The leading
        # '/.' is a segment it drops; it keeps a path starting with '//' from being read as a host.
        resolved = urlsplit(urljoin("http://h/", "/." + (path or "/"))).path
        if resolved == path:
            return path
        path = resolved


@dataclass
class Document:
    """One document on its way through the stages.

    `location` (file:line or file), `raw` (e.g. HTML for the license stage) and `carried`
    (a document of the previous version an incremental run builds on: it went through every
    stage there, and survives dedup here) are working fields: they are never published.
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
    carried: bool = False

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
