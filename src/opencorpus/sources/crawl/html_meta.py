"""What a crawler needs from an HTML page: its text in the right encoding, its links and its robots /
TDM meta tags.

A tolerant tokenizer (html.parser) so broken HTML still yields what it can.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from opencorpus.document import normalize_url

log = logging.getLogger(__name__)

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([-\w.:]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([-\w.:]+)", re.IGNORECASE)
_META_PRESCAN_BYTES = 1024  # the HTML standard looks for <meta charset> this far, no further
# The HTML standard reads these labels as windows-1252 (pages so labelled use 0x80-0x9F as it does),
# and a bare "utf-16" label as little-endian.
_LABEL_CODECS = {"ascii": "cp1252", "iso8859-1": "cp1252", "utf-16": "utf-16-le"}
# Python codecs that read any bytes but are no page encoding: escape decoders, and UTF-7 (which
# browsers refuse to read pages in).
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "utf-7"}


@dataclass
class PageMeta:
    links: list[str] = field(default_factory=list)
    robots: set[str] = field(default_factory=set)  # directives from <meta name="robots"|our token>
    tdm_reservation: bool = False


def decode_html(body: bytes, content_type: str = "") -> str:
    """The page's text, in the order the HTML standard decides its encoding: a byte-order mark, the
    HTTP charset, a <meta> charset near the top; else UTF-8 when the bytes are UTF-8, else windows-1252.

    Never raises: an unknown or unusable label is passed over for the next clue.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace")
    declared = _codec(_HTTP_CHARSET.search(content_type), from_meta=False) or \
        _codec(_META_CHARSET.search(body[:_META_PRESCAN_BYTES]), from_meta=True)
    if declared:
        try:
            return body.decode(declared, errors="replace")
        except (LookupError, UnicodeError):  # no text codec (base64), or one that refuses "replace" (idna)
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _codec(found: re.Match | None, from_meta: bool) -> str | None:
    """Python's codec for a charset label; None for no label, or one Python does not know or that names no page encoding."""
    if found is None:
        return None
    label = found.group(1)
    try:
        name = codecs.lookup(label.decode("ascii") if isinstance(label, bytes) else label).name
    except LookupError:
        return None
    if name in _NOT_CHARSETS:
        return None
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a <meta> read as ASCII cannot be in UTF-16: the standard takes UTF-8 then
    return _LABEL_CODECS.get(name, name)


class _Collector(HTMLParser):
    def __init__(self, robots_token: str):
        super().__init__(convert_charrefs=True)
        self.robots_token = robots_token.lower()
        self.base: str | None = None
        self.hrefs: list[str] = []
        self.meta = PageMeta()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        elif tag in ("a", "area") and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "meta":
            name = a.get("name", "").lower()
            content = a.get("content", "").lower()
            if name in ("robots", self.robots_token):
                self.meta.robots |= {d.strip() for d in content.split(",") if d.strip()}
            elif name == "tdm-reservation" and content.strip() == "1":
                self.meta.tdm_reservation = True


def page_meta(html: str, url: str, robots_token: str) -> PageMeta:
    """Links (absolute, normalized (ASCII), http(s) only, in page order, unique) and meta directives."""
    collector = _Collector(robots_token)
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # html.parser can still raise on pathological input; keep what was read
        log.debug("[crawl] html.parser gave up on %s", url, exc_info=True)
    base = (_join(url, collector.base) if collector.base else None) or url
    seen: set[str] = set()
    for href in collector.hrefs:
        link = _link(base, href)
        if link is not None and link not in seen:
            seen.add(link)
            collector.meta.links.append(link)
    return collector.meta


def _join(base: str, href: str) -> str | None:
    """href resolved against base; None when either is not a URL (so an unparseable <base> is ignored)."""
    try:
        return urljoin(base, href.strip())
    except ValueError:
        return None


def _link(base: str, href: str) -> str | None:
    """href as a normalized (ASCII) http(s) URL; None for other schemes and for what is no URL at all."""
    absolute = _join(base, href)
    try:
        if absolute is None or urlsplit(absolute).scheme not in ("http", "https"):
            return None
        return normalize_url(absolute)
    except ValueError:
        return None
