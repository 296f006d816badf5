"""The one form every URL takes inside the crawler: ASCII, then normalized.

Links come from pages (any script), redirects (raw header bytes) and the logs of earlier sessions;
HTTP request lines, WARC headers and the crawl log all need plain ASCII. So an IRI becomes a URI
(RFC 3987 3.1) once, when the URL enters the crawl: the host in IDNA (UTS #46 mapping, as browsers
do), everything else percent-encoded as UTF-8. The query is UTF-8 too, also on pages in a legacy
encoding (browsers would use the page's encoding there; UTF-8 is what most servers read).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import idna

from opencorpus.document import normalize_url

# What RFC 3986 lets stand in each part; anything else is percent-encoded. '%' stands when it
# starts an escape (a stray '%' is escaped first).
_USERINFO_SAFE = "!$&'()*+,;=:%~"
_PATH_SAFE = _USERINFO_SAFE + "@/"
_QUERY_SAFE = _PATH_SAFE + "?"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
# Browsers drop tabs and newlines anywhere in a URL (WHATWG URL parser), so "/a\nb" is "/ab".
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def canonical_url(url: str) -> str:
    """The crawler's form of a URL or IRI: ASCII (see the module doc), then `normalize_url`.

    Raises ValueError (UnicodeError included) for what cannot become an http(s)-style URL.
    Lone surrogates from `surrogateescape` decoding are written back as the bytes they stand for.
    """
    parts = urlsplit(_TAB_OR_NEWLINE.sub("", url.strip()))
    netloc = _netloc(parts)
    uri = urlunsplit((parts.scheme, netloc, _escape(parts.path, _PATH_SAFE), _escape(parts.query, _QUERY_SAFE), ""))
    return normalize_url(uri)


def _escape(text: str, safe: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", text), safe=safe, errors="surrogateescape")


def _netloc(parts: SplitResult) -> str:
    userinfo = ""
    if parts.username is not None:
        password = f":{_escape(parts.password, _USERINFO_SAFE)}" if parts.password else ""
        userinfo = _escape(parts.username, _USERINFO_SAFE) + password + "@"
    literal = parts.netloc.rpartition("@")[2].startswith("[")
    port = parts.port  # raises ValueError for a port that is no number in 0-65535
    return userinfo + _ascii_host(parts.hostname or "", literal) + (f":{port}" if port is not None else "")


def _ascii_host(host: str, literal: bool) -> str:
    """An IP literal as it is (urlsplit has checked it), a name in IDNA; ValueError for a name with
    characters no host can have (spaces, '/', '<' ...), which would otherwise reach DNS or the Host header."""
    if literal:
        if not host.isascii():
            raise ValueError(f"not an IP literal: {host!r}")
        return f"[{host}]"
    if not host.isascii():
        # UTS #46 maps case, width and compatibility forms first ('ＡＢ' is 'ab'); no IDNA2008
        # validity rules beyond that, as browsers do not apply them either ('☃.net' is a host).
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        host = ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                        for label in mapped.split("."))
    if not _REG_NAME.fullmatch(host):
        raise ValueError(f"not a host name: {host!r}")
    return host
