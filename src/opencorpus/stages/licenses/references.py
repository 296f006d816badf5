"""Pointers to a license rather than its text: "... can be found in /usr/share/common-licenses/GPL-2".

Debian notices often state the license only by naming the file that holds it; the file name is a
Debian short name, normalised like DEP-5 names. When the sentence names a license of another
family than the file ("the complete text of the BSD License can be found in .../GPL-2"), the author
meant the license they named (the path is a copy-paste slip): the name gives the finding and the
path is kept as a lower-ranked `license-path` finding, which then shows as the conflict it is.
"""

from __future__ import annotations

import re
from typing import Any

from opencorpus.stages.licenses.normalize import name_to_spdx

_COMMON = re.compile(r"/usr/share/common-licenses/([A-Za-z0-9.+_-]*[A-Za-z0-9+])")
MAX_REFERENCES = 16
# "... text of the <name> can be found in "<path>": the license the sentence names, up to the path.
_NAMED = re.compile(r"(?i)\b(?:text|copy)\s+of\s+(?:the\s+)?([^.\n]{1,60}?)\s+(?:can|may)\s+be\s+found\s+"
                    r"(?:in|at|under)\s*[\"'<`]?$")
# License families told apart by name; Debian ships one common-licenses file for the first three
# (BSD is the 3-clause text), so a name of those families says which license it is.
_FAMILIES = [("BSD", re.compile(r"\bBSD\b"), "BSD-3-Clause"), ("Apache", re.compile(r"(?i)\bApache\b"), "Apache-2.0"),
             ("CC0", re.compile(r"\bCC0\b"), "CC0-1.0"),
             ("GNU", re.compile(r"(?i)\b(?:A|L)?GPL|\bGFDL\b|\bGNU\b|General\s+Public|Free\s+Documentation"), None),
             ("Artistic", re.compile(r"(?i)\bArtistic\b"), None), ("MPL", re.compile(r"(?i)\bMPL\b|\bMozilla\b"), None)]


def _family(name: str) -> tuple[str, str | None] | None:
    return next(((family, spdx) for family, rx, spdx in _FAMILIES if rx.search(name)), None)


def find_references(text: str) -> list[dict[str, Any]]:
    """Evidence for each distinct common-licenses file named in the text."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for m in _COMMON.finditer(text):
        name = m.group(1)
        if name in seen or len(out) == MAX_REFERENCES:
            continue
        seen.add(name)
        expression, known = name_to_spdx(name)
        if not known:
            continue
        line = text.count("\n", 0, m.start()) + 1
        found = {"method": "license-reference", "where": f"line {line}", "matched": m.group(0), "confidence": 0.9,
                 "expression": expression}
        named = _NAMED.search(text, max(0, m.start() - 160), m.start())
        meant, pointed = _family(named.group(1)) if named else None, _family(name)
        if named and meant and pointed and meant[0] != pointed[0] and meant[1]:
            first = text.count("\n", 0, named.start()) + 1
            out.append({"method": "license-reference", "where": f"lines {first}-{line}", "confidence": 0.8,
                        "matched": text[named.start():m.end()], "expression": meant[1]})
            found["method"] = "license-path"
        out.append(found)
    return out
