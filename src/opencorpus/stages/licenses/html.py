"""License markup on raw HTML: rel="license" links, <meta name="license">, JSON-LD `license`,
Creative Commons and other license URLs (a link whose text names the license states it, in any
language), and footer statements ("This page is licensed under ...").

Each finding records where it sits (head, footer or body): a license in a page's footer or head
speaks for the page; one in the body may be about something the page discusses.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from opencorpus.stages.licenses.normalize import name_to_spdx

MAX_FINDINGS = 32  # a page with dozens of license links gets the first ones, in page order
MAX_JSONLD_CHARS = 200_000
_TAG = re.compile(r"<(a|link|meta)\b[^>]*>", re.I | re.S)
_ATTR = re.compile(r"""([a-zA-Z:_-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")
_JSONLD = re.compile(r"""<script[^>]*type\s*=\s*["']application/ld\+json["'][^>]*>(.*?)</script>""", re.I | re.S)
_FOOTER = re.compile(r"""<footer\b|<(div|section|p)\b[^>]*\b(class|id)\s*=\s*["'][^"']*\bfooter\b""", re.I)
_LINK_TEXT = re.compile(r"(.{0,300}?)</(?:a|link)>", re.I | re.S)
_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)
_URLS = [  # other license URLs -> SPDX
    (re.compile(r"gnu\.org/licenses/(l?gpl|agpl|fdl)-(\d\.\d)", re.I), None),
    (re.compile(r"apache\.org/licenses/LICENSE-2\.0", re.I), "Apache-2.0"),
    (re.compile(r"opensource\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.php|\.html)?(?:[\"'#?]|$)", re.I), None),
    (re.compile(r"spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html)?(?:[\"'#?]|$)", re.I), None),
]
_STATEMENT = re.compile(
    r"\b(?P<scope>this (?:page|site|website|book|work|document|documentation|content|text)|"
    r"examples?, recipes?,? and other code[^.]{0,60}?)\s+(?:is|are)\s+(?:\w+\s+)?"
    r"(?:licensed|available|released|distributed|published)\s+under\s+(?:the terms of\s+)?(?:an?\s+|the\s+)?"
    r"(?P<name>(?:[^.<>\n]|\.(?=\d)){3,120}?)(?:\s+license|\s+licence)?\s*(?:\.(?!\d)|<|$)", re.I)
# SPDX list full names; LicenseDB calls its "python" entry "Python Software Foundation License v2",
# which would shadow PSF-2.0.
_SPDX_NAMES = {"Python Software Foundation License 2.0": "PSF-2.0", "Zero Clause BSD License": "0BSD",
               "BSD Zero Clause License": "0BSD"}
_STOP = {"the", "license", "licence", "version", "v", "unported", "generic", "international", "public"}


def _location(pos: int, head_end: int, footer_start: int) -> str:
    if pos < head_end:
        return "head"
    return "footer" if pos >= footer_start else "body"


def _squash(name: str) -> str:
    """Comparable form of a license name: "License, Version 2.0" and "License v2" both end in "2"."""
    name = re.sub(r"(\d)(\.0)+\b", r"\1", re.sub(r"(?i)\bv(?=\d)", "", name))
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "".join(w for w in words if w not in _STOP)


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """LicenseDB license names ("Python Software Foundation License v2") squashed -> SPDX id."""
    data = resources.files("licensedcode") / "data" / "licenses"
    out = {_squash(name): spdx for name, spdx in _SPDX_NAMES.items()}
    for entry in sorted(data.iterdir(), key=lambda p: p.name):
        head = ""
        if entry.name.endswith(".LICENSE"):
            with entry.open("r", encoding="utf-8", errors="replace") as f:
                head = f.read().split("\n---", 2)[0]
        fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line and not line.startswith(" "))
        spdx = fields.get("spdx_license_key", "").strip()
        if not spdx or fields.get("is_deprecated", "").strip() == "yes":
            continue
        for key in ("name", "short_name"):
            if fields.get(key):
                out.setdefault(_squash(fields[key]), spdx)
    return out


def spdx_from_name(name: str) -> str | None:
    """A license's full name ("Creative Commons Attribution-ShareAlike 3.0 Unported") as SPDX, if known."""
    found = _names().get(_squash(name))
    if found:
        return found
    expression, known = name_to_spdx(name)
    return expression if known else None


def spdx_from_url(url: str) -> str | None:
    m = _CC_URL.search(url)
    if m:
        kind, version = m.group(2).lower(), m.group(3)
        if m.group(1).lower() == "publicdomain":
            return "CC0-1.0" if kind == "zero" else "CC-PDDC" if kind == "mark" else None
        return f"CC-{kind.upper()}-{version}"
    for rx, fixed in _URLS:
        m = rx.search(url)
        if m:
            if fixed:
                return fixed
            if len(m.groups()) == 2:
                family = {"fdl": "GFDL"}.get(m.group(1).lower(), m.group(1).upper())
                return f"{family}-{m.group(2)}-only"
            expression, known = name_to_spdx(m.group(1))
            return expression if known else None
    return None


def _link_names_license(raw: str, tag_end: int, url: str) -> bool:
    """Whether a link's own text names the license it points to, in any language ("Creative Commons
    Attribution-Share Alike 3.0 Unported License", "크리에이티브 커먼즈 저작자표시-동일조건변경허락 3.0"):
    then the link is the page's statement of that license, not a bare address or badge."""
    m = _LINK_TEXT.match(raw, tag_end)
    text = html.unescape(re.sub(r"<[^>]+>", "", m.group(1))) if m else ""
    cc = _CC_URL.search(url)
    assert cc is not None  # the caller passes a Creative Commons URL
    return cc.group(3) in text and "creativecommons.org" not in text.lower()


def _attrs(tag: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v.strip("\"'")) for k, v in _ATTR.findall(tag)}


def _jsonld_licenses(value: Any) -> list[str]:
    if isinstance(value, dict):
        out: list[object] = []  # JSON values, strings kept below
        for k, v in value.items():
            if k.lower() == "license":
                out += [v] if isinstance(v, str) else [x.get("url") or x.get("name") for x in v if isinstance(x, dict)] \
                    if isinstance(v, list) else [v.get("url") or v.get("name")] if isinstance(v, dict) else []
            else:
                out += _jsonld_licenses(v)
        return [x for x in out if isinstance(x, str)]
    if isinstance(value, list):
        return [x for v in value for x in _jsonld_licenses(v)]
    return []


def find_markup(raw: str) -> list[dict[str, Any]]:
    """Evidence for license markup in an HTML page, in page order (at most MAX_FINDINGS)."""
    lower = raw.lower()
    head_end = lower.find("</head>")
    head_end = head_end if head_end >= 0 else 0
    footer = _FOOTER.search(raw, head_end)
    footer_start = footer.start() if footer else len(raw)
    found: list[tuple[int, dict[str, Any]]] = []

    def add(pos: int, method: str, matched: str, expression: str | None, confidence: float, **extra: Any) -> None:
        ev = {"method": method, "where": _location(pos, head_end, footer_start), "matched": matched[:300],
              "confidence": confidence, **extra}
        if expression:
            ev["expression"] = expression
        else:
            ev["error"] = "license not recognised"
        found.append((pos, ev))

    for m in _TAG.finditer(raw):
        attrs = _attrs(m.group(0))
        if "license" in attrs.get("rel", "").lower().split():
            add(m.start(), "html-rel-license", m.group(0), spdx_from_url(attrs.get("href", "")), 1.0)
        elif m.group(1).lower() == "meta" and attrs.get("name", "").lower() in ("license", "dc.rights", "dcterms.license"):
            content = attrs.get("content", "")
            add(m.start(), "html-meta-license", m.group(0), spdx_from_url(content) or spdx_from_name(content), 1.0)
        elif m.group(1).lower() in ("a", "link") and _CC_URL.search(attrs.get("href", "")):  # <link>: Mallard, DocBook
            method = "html-license-link" if _link_names_license(raw, m.end(), attrs["href"]) else "html-license-url"
            add(m.start(), method, m.group(0), spdx_from_url(attrs["href"]), 0.9)
    for m in _JSONLD.finditer(raw):
        try:
            data = json.loads(m.group(1)[:MAX_JSONLD_CHARS])
        except ValueError:
            continue
        for value in _jsonld_licenses(data):
            add(m.start(), "json-ld-license", value, spdx_from_url(value) or spdx_from_name(value), 1.0)
    text = re.sub(r"\s+", " ", raw)  # statements wrap across lines; positions are only used for head/footer
    for m in _STATEMENT.finditer(text):
        pos = int(m.start() * len(raw) / max(len(text), 1))
        name = html.unescape(m.group("name"))
        scope = "page" if m.group("scope").lower().startswith("this") else "code"
        expression = spdx_from_name(name)
        if not expression:  # prose such as "published under a free license": not a finding
            continue
        add(pos, "license-statement", m.group(0), expression, 0.9, scope=scope)
    found.sort(key=lambda f: f[0])
    return [ev for _, ev in found[:MAX_FINDINGS]]
