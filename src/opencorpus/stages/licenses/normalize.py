"""License names as people write them -> SPDX expressions.

Three vocabularies meet here: SPDX itself (validated with license-expression), ScanCode
LicenseDB keys (the matcher's labels; mapped with the LicenseDB index that license-expression
ships) and Debian DEP-5 short names (Expat, BSD-3-clause, GPL-2+, "A or B"), following the
reference normalisation of the shared corpora (corpuslib.debian_to_spdx).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from license_expression import ExpressionError

# The SPDX parser is shared with the recipe's check of declared licenses; imported from here too.
from opencorpus.spdx import licensing, parse_spdx

NOASSERTION = "NOASSERTION"

# Debian short names (lower-cased) whose SPDX id is not the name itself.
_DEBIAN = {
    "expat": "MIT", "mit": "MIT", "x11": "X11", "mit-0": "MIT-0", "bsd-0-clause": "0BSD",
    "gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later", "gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later",
    "gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later", "lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later",
    "lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later", "lgpl-3": "LGPL-3.0-only",
    "lgpl-3+": "LGPL-3.0-or-later", "agpl-3": "AGPL-3.0-only", "agpl-3+": "AGPL-3.0-or-later",
    "gfdl-1.2+": "GFDL-1.2-or-later", "gfdl-1.3+": "GFDL-1.3-or-later", "gfdl-1.3": "GFDL-1.3-only",
    "gfdl-niv-1.3+": "GFDL-1.3-no-invariants-or-later", "gfdl-niv-1.3": "GFDL-1.3-no-invariants-only",
    "apache-2": "Apache-2.0", "cc0": "CC0-1.0", "boost-1.0": "BSL-1.0", "gap": "FSFAP", "artistic-2": "Artistic-2.0",
    "edl-1.0": "BSD-3-Clause", "psf": "PSF-2.0", "python": "Python-2.0", "public-domain": "LicenseRef-Public-Domain",
}
_EXCEPTIONS = [  # the "with X exception" phrase of DEP-5 -> SPDX exception ({v}: GPL major version)
    (r"autoconf(-data)?", "Autoconf-exception-{v}"), (r"libtool", "Libtool-exception"),
    (r"bison(-2\.2)?", "Bison-exception-2.2"), (r"llvm", "LLVM-exception"), (r"linux-syscall-note", "Linux-syscall-note"),
    (r"font", "Font-exception-2.0"), (r"gcc-?3\.1|gcc runtime", "GCC-exception-3.1"), (r"classpath", "Classpath-exception-2.0"),
    (r"openssl", "OpenSSL-exception"),
]
# DEP-5 precedence: ", and" / ", or" bind loosest, then "or", then "and".
_SEPARATORS = [(r"(?i),\s*and\s+", "AND"), (r"(?i),\s*or\s+", "OR"), (r"(?i)\s+or\s+", "OR"),
               (r"(?i)\s+and/or\s+", "OR"), (r"(?i)\s+and\s+", "AND"), (r"\s*,\s*", "AND")]


@lru_cache(maxsize=1)
def licensedb() -> dict[str, dict]:
    """ScanCode LicenseDB index shipped with license-expression: key -> entry (category, SPDX key)."""
    raw = (resources.files("license_expression") / "data" / "scancode-licensedb-index.json").read_text("utf-8")
    return {e["license_key"]: e for e in json.loads(raw)}


@lru_cache(maxsize=1)
def _spdx_ids() -> dict[str, str]:
    """Lower-cased SPDX id (and LicenseDB alias) -> the SPDX id as spelled."""
    out: dict[str, str] = {}
    for e in licensedb().values():
        for key in [e["spdx_license_key"], *e.get("other_spdx_license_keys", [])]:
            if key and " " not in key:
                out.setdefault(key.lower(), e["spdx_license_key"])
    return out


def equivalent(a: str, b: str) -> bool:
    """Same license expression up to order, grouping and aliases (license-expression's test)."""
    try:
        return bool(licensing().is_equivalent(a, b))
    except ExpressionError:
        return a == b


def join(expressions: list[str], operator: str = "AND") -> str:
    """Distinct expressions joined (duplicates and equivalents folded, order canonical)."""
    unique: list[str] = []
    for e in sorted(set(expressions)):
        if not any(equivalent(e, u) for u in unique):
            unique.append(e)
    if len(unique) == 1:
        return unique[0]
    return str(licensing().dedup(f" {operator} ".join(f"({e})" for e in unique)).render())


@lru_cache(maxsize=4096)
def scancode_to_spdx(expression: str) -> str | None:
    """A LicenseDB expression ("gpl-2.0-plus OR apache-2.0") in SPDX terms, or None if a key is unknown."""
    parts = []
    for token in re.split(r"(\s+|\(|\))", expression.strip()):
        if token.lower() in ("and", "or", "with"):
            parts.append(token.upper())
        elif token.strip() and token not in "()":
            entry = licensedb().get(token)
            if not entry or not entry.get("spdx_license_key"):
                return None
            parts.append(entry["spdx_license_key"])
        else:
            parts.append(token)
    return "".join(parts)


def _atom(name: str) -> tuple[str, bool]:
    name = name.strip().strip("()").strip()
    m = re.match(r"(?i)^(.*?)\s+with\s+(.*?)\s+exception$", name)
    if m:
        base, ok = _atom(m.group(1))
        exc = m.group(2).strip().lower()
        for rx, spdx in _EXCEPTIONS:
            if re.fullmatch(rx, exc):
                if "{v}" in spdx:
                    v = re.search(r"GPL-(\d)", base)
                    if not v or v.group(1) not in "23":
                        break
                    spdx = spdx.format(v="2.0" if v.group(1) == "2" else "3.0")
                return f"{base} WITH {spdx}", ok
        return f"{base} WITH LicenseRef-{_ref(m.group(2))}-exception", False
    key = name.lower()
    if key in _DEBIAN:
        return _DEBIAN[key], True
    if key in _spdx_ids():
        return _spdx_ids()[key], True
    plus = re.fullmatch(r"(l?gpl|agpl|gfdl)-?(\d(?:\.\d)?)(\+|-or-later)?", key)
    if plus:  # GPL-2.0, LGPL2.1+ and friends
        family, version = plus.group(1).upper(), plus.group(2) + (".0" if "." not in plus.group(2) else "")
        return f"{family}-{version}-{'or-later' if plus.group(3) else 'only'}", True
    return f"LicenseRef-{_ref(name)}", False


def _ref(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", s.strip()).strip("-").replace("+", "plus") or "empty"


def name_to_spdx(name: str) -> tuple[str, bool]:
    """A free-form or DEP-5 license name/expression as SPDX: (expression, every part was recognised).

    Unrecognised parts become LicenseRef-<name>, so nothing is silently dropped.
    """
    valid, _ = parse_spdx(name) if not re.search(r"\s(or|and)\s|,", name) else (None, None)
    if valid and "LicenseRef" not in valid:
        return valid, True
    ok_all = True

    def level(s: str, seps: list[tuple[str, str]]) -> tuple[str, bool]:
        nonlocal ok_all
        if not seps:
            out, ok = _atom(s)
            ok_all &= ok
            return out, False
        rx, op = seps[0]
        parts = [p for p in re.split(rx, s) if p.strip()]
        if len(parts) == 1:
            return level(parts[0], seps[1:])
        outs = []
        for p in parts:
            out, compound = level(p, seps[1:])
            outs.append(f"({out})" if compound else out)
        return f" {op} ".join(outs), True

    out, _ = level(re.sub(r"\s+", " ", name.strip()), _SEPARATORS)
    normalized, _ = parse_spdx(out)
    return normalized or out, ok_all
