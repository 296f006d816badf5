"""License policy: the category of an SPDX expression and what to do with it (filters/licenses/*.yaml).

A choice (OR) is as restrictive as its most permissive option; a combination (AND) as its most
restrictive part; `WITH exception` counts as its base license. NOASSERTION and unknown ids are
"unknown".
"""

from __future__ import annotations

import re
from typing import Any

from license_expression import ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol

from opencorpus.recipe import LICENSE_CATEGORIES
from opencorpus.stages.licenses.normalize import NOASSERTION, licensedb, licensing

UNKNOWN = "unknown"


class LicensePolicy:
    def __init__(self, options: dict[str, Any]):
        self.actions: dict[str, str] = options["actions"]
        self.rules = [(re.compile(r["match"]), r["category"]) for r in options.get("rules", [])]
        by_db = options.get("licensedb_categories", {})
        self.by_id: dict[str, str] = {}
        for entry in licensedb().values():
            if entry.get("category") in by_db and entry.get("spdx_license_key"):
                self.by_id.setdefault(entry["spdx_license_key"], by_db[entry["category"]])
        self.by_id.update(options.get("licenses", {}))

    def license_category(self, spdx_id: str) -> str:
        for rx, category in self.rules:
            if rx.search(spdx_id):
                return category
        return self.by_id.get(spdx_id, UNKNOWN)

    def category(self, expression: str) -> str:
        if expression == NOASSERTION:
            return UNKNOWN
        try:
            parsed = licensing().parse(expression)
        except ExpressionError:
            return UNKNOWN
        return self._walk(parsed)

    def _walk(self, node: Any) -> str:
        if isinstance(node, LicenseWithExceptionSymbol):
            return self.license_category(node.license_symbol.key)
        if isinstance(node, LicenseSymbol):
            return self.license_category(node.key)
        parts = [self._walk(arg) for arg in node.args]
        order = sorted(parts, key=LICENSE_CATEGORIES.index)
        return order[0] if isinstance(node, licensing().OR) else order[-1]

    def action(self, category: str) -> str:
        return self.actions.get(category, "keep")
