"""REUSE.toml (REUSE Specification 3.2): `[[annotations]]` tables give the license of the paths
they name.

Spec rules kept here: `version = 1`; `path` is a string or list of globs relative to the file's
folder, where `*` does not cross `/`, `**` (and `**/`) does, `\\*` is a literal asterisk; of the
tables matching a path only the LAST one is used; `precedence` is "closest" (default: the file's
own SPDX tags win, the table is a fallback), "aggregate" (the table applies together with the
file's tags) or "override" (the table wins over the file's tags). Several
`SPDX-License-Identifier` values all apply (AND).

Recipe resolution parses the file and records only its facts (`to_facts`: per table the paths,
precedence and license); the stage rebuilds the tables from them (`from_facts`).
`SPDX-FileCopyrightText`, which names people and their addresses, never leaves the file.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from opencorpus.stages.licenses.normalize import join, parse_spdx

PRECEDENCES = ("closest", "aggregate", "override")


class ReuseTomlError(ValueError):
    """Not a valid REUSE.toml; the message names the file and the table or key."""


@dataclass(frozen=True)
class Annotation:
    patterns: tuple[str, ...]
    regex: re.Pattern
    precedence: str
    expression: str | None  # SPDX; None when the table states copyright only
    number: int  # 1-based position among the [[annotations]] tables


def _glob(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _strings(value: Any, where: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise ReuseTomlError(f"{where}: expected a string or a list of strings, got {value!r}")
    return values


def parse_reuse_toml(text: str, name: str = "REUSE.toml") -> list[Annotation]:
    """The annotation tables of a REUSE.toml, in file order; paths are taken relative to the
    folder of `name` (its path under the source root)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ReuseTomlError(f"{name}: not valid TOML: {e}") from None
    if data.get("version") != 1:
        raise ReuseTomlError(f"{name}: version: expected 1 (REUSE.toml schema 1), got {data.get('version')!r}")
    tables = data.get("annotations", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ReuseTomlError(f"{name}: annotations: expected [[annotations]] tables")
    out = []
    for number, table in enumerate(tables, start=1):
        where = f"{name}: annotations[{number}]"
        if "path" not in table:
            raise ReuseTomlError(f"{where}: missing 'path'")
        patterns = tuple(_strings(table["path"], f"{where}.path"))
        precedence = table.get("precedence", "closest")
        if precedence not in PRECEDENCES:
            raise ReuseTomlError(f"{where}.precedence: expected one of {', '.join(PRECEDENCES)}, got {precedence!r}")
        if "SPDX-FileCopyrightText" in table:
            _strings(table["SPDX-FileCopyrightText"], f"{where}.SPDX-FileCopyrightText")
        expressions = []
        for value in _strings(table["SPDX-License-Identifier"], f"{where}.SPDX-License-Identifier") \
                if "SPDX-License-Identifier" in table else []:
            expression, error = parse_spdx(value, refs=True)
            if not expression:
                raise ReuseTomlError(f"{where}.SPDX-License-Identifier: not a valid SPDX expression ({error})")
            expressions.append(expression)
        out.append(_annotation(name, patterns, precedence, join(expressions) if expressions else None, number))
    return out


def _annotation(name: str, patterns: tuple[str, ...], precedence: str, expression: str | None,
                number: int) -> Annotation:
    """A table whose paths are taken relative to the folder of `name`, the REUSE.toml's path."""
    folder = posixpath.dirname(name)
    prefix = re.escape(folder + "/") if folder else ""
    regex = re.compile(prefix + "(?:" + "|".join(_glob(p) for p in patterns) + ")", re.S)
    return Annotation(patterns, regex, precedence, expression, number)


def to_facts(annotations: list[Annotation]) -> list[dict[str, Any]]:
    """What the manifest records of the tables, in file order (a copyright-only table stays: as the
    last match for a path it still hides the tables before it)."""
    return [{"path": list(a.patterns), "precedence": a.precedence, "SPDX-License-Identifier": a.expression}
            for a in annotations]


def from_facts(facts: list[dict[str, Any]], name: str) -> list[Annotation]:
    """The tables `to_facts` recorded for the REUSE.toml at `name`, ready to match paths."""
    return [_annotation(name, tuple(f["path"]), f["precedence"], f["SPDX-License-Identifier"], number)
            for number, f in enumerate(facts, start=1)]


def evidence_for_path(annotations: list[Annotation], path: str, name: str) -> dict[str, Any] | None:
    """Evidence from the last table whose path matches, or None (also when that table names no license)."""
    for a in reversed(annotations):
        if a.regex.fullmatch(path):
            if a.expression is None:
                return None
            return {"method": "reuse-toml", "where": f"{name}: annotations[{a.number}]", "confidence": 1.0,
                    "matched": f"path = {', '.join(a.patterns)}\nprecedence = {a.precedence}\n"
                               f"SPDX-License-Identifier = {a.expression}",
                    "expression": a.expression, "precedence": a.precedence}
    return None
