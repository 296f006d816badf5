"""Several findings -> one expression, with disagreements flagged rather than hidden.

Findings rank by how directly they speak for this document: an SPDX tag in the file (below a
REUSE.toml "override" table), then the
tree's machine-readable declaration for its path (DEP-5/REUSE, package metadata), then license
texts, notices and page markup, then pointers to license files. The best-ranked findings give the
expression (several of them: all apply, AND — or OR when the text offers a choice, "dual
licensed", "deux licences", "under either license": phrases.offers_choice; a license link then speaks
as the statement it stands for); any other finding that the expression does not
cover is marked `conflict: true`.
"""

from __future__ import annotations

import re
from typing import Any

from license_expression import ExpressionError

from opencorpus.stages.licenses.gnu import gnu_id
from opencorpus.stages.licenses.normalize import NOASSERTION, equivalent, join, licensing

RANK = {"spdx-identifier": 0, "reuse-licenses-dir": 1, "dep5": 1, "reuse-toml": 1, "python-metadata": 1,
        "license-text": 2, "license-statement": 2, "license-grant": 2, "html-rel-license": 2, "html-meta-license": 2,
        "json-ld-license": 2, "html-license-link": 2, "html-license-url": 3, "license-reference": 3, "license-path": 4}
# A REUSE.toml table's `precedence`: "aggregate" applies together with the file's SPDX tags (same
# rank), "override" beats them; "closest" (the default) is a fallback like a DEP-5 stanza.
_PRECEDENCE_RANK = {"aggregate": 0, "override": -1}


def _covers(expression: str, finding: dict[str, Any]) -> bool:
    """Whether a finding agrees with the expression: equal or part of it. A pointer to a license
    file names no "or later" (Debian's GPL-2 file serves both), so its "-only" also fits "-or-later"."""
    other = finding["expression"]
    forms = [other]
    if finding["method"] == "license-reference":
        forms.append(re.sub(r"-only\b", "-or-later", other))
    try:
        return any(equivalent(expression, o) or bool(licensing().contains(expression, o)) for o in forms)
    except ExpressionError:
        return False


def _implied(e: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether finding `e` adds nothing to `other`: a pointer ("GPL-2" file) that `other` covers
    ("GPL-2.0-or-later"), a GNU grant that is one side of a matched dual-license notice ("GPL-2.0-only"
    in "GPL-2.0-only OR BSD-2-Clause"), or "GPL-1.0-or-later" (LicenseDB's reading of an unversioned
    "GNU General Public License" mention) next to a later version of the same family."""
    if other["expression"] == e["expression"]:
        return False
    if e["method"] in ("license-reference", "license-grant") and _covers(other["expression"], e):
        return True
    mine, theirs = gnu_id(e["expression"]), gnu_id(other["expression"])
    return bool(mine and theirs and mine[2] and mine[0] == theirs[0] and theirs[1] > mine[1])


def combine(evidence: list[dict[str, Any]], choice: bool = False) -> tuple[str, bool]:
    """(expression or NOASSERTION, whether some finding conflicts); conflicting evidence is marked."""
    usable = [e for e in evidence if "expression" in e and e.get("scope", "page") == "page"]
    if not usable:
        return NOASSERTION, False
    # A page whose head or footer states a license: what its body says is about its content
    # (python-docs' license.html quotes a dozen licenses), so it ranks below.
    page_level = any(e["where"] in ("head", "footer") for e in usable)

    def rank(e: dict[str, Any]) -> int:
        body = e["where"] == "body" or e["method"] in ("license-text", "license-reference")
        base = _PRECEDENCE_RANK.get(e.get("precedence", ""), RANK.get(e["method"], 4))
        if choice and e["method"] == "html-license-url":  # the link is how the notice names one of its choices
            base = RANK["license-statement"]
        return max(base, 3) if page_level and body else base

    best = min(rank(e) for e in usable)
    first = [e for e in usable if rank(e) == best]
    top = [e["expression"] for e in first if not any(_implied(e, f) for f in first)]
    expression = join(top, "OR" if choice else "AND")
    conflict = False
    for e in usable:
        if rank(e) != best and not _covers(expression, e):
            e["conflict"] = True
            conflict = True
    return expression, conflict
