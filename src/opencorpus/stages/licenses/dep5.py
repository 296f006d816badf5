"""Machine-readable Debian copyright files (DEP-5; also REUSE's `.reuse/dep5`) applied to a path.

DEP-5 says: `*` matches any characters including `/`, `?` one character, `\\` escapes, patterns are
relative to the source root, and the LAST matching `Files:` stanza wins.

Recipe resolution parses the file and records only its facts (`to_facts`: per `Files:` stanza the
patterns, license and line); the stage rebuilds the stanzas from them (`from_facts`). Copyright
lines and license texts, which name people and their addresses, never leave the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opencorpus.stages.licenses.normalize import name_to_spdx

_FORMAT = re.compile(r"(?i)^format:\s*\S*(copyright-format|dep5|dep-5)")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]?(.*)$")
# An address in a `License:` line ("Expat <me@example.org>") is no part of a short name, and the
# short name is recorded in the manifest: it goes, with its brackets.
_ADDRESS = re.compile(r"\s*<[^>]*@[^>]*>|\s*\S+@\S+")


class Dep5Error(ValueError):
    """Not a machine-readable copyright file; the message names the file and line."""


@dataclass(frozen=True)
class Stanza:
    patterns: tuple[str, ...]
    regexes: tuple[re.Pattern, ...]
    license: str  # the DEP-5 short name(s) as written
    expression: str  # SPDX
    line: int


def _glob(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.S)


def _stanza(patterns: tuple[str, ...], license: str, expression: str, line: int) -> Stanza:
    return Stanza(patterns, tuple(_glob(p) for p in patterns), license, expression, line)


def is_machine_readable(text: str) -> bool:
    """Whether the file starts with a DEP-5 `Format:` header."""
    return bool(_FORMAT.match(text.lstrip()))


def parse_dep5(text: str, name: str = "copyright") -> list[Stanza]:
    """The `Files:` stanzas of a DEP-5 file, in file order."""
    if not is_machine_readable(text):
        raise Dep5Error(f"{name}: line 1: not a machine-readable copyright file (no DEP-5 'Format:' header)")
    stanzas: list[Stanza] = []
    fields: dict[str, list[str]] = {}
    current: str | None = None
    start = 1
    for number, line in enumerate(text.splitlines() + [""], start=1):
        if not line.strip():
            if "files" in fields:
                if "license" not in fields:
                    raise Dep5Error(f"{name}: line {start}: 'Files:' stanza without a 'License:' field")
                patterns = tuple(p[2:] if p.startswith("./") else p for p in " ".join(fields["files"]).split())
                short = _ADDRESS.sub("", fields["license"][0]).strip()
                stanzas.append(_stanza(patterns, short, name_to_spdx(short)[0], start))
            fields, current = {}, None
            continue
        if line.startswith("#"):
            continue
        m = _FIELD.match(line)
        if m and not line[:1].isspace():
            if not fields:
                start = number
            current = m.group(1).lower()
            fields[current] = [m.group(2)]
        elif current and line[:1].isspace():
            fields[current].append(line.strip())
        else:
            raise Dep5Error(f"{name}: line {number}: expected 'Field: value' or an indented continuation")
    return stanzas


def to_facts(stanzas: list[Stanza]) -> list[dict[str, Any]]:
    """What the manifest records of the stanzas: no Copyright field, no license text."""
    return [{"files": list(s.patterns), "license": s.license, "expression": s.expression, "line": s.line}
            for s in stanzas]


def from_facts(facts: list[dict[str, Any]]) -> list[Stanza]:
    """The stanzas `to_facts` recorded, ready to match paths."""
    return [_stanza(tuple(f["files"]), f["license"], f["expression"], f["line"]) for f in facts]


def evidence_for_path(stanzas: list[Stanza], path: str, name: str) -> dict[str, Any] | None:
    """Evidence from the last stanza whose pattern matches the path, or None."""
    for stanza in reversed(stanzas):
        for pattern, rx in zip(stanza.patterns, stanza.regexes):
            if rx.match(path):
                return {"method": "dep5", "where": f"{name}:{stanza.line}", "confidence": 1.0,
                        "matched": f"Files: {pattern}\nLicense: {stanza.license}", "expression": stanza.expression}
    return None
