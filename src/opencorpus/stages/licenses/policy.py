"""License policy: the category of an SPDX expression and what to do with it (filters/licenses/*.yaml).

A choice (OR) is as restrictive as its most permissive option; a combination (AND) as its most
restrictive part; `WITH exception` counts as its base license. NOASSERTION and unknown ids are
"unknown".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from license_expression import ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol

from opencorpus.recipe import LICENSE_CATEGORIES
from opencorpus.stages.licenses.normalize import NOASSERTION, licensedb, licensing

UNKNOWN = "unknown"


@dataclass(frozen=True)
class PolicyOptions:
    """A policy as recipe resolution inlines it: filters/licenses/<name>.yaml, with the recipe's
    `actions` for single categories."""

    actions: dict[str, str]  # category -> keep, flag or drop
    rules: tuple[tuple[str, str], ...] = ()  # (regular expression searched in an SPDX id, category), first match wins
    licensedb_categories: dict[str, str] = field(default_factory=dict)  # LicenseDB's category -> ours
    licenses: dict[str, str] = field(default_factory=dict)  # SPDX id -> category, over the other two

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PolicyOptions:
        """From the license stage's resolved options (which check `actions`); a ValueError names
        the first rule or category that is not one."""
        rules = tuple(_rule(rule, f"license.rules[{i}]") for i, rule in enumerate(options.get("rules") or []))
        by_db = _categories(options.get("licensedb_categories") or {}, "license.licensedb_categories")
        return cls(actions=options["actions"], rules=rules, licensedb_categories=by_db,
                   licenses=_categories(options.get("licenses") or {}, "license.licenses"))


def _rule(rule: Any, where: str) -> tuple[str, str]:
    if not isinstance(rule, dict) or set(rule) != {"match", "category"}:
        raise ValueError(f"{where}: expected {{match: <regular expression>, category: <category>}}, got {rule!r}")
    try:
        re.compile(rule["match"])
    except (re.error, TypeError) as e:
        raise ValueError(f"{where}.match: not a regular expression: {e}") from None
    return rule["match"], _category(rule["category"], f"{where}.category")


def _categories(mapping: Any, where: str) -> dict[str, str]:
    """A mapping of names to policy categories, checked."""
    if not isinstance(mapping, dict):
        raise ValueError(f"{where}: expected a mapping of names to categories, got {mapping!r}")
    return {key: _category(category, f"{where}.{key}") for key, category in mapping.items()}


def _category(value: Any, where: str) -> str:
    if value not in LICENSE_CATEGORIES:
        raise ValueError(f"{where}: expected one of {', '.join(LICENSE_CATEGORIES)}, got {value!r}")
    return value


class LicensePolicy:
    def __init__(self, options: PolicyOptions):
        self.actions = options.actions
        self.rules = [(re.compile(match), category) for match, category in options.rules]
        self.by_id: dict[str, str] = {}
        for entry in licensedb().values():
            if entry.get("category") in options.licensedb_categories and entry.get("spdx_license_key"):
                self.by_id.setdefault(entry["spdx_license_key"], options.licensedb_categories[entry["category"]])
        self.by_id.update(options.licenses)

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
