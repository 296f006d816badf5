"""GNU license grants read as a sentence, in English and in translation: "under the terms of the GNU
Lesser General Public License ... either version 2.1 of the License, or (at your option) any later
version" -> LGPL-2.1-or-later; "GNU 通用公共许可证第 3 版或更新版本" -> GPL-3.0-or-later.

The grant's own words decide family, version and "or later", where near-identical reference notices
can only be told apart by those words (and a translated notice matches no reference at all, e.g. the
Danish "enten version 2 af denne licens eller (efter dit valg) enhver senere version"). The words
of each language are in `phrases`; a name is a run of them around "GNU" (or a GPL/LGPL token), and
the version stands after the name or, in languages that put it first ("نگارش ۳ یا بالاتر پروانهٔ
جامع همگانی گنو", "wersji trzeciej Powszechnej Licencji Publicznej GNU"), before it.
"""

from __future__ import annotations

import re
from typing import Any

from opencorpus.stages.licenses import phrases

# "GNU", or a GPL token named as a license ("лицензии GPL версии 3", "License GPLv3+"); a bare "GPL v2" in
# prose or "GPL-2.0+" (an SPDX id, read apart) is no grant.
_ANCHOR = re.compile(rf"{phrases.GNU.pattern}|(?:{phrases.LICENSE.pattern})\s+(?:L|A)?GPL(?![a-z-])", re.I)
# Where an anchor can be: a literal scan (str.find) is fast on a 5 MB file, the anchor pattern is not.
_ANCHOR_KEYS = tuple(v for key in ("gnu", "gpl", "public", "públic", "pubblic", "publiczn", "общественн", "громадськ", "kamu")
                     for v in (key, key.upper(), key.capitalize())) + ("جنو", "گنو", "그누")
ANCHOR_REACH = 48  # the anchor pattern reaches this far around its key ("Licencia Pública General" around "Públic")
_RIGHT = re.compile(rf"(?:{phrases.NAME_GAP}{phrases.NAME_WORD})*", re.I)
_LEFT = re.compile(rf"(?:{phrases.NAME_WORD}{phrases.NAME_GAP})*$", re.I)
_GPL_TOKEN = re.compile(r"(L|A)?GPL", re.I)
_VERSION_HERE = re.compile(r"[-\s]?v?(\d(?:\.\d)?)(?![\d.]*\d)", re.I)  # "GPLv3", "GPL-3", "GPL 2"
_END = re.compile(r"\.\s+[A-ZÀ-ÝА-ЯІЇЄ]|[。؟]|\n\s*\n")  # a sentence or paragraph ends
# "the full text of (version 2 of) the GNU General Public License can be found in ...", "a copy of the GNU
# GPL": a pointer to the license file names the file's version, not the grant's (Debian's GPL-2 file
# serves "2 or later").
_POINTER = re.compile(r"\b(?:text|copy)\s+of\b", re.I)
_NO_INVARIANTS = re.compile(r"\bno\s+Invariant\s+Sections\b", re.I)
_ID = re.compile(r"(A?L?GPL|GFDL)-(\d\.\d)(-no-invariants|-invariants)?-(only|or-later)")
MAX_NAME_CHARS = 80  # how far a translated name reaches before "GNU" ("Licence Publique Générale limitée GNU")
MAX_GRANT_CHARS = 300
NEXT_SENTENCE_CHARS = 30
LATER_WITHIN = 120  # "or later" follows the version closely ("..., or (at your option) any later version")
MAX_GRANTS = 16


def gnu_id(expression: str) -> tuple[str, float, bool] | None:
    """(family with variant, version, or later) of a single GNU license id, else None."""
    m = _ID.fullmatch(expression)
    return (m.group(1) + (m.group(3) or ""), float(m.group(2)), m.group(4) == "or-later") if m else None


def _anchors(text: str) -> list[re.Match[str]]:
    windows = phrases.key_windows(text, _ANCHOR_KEYS, ANCHOR_REACH)
    return [a for lo, hi in windows for a in _ANCHOR.finditer(text, lo, hi)]


def _name_span(text: str, anchor: re.Match[str]) -> tuple[int, int] | None:
    """The license name around a GNU anchor (its words in any language), or None when the words
    around "GNU" name no license ("GNU project", "GNU/Linux")."""
    right = _RIGHT.match(text, anchor.end())
    assert right is not None  # a starred group: matches at least the empty string
    end = right.end()
    left = _LEFT.search(text, max(0, anchor.start() - MAX_NAME_CHARS), anchor.start())
    start = left.start() if left else anchor.start()
    name = text[start:end]
    return (start, end) if phrases.LICENSE.search(name) or _GPL_TOKEN.search(name) else None


def _family(name: str) -> str:
    token = _GPL_TOKEN.search(name)
    if phrases.AFFERO.search(name) or (token and (token.group(1) or "").upper() == "A"):
        return "AGPL"
    if phrases.DOCUMENTATION.search(name):
        return "GFDL"
    if phrases.LESSER.search(name) or (token and (token.group(1) or "").upper() == "L"):
        return "LGPL"
    return "GPL"


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence holding text[start:end] begins (at most MAX_GRANT_CHARS before) and ends."""
    begin = max(0, start - MAX_GRANT_CHARS)
    ends_before = [m.end() - 1 for m in _END.finditer(text, begin, start)]
    after = _END.search(text, end, end + MAX_GRANT_CHARS)
    return (ends_before[-1] if ends_before else begin), (after.start() + 1 if after else end + MAX_GRANT_CHARS)


def _version_after(text: str, end: int, stop: int) -> tuple[re.Match[str], bool] | None:
    """The version the name is followed by in its sentence (None when another name comes first), and
    whether "or later" follows it."""
    here = _VERSION_HERE.match(text, end)
    v = here if here and _GPL_TOKEN.search(text, max(0, end - 4), end) else phrases.VERSION.search(text, end, stop)
    # A translation may start a new sentence with the version ("... festgelegt wurde. Entweder in Version 2
    # der Lizenz oder ..."): the next sentence's opening words still belong to the grant.
    v = v or phrases.VERSION.search(text, stop, stop + NEXT_SENTENCE_CHARS)
    if not v or any(_name_span(text, a) for a in _ANCHOR.finditer(text, end, v.start())):
        return None
    return v, _later(text, v.end(), max(stop, v.end() + LATER_WITHIN))


def _version_before(text: str, begin: int, start: int) -> tuple[re.Match[str], bool] | None:
    """The last version in the sentence before the name, and whether "or later" stands between them."""
    found = list(phrases.VERSION.finditer(text, begin, start))
    if not found or any(_name_span(text, a) for a in _ANCHOR.finditer(text, found[-1].end(), start)):
        return None
    return found[-1], _later(text, found[-1].end(), start)


def _later(text: str, at: int, stop: int) -> bool:
    return text.startswith("+", at) or bool(phrases.LATER_TERMS.search(text, at, min(stop, at + LATER_WITHIN)))


def _version(m: re.Match[str]) -> str:
    if m.re is _VERSION_HERE:
        number = m.group(1)
        return number if "." in number else number + ".0"
    return phrases.version_of(m)


def find_grants(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(start, end, evidence) of each GNU license named together with its version in one sentence."""
    out: list[tuple[int, int, dict[str, Any]]] = []
    plain = phrases.ascii_digits(text)  # same offsets; "۲٫۱" reads as "2.1"
    taken = -1
    for anchor in _anchors(plain):
        if len(out) == MAX_GRANTS:
            break
        span = _name_span(plain, anchor) if anchor.start() >= taken else None
        if span is None:
            continue
        taken = span[1]  # "General Public License" inside "GNU General Public License" is the same name
        begin, stop = _sentence_bounds(plain, *span)
        if _POINTER.search(plain, begin, span[0]):
            continue
        after = _version_after(plain, span[1], stop)
        found = after or _version_before(plain, begin, span[0])
        if not found:
            continue
        v, later = found
        family, version = _family(plain[span[0]:span[1]]), _version(v)
        if family == "GFDL" and _NO_INVARIANTS.search(plain, span[1], stop):
            version += "-no-invariants"
        first = min(span[0], v.start())
        last = (min(stop, v.end() + LATER_WITHIN) if later else v.end()) if after else span[1]
        line = text.count("\n", 0, first) + 1
        out.append((first, last, {
            "method": "license-grant", "where": f"lines {line}-{line + text.count(chr(10), first, last)}",
            "matched": text[first:last][:600], "confidence": 0.95,
            "expression": f"{family}-{version}-{'or-later' if later else 'only'}"}))
    return out
