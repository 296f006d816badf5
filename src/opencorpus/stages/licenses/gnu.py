"""GNU license grants read as a sentence, in English and in the translations found on real pages:
"under the terms of the GNU Lesser General Public License ... either version 2.1 of the License, or
(at your option) any later version" -> LGPL-2.1-or-later.

The grant's own words decide family, version and "or later", where near-identical reference notices
can only be told apart by those words (and a translated notice matches no reference at all, e.g. the
Danish "enten version 2 af denne licens eller (efter dit valg) enhver senere version").
"""

from __future__ import annotations

import re
from typing import Any

# License names: English (used untranslated in many translations too), then Romanian, French,
# Spanish, Italian, Portuguese. The qualifier word gives the family.
_NAME = re.compile(
    r"\bGNU\s+(?:(?P<q1>Lesser|Library|Affero|Free\s+Documentation)\s+)?(?:General\s+Public\s+)?Licen[cs]e\b"
    r"|\bLicen\w*\s+(?:P[uú]b+li\w*\s+G[eé]n[eé]r\w*)(?:\s+(?P<q3>Limit[ée]e|Reducida|Menor|Minore|Mic[ăa]|Affero))?"
    r"\s+(?:de\s+)?GNU\b",
    re.I)
_FAMILY = {"lesser": "LGPL", "library": "LGPL", "affero": "AGPL", "free documentation": "GFDL", "limitée": "LGPL",
           "limitee": "LGPL", "reducida": "LGPL", "menor": "LGPL", "minore": "LGPL", "mică": "LGPL", "mica": "LGPL"}
_VERSION = re.compile(r"\b(?:version|versión|versione|versiunea|versão|versie|wersja|verze|versjon|versionen)\s+"
                      r"(\d(?:\.\d)?)\b|\bv(\d(?:\.\d)?)\b", re.I)
# "any later version" and its translations; "only" is what a grant without it means.
_LATER = re.compile(r"\b(?:any\s+later|or\s+later|or\s+newer|senere|senare|nyere|latere|späteren|oricare\s+versiune\s+"
                    r"ulterioar|toute\s+version\s+ult[ée]rieure|versi[óo]n\s+posterior|vers[ãa]o\s+posterior|"
                    r"versione\s+successiva)", re.I)
_END = re.compile(r"\.\s+[A-ZÀ-Ý]|\n\s*\n")  # a sentence or paragraph ends
# "the full text of the GNU General Public License version 2 can be found in ...": a pointer to the
# license file names the file's version, not the grant's (Debian's GPL-2 file serves "2 or later").
_POINTER = re.compile(r"\b(?:text|copy)\s+of\s+(?:the\s+)?$", re.I)
_GNU = re.compile("gnu", re.I)
_NO_INVARIANTS = re.compile(r"\bno\s+Invariant\s+Sections\b", re.I)
_ID = re.compile(r"(A?L?GPL|GFDL)-(\d\.\d)(-no-invariants|-invariants)?-(only|or-later)")
MAX_GRANT_CHARS = 300
MAX_GRANTS = 16


def gnu_id(expression: str) -> tuple[str, float, bool] | None:
    """(family with variant, version, or later) of a single GNU license id, else None."""
    m = _ID.fullmatch(expression)
    return (m.group(1) + (m.group(3) or ""), float(m.group(2)), m.group(4) == "or-later") if m else None


def _family(m: re.Match[str]) -> str:
    qualifier = re.sub(r"\s+", " ", (m.group("q1") or m.group("q3") or "")).lower()
    return _FAMILY.get(qualifier, "GPL")


def find_grants(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(start, end, evidence) of each GNU license named together with its version in one sentence."""
    out: list[tuple[int, int, dict[str, Any]]] = []
    if not _GNU.search(text):  # cheap test first: most texts name no GNU license
        return out
    for m in _NAME.finditer(text):
        if len(out) == MAX_GRANTS:
            break
        if _POINTER.search(text, max(0, m.start() - 40), m.start()):
            continue
        end = _END.search(text, m.end(), m.end() + MAX_GRANT_CHARS)
        sentence = text[m.end():end.start() + 1 if end else m.end() + MAX_GRANT_CHARS]
        v = _VERSION.search(sentence)
        if not v or _NAME.search(sentence, 0, v.start()):  # the version belongs to another name
            continue
        family, version = _family(m), v.group(1) or v.group(2)
        version += "" if "." in version else ".0"
        later = bool(_LATER.search(sentence, v.end()))
        if family == "GFDL" and _NO_INVARIANTS.search(sentence):
            family, version = "GFDL", f"{version}-no-invariants"
        stop = m.end() + (len(sentence) if later else v.end())
        line = text.count("\n", 0, m.start()) + 1
        out.append((m.start(), stop, {
            "method": "license-grant", "where": f"lines {line}-{line + text.count(chr(10), m.start(), stop)}",
            "matched": text[m.start():stop][:600], "confidence": 0.95,
            "expression": f"{family}-{version}-{'or-later' if later else 'only'}"}))
    return out
