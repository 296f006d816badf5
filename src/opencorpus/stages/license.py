"""License tagging: every finding about a document's license, combined into one SPDX expression,
with the evidence; then the recipe's license policy (keep, flag or drop by category).

Findings (pure modules under stages/licenses/): SPDX-License-Identifier lines; the DEP-5/REUSE
copyright file (`.reuse/dep5`, `REUSE.toml`) or PKG-INFO of the document's text tree applied to its
path, and in a site-packages tree the METADATA of the distribution whose RECORD lists the path
(parsed when the run is planned into the stage options, stages/licenses/discovery.py, so this stage reads
no storage and the manifest records what it applied, without the files' text); REUSE `LICENSES/<id>.txt`
paths; license texts and notices
matched against ScanCode's LicenseDB; pointers to Debian's common-licenses; license markup of raw
HTML; GNU grants read as a sentence, in several languages. The source's declared license is the
fallback, marked "declared"; nothing -> NOASSERTION.

Runs on the raw text, before PII redaction; the evidence's matched text is redacted later
together with the document text.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from opencorpus.document import Document, Removed
from opencorpus.stages.licenses.combine import combine
from opencorpus.stages.licenses.dep5 import evidence_for_path
from opencorpus.stages.licenses.dep5 import from_facts as dep5_from_facts
from opencorpus.stages.licenses.gnu import find_grants, gnu_id
from opencorpus.stages.licenses.html import find_markup
from opencorpus.stages.licenses.matcher import license_index
from opencorpus.stages.licenses.normalize import NOASSERTION, parse_spdx
from opencorpus.stages.licenses.phrases import offers_choice
from opencorpus.stages.licenses.policy import LicensePolicy, PolicyOptions
from opencorpus.stages.licenses.references import find_references
from opencorpus.stages.licenses.reuse import licenses_dir_evidence
from opencorpus.stages.licenses.reuse_toml import evidence_for_path as reuse_toml_evidence
from opencorpus.stages.licenses.reuse_toml import from_facts as reuse_toml_from_facts

__all__ = ["NOASSERTION", "LicenseOptions", "LicenseTagger", "find_spdx_identifiers"]
log = logging.getLogger(__name__)

# REUSE/SPDX convention: the tag may follow a comment marker anywhere on a line.
_SPDX_LINE = re.compile(r"SPDX-License-Identifier:[ \t]*([^\n\r]*)")
# Comment closers and trailing punctuation that surround identifiers in source files.
_TRAILER = re.compile(r"(\s*(\*/|-->|\"\"\"|'''|#}|%>|\*|;|,))+\s*$")
_HTML = re.compile(r"^\s*(<!doctype html|<html|<\?xml)", re.I)
_TAGS = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.I | re.S)
MAX_SPDX_LINES = 64


def find_spdx_identifiers(text: str) -> list[dict[str, Any]]:
    """Evidence for every `SPDX-License-Identifier:` line, valid or not, in text order."""
    found: list[dict[str, Any]] = []
    for m in _SPDX_LINE.finditer(text):
        if len(found) == MAX_SPDX_LINES:
            break
        value = _TRAILER.sub("", m.group(1)).strip()
        line = text.count("\n", 0, m.start()) + 1
        expression, error = parse_spdx(value) if value else (None, "empty identifier")
        evidence: dict[str, Any] = {
            "method": "spdx-identifier",
            "where": f"line {line}",
            "matched": m.group(0).strip(),
            "confidence": 1.0 if expression else 0.0,
        }
        if expression:
            evidence["expression"] = expression
        else:
            evidence["error"] = error
        found.append(evidence)
    return found


@dataclass(frozen=True)
class LicenseOptions:
    """`stages.license`: its policy (None: licenses are tagged, no category is kept, flagged or
    dropped) and, per source, the license files recorded of its tree (stages/licenses/discovery.py)."""

    policy: PolicyOptions | None = None
    trees: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LicenseOptions:
        return cls(policy=PolicyOptions.from_options(options), trees=options["trees"])


class LicenseTagger:
    """Sets metadata.license (SPDX or NOASSERTION), license_evidence, license_category
    (and license_conflict / license_flagged when so); drops what the policy says to drop."""

    name = "license"

    def __init__(self, options: LicenseOptions, declared: dict[str, str | None]):
        self.options = options
        self.declared = declared  # source name -> declared SPDX expression (recipe)

    def setup(self) -> None:
        license_index()  # built once per worker process
        self.policy = LicensePolicy(self.options.policy) if self.options.policy is not None else None
        # Per source: what its copyright files say about a path, and what applies to every file.
        self.by_path: dict[str, list[Callable[[str], dict[str, Any] | None]]] = {}
        self.package: dict[str, list[dict[str, Any]]] = {}
        self.distributions: dict[str, dict[str, dict[str, Any]]] = {}  # source -> path -> evidence
        for source, files in self.options.trees.items():
            for f in files:  # the facts parsed when the run was planned (stages/licenses/discovery.py)
                if f["kind"] == "dep5":
                    rule = partial(evidence_for_path, dep5_from_facts(f["stanzas"]), name=f["file"])
                    self.by_path.setdefault(source, []).append(rule)
                elif f["kind"] == "reuse-toml":
                    tables = reuse_toml_from_facts(f["annotations"], f["file"])
                    rule = partial(reuse_toml_evidence, tables, name=f["file"])
                    self.by_path.setdefault(source, []).append(rule)
                elif f["kind"] == "python-distribution":
                    paths = self.distributions.setdefault(source, {})
                    for path in f["record"]["paths"] if f["evidence"] else []:
                        paths.setdefault(path, f["evidence"])
                else:
                    self.package.setdefault(source, []).extend([f["evidence"]] if f["evidence"] else [])

    def process(self, doc: Document) -> Iterator[Document | Removed]:
        raw = doc.raw if doc.raw is not None else doc.text
        is_html = doc.raw is not None and (doc.kind == "web" or bool(_HTML.match(raw)))
        text = _TAGS.sub(" ", raw) if is_html else raw
        evidence = find_spdx_identifiers(raw)
        for bad in (e for e in evidence if "error" in e):
            log.warning("%s: %s: unknown or invalid SPDX identifier (%s); not used", doc.location, bad["where"], bad["error"])
        path = doc.metadata.get("path")
        if path:
            hit = licenses_dir_evidence(path)
            evidence += [hit] if hit else []
            for rule in self.by_path.get(doc.source, []):
                hit = rule(path)
                evidence += [hit] if hit else []
            hit = self.distributions.get(doc.source, {}).get(path)
            evidence += [dict(hit)] if hit else []
        evidence += [dict(e) for e in self.package.get(doc.source, [])]
        if is_html:
            evidence += find_markup(raw)
        grants = find_grants(text)
        matches = license_index().match(text)
        # A matched GNU notice over the words of a GNU grant is a near-identical notice: the grant's
        # own words say which family, version and "or later". A full license text (whose "How to
        # apply" appendix holds a sample grant), an exception ("... WITH Texinfo-exception") or a
        # choice of licenses says more than the grant sentence, so there the match stands.
        wider = [m for m in matches if not gnu_id(m.reference.expression) or m.reference.name.endswith(".LICENSE")]
        grants = [g for g in grants if not any(m.start < g[1] and g[0] < m.end for m in wider)]
        evidence += [m.evidence(text) for m in matches
                     if m in wider or not any(m.start < b and a < m.end for a, b, _ in grants)]
        evidence += [e for *_, e in grants]
        evidence += find_references(text)
        # Whether several licenses are a choice (OR) or all apply (AND) matters only when there are several.
        choice = sum(1 for e in evidence if "expression" in e) > 1 and offers_choice(text)
        expression, conflict = combine(evidence, choice=choice)
        declared = self.declared.get(doc.source)
        if expression == NOASSERTION and declared:
            evidence.append({"method": "declared", "where": "recipe", "matched": declared, "confidence": 1.0,
                             "expression": declared})
            expression = declared
        found: dict[str, Any] = {"license": expression, "license_evidence": evidence}
        if conflict:
            found["license_conflict"] = True
        if self.policy is not None:
            category = self.policy.category(expression)
            action = self.policy.action(category)
            if action == "drop":
                yield Removed(id=doc.id, source=doc.source, sha256=doc.metadata.get("sha256", ""), stage=self.name,
                              reason=f"policy-{category}", details={"license": expression})
                return
            found["license_category"] = category
            if action == "flag":
                found["license_flagged"] = True
        # A new Document: the one given may be an element Beam forbids changing.
        yield dataclasses.replace(doc, metadata={**doc.metadata, **found})
