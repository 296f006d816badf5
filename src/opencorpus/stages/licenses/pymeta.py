"""Python package metadata (PKG-INFO / METADATA): the distribution's license for its files.

Core metadata 2.4's `License-Expression` is SPDX already; otherwise the `License ::` trove
classifiers, whose names are matched to SPDX ids; the free-text `License:` field last.

In a site-packages tree each distribution's files are the ones its installation record lists:
`*.dist-info/RECORD` (CSV rows `path,hash,size`, paths relative to site-packages) or, for
`*.egg-info`, `installed-files.txt` (paths relative to the egg-info folder) or `SOURCES.txt`.
"""

from __future__ import annotations

import csv
import posixpath
from email.parser import HeaderParser
from typing import Any

from opencorpus.stages.licenses.html import spdx_from_name
from opencorpus.stages.licenses.normalize import join, name_to_spdx, parse_spdx

# Classifiers whose last part is not a license name LicenseDB knows; "BSD License" does not say
# which BSD, so it stays a LicenseRef rather than a guess.
_CLASSIFIERS = {"License :: OSI Approved :: BSD License": "LicenseRef-BSD",
                "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
                "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
                "License :: Public Domain": "LicenseRef-Public-Domain"}


def metadata_evidence(text: str, name: str) -> dict[str, Any] | None:
    """Evidence for the distribution's license, or None when the metadata states none."""
    meta = HeaderParser().parsestr(text)
    if meta.get("License-Expression"):
        expression, error = parse_spdx(meta["License-Expression"].strip())
        if expression:
            return _evidence(name, f"License-Expression: {meta['License-Expression'].strip()}", expression, 1.0)
    found, lines = [], []
    for classifier in meta.get_all("Classifier") or []:
        classifier = classifier.strip()
        if not classifier.startswith("License ::") or classifier == "License :: OSI Approved":
            continue
        expression = _CLASSIFIERS.get(classifier) or spdx_from_name(classifier.rsplit("::", 1)[-1])
        if expression:
            found.append(expression)
            lines.append(f"Classifier: {classifier}")
    if found:
        # Several license classifiers mean the distribution may be used under any of them.
        return _evidence(name, "\n".join(lines), join(found, "OR"), 0.9)
    free = (meta.get("License") or "").strip()
    if free and "\n" not in free and len(free) < 100:
        expression, known = name_to_spdx(free)
        if known:
            return _evidence(name, f"License: {free}", expression, 0.8)
    return None


def _evidence(name: str, matched: str, expression: str, confidence: float) -> dict[str, Any]:
    return {"method": "python-metadata", "where": name, "matched": matched, "confidence": confidence,
            "expression": expression}


def distribution_files(text: str, name: str) -> frozenset[str]:
    """The tree paths an installation record lists (`name`: its path under the tree root); entries
    outside the tree (`../../../bin/tool` scripts, absolute paths) are not files of the tree."""
    folder = posixpath.dirname(name)
    if posixpath.basename(name) == "RECORD":
        base, entries = posixpath.dirname(folder), [row[0] for row in csv.reader(text.splitlines()) if row]
    elif posixpath.basename(name) == "installed-files.txt":
        base, entries = folder, text.splitlines()
    else:  # SOURCES.txt: paths in the source tree, which a flat layout installs as they are
        base, entries = posixpath.dirname(folder), text.splitlines()
    out = set()
    for entry in (e.strip() for e in entries):
        path = posixpath.normpath(posixpath.join(base, entry)) if entry else ""
        if path and path != "." and not path.startswith(("../", "/")) and path != "..":
            out.add(path)
    return frozenset(out)
