"""Python package metadata (PKG-INFO / METADATA): the distribution's license for its files.

Core metadata 2.4's `License-Expression` is SPDX already; otherwise the `License ::` trove
classifiers, whose names are matched to SPDX ids; the free-text `License:` field last.
"""

from __future__ import annotations

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
