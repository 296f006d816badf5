"""Pointers to a license rather than its text: "... can be found in /usr/share/common-licenses/GPL-2".

Debian notices often state the license only by naming the file that holds it; the file name is a
Debian short name, normalised like DEP-5 names.
"""

from __future__ import annotations

import re
from typing import Any

from opencorpus.stages.licenses.normalize import name_to_spdx

_COMMON = re.compile(r"/usr/share/common-licenses/([A-Za-z0-9.+_-]*[A-Za-z0-9+])")
MAX_REFERENCES = 16


def find_references(text: str) -> list[dict[str, Any]]:
    """Evidence for each distinct common-licenses file named in the text."""
    out, seen = [], set()
    for m in _COMMON.finditer(text):
        name = m.group(1)
        if name in seen or len(out) == MAX_REFERENCES:
            continue
        seen.add(name)
        expression, known = name_to_spdx(name)
        if not known:
            continue
        line = text.count("\n", 0, m.start()) + 1
        out.append({"method": "license-reference", "where": f"line {line}", "matched": m.group(0),
                    "confidence": 0.9, "expression": expression})
    return out
