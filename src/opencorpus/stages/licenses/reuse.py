"""REUSE's `LICENSES/` folder: `LICENSES/<SPDX id>.<ext>` holds the text of that license, so the
file's own path says what it is. (`.reuse/dep5` is read as DEP-5; in-file SPDX tags as such.)"""

from __future__ import annotations

import re
from typing import Any

from opencorpus.stages.licenses.normalize import parse_spdx

_LICENSES_DIR = re.compile(r"(?:^|/)LICENSES/([A-Za-z0-9.+-]+?)(?:\.[A-Za-z]+)?$")


def licenses_dir_evidence(path: str) -> dict[str, Any] | None:
    m = _LICENSES_DIR.search(path)
    if not m:
        return None
    expression, _ = parse_spdx(m.group(1))
    if not expression:  # not a known SPDX id: just a file in a folder of that name
        return None
    return {"method": "reuse-licenses-dir", "where": "path", "matched": path, "confidence": 1.0,
            "expression": expression}
