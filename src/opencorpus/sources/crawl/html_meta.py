"""What a crawler needs from an HTML page: its links and its robots / TDM meta tags.

A tolerant tokenizer (html.parser) so broken HTML still yields what it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from opencorpus.document import normalize_url


@dataclass
class PageMeta:
    links: list[str] = field(default_factory=list)
    robots: set[str] = field(default_factory=set)  # directives from <meta name="robots"|our token>
    tdm_reservation: bool = False


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
    """Links (absolute, normalized, http(s) only, in page order, unique) and meta directives."""
    collector = _Collector(robots_token)
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # html.parser can still raise on pathological input; keep what was read
        pass
    base = urljoin(url, collector.base) if collector.base else url
    seen: set[str] = set()
    for href in collector.hrefs:
        try:
            absolute = urljoin(base, href.strip())
            if urlsplit(absolute).scheme not in ("http", "https"):
                continue
            link = normalize_url(absolute)
        except ValueError:
            continue
        if link not in seen:
            seen.add(link)
            collector.meta.links.append(link)
    return collector.meta
