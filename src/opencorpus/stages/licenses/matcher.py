"""License texts and notices matched against ScanCode's LicenseDB (licensedcode-data).

The reference set is real data shipped on PyPI: of LicenseDB's ~2,300 license texts and ~35,000
rules, the ~20,000 that state or name a license in 8 or more word 3-grams (notices such as "either
version 2 of the License, or (at your option) any later version", references, full-text variants;
not one-line tags or false positives), each labelled with a license expression. A document's word
3-grams are compared with each candidate reference's: containment (share of the reference found)
and a score that rewards matched 3-grams and penalises missing ones, so that a GPL "or any later
version" notice beats the bare "version 2" notice it contains, and a full BSD-3-Clause text beats
the BSD-2-Clause text it contains. Candidates come from an inverted index on each reference's
rarest 3-grams (and the rarest of each stretch of it), so a lookup touches a few hundred
references, not all of them. A truncated text (a license without its header or its last
paragraph) matches the stretch of a single-license reference it holds, when that is at least
half of the reference and nearly all there. Texts that LicenseDB also files as bare warranty
disclaimers are not references: they grant nothing.

Near-identical references differ in the few words that matter: a reference naming a license
version ("version 2") or a GNU family ("Lesser General Public License") that the text does not
name is not a match however many other words agree; among references that match equally well,
the SPDX-listed license with the most LicenseDB rules (the widely used one) wins, and a
LicenseRef-scancode-* match gives way to an SPDX-listed reference that fits the same words about
as well.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from opencorpus.stages.licenses.normalize import licensedb, scancode_to_spdx

_WORD = re.compile(r"[a-z0-9]+")
_FRONT = re.compile(r"^---\n(.*?)\n---\n?(.*)$", re.S)
N = 3
KEYS_PER_REFERENCE = 6  # rarest 3-grams of a reference that index it
# ... plus the rarest one of each of this many stretches of it, so that a text holding only part
# of a reference (a header or a tail cut off) still finds it.
KEY_SEGMENTS = 8
MAX_STRETCH_KEY_DF = 64  # a stretch key shared by more references (a common disclaimer phrase) tells nothing
# Of those keys a text must hold this many, and this share, to make a reference a candidate: a
# text with half of a reference (truncated) holds about half its keys; one with a stray phrase, one or two.
MIN_KEY_HITS = 2
MIN_KEY_SHARE = 0.25
MIN_MATCHED = 8  # 3-grams: below this a "match" is a stray phrase, not a notice
MIN_COVERAGE = 0.8  # share of a reference's 3-grams that must be present
MISSING_PENALTY = 3  # a reference's missing 3-gram costs this many matched ones
SECOND_COVERAGE = 0.9  # a further license in the same text needs a clearer match than the first
# A truncated text: below MIN_COVERAGE, a single-license reference still matches when the stretch of
# it the text holds (see _best_stretch) is at least half of it and nearly all there (the rest is cut off).
TRUNCATED_SHARE = 0.5
TRUNCATED_COVERAGE = 0.95
TRUNCATED_MATCHED = 40
# A LicenseRef-scancode-* match gives way to an SPDX-listed reference that fits the same words about
# as well (output is SPDX wherever SPDX has the license; LicenseDB files some SPDX texts twice).
SPDX_FIT_MARGIN = 0.05
SPDX_SAME_WORDS = 0.75
# Of a LicenseDB text, this share of 3-grams also in LicenseDB's bare warranty disclaimers: the
# text grants nothing ("distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY").
DISCLAIMER_SHARE = 0.95
MAX_CANDIDATES = 400
# LicenseDB categories that are not a license of the text: warranty disclaimers, "see LICENSE",
# unknown-license clues, contributor agreements. Matching them only adds noise to the expression.
_NOT_A_LICENSE = {"Unstated License", "CLA"}
# Headers and license files say what they are near the top; a 5 MB file is scanned this far.
MAX_SCAN_CHARS = 200_000
MAX_MATCHES = 8
MAX_EVIDENCE_CHARS = 600


@dataclass(frozen=True)
class Reference:
    name: str  # licensedcode file name, e.g. "gpl-2.0-plus_10.RULE"
    expression: str  # SPDX
    pointer: bool  # a LicenseDB "reference" rule: names or points to a license, does not state it
    grams: np.ndarray  # sorted unique 3-grams
    positions: np.ndarray  # where each of `grams` first occurs in the reference (word index)
    names: frozenset[str]  # license versions and GNU families the reference names (see `_names`)
    implied: frozenset[str]  # the GNU version of its label when its words name none ("v2.1")


@dataclass(frozen=True)
class _Scored:
    score: int
    coverage: float  # share of the reference's 3-grams in the text
    rank: tuple  # tie-break: SPDX-listed, widely used, name
    ref: Reference
    lo: int  # first and last matched 3-gram of the text
    hi: int
    matched: int
    fit: float  # share of the compared part (all of it, or a truncated text's stretch) that is there


@dataclass(frozen=True)
class Match:
    reference: Reference
    coverage: float
    start: int  # char offsets of the matched region in the text
    end: int

    def evidence(self, text: str) -> dict[str, Any]:
        line = text.count("\n", 0, self.start) + 1
        last = line + text.count("\n", self.start, self.end)
        matched = text[self.start:self.end]
        if len(matched) > MAX_EVIDENCE_CHARS:
            matched = matched[:MAX_EVIDENCE_CHARS] + "…"
        return {"method": "license-reference" if self.reference.pointer else "license-text",
                "where": f"lines {line}-{last}", "matched": matched, "confidence": round(self.coverage, 3),
                "expression": self.reference.expression, "reference": f"scancode:{self.reference.name}"}


def _tokens(text: str) -> tuple[list[str], list[int]]:
    words, starts = [], []
    for m in _WORD.finditer(text.lower()):
        words.append(m.group(0))
        starts.append(m.start())
    return words, starts


_GNU_FAMILY = {"lesser": "LGPL", "library": "LGPL", "affero": "AGPL"}


_VERSION = re.compile(r"(?<![a-z0-9])version[^a-z0-9]+([0-9]+)(?:[^a-z0-9]+([0-9])(?![a-z0-9]))?")
_GNU_NAME = re.compile(r"(?<![a-z0-9])general[^a-z0-9]+public[^a-z0-9]+licen[cs]e")
_LAST_WORD = re.compile(r"([a-z0-9]+)[^a-z0-9]*$")


def _names(lower: str) -> frozenset[str]:
    """Versions ("version 2.1" -> "v2.1") and GNU families ("lesser general public license" -> "LGPL")
    named in a lower-cased text: the words that tell near-identical notices apart."""
    out = {"v" + ".".join(p for p in m.groups() if p).removesuffix(".0") for m in _VERSION.finditer(lower)}
    for m in _GNU_NAME.finditer(lower):
        before = _LAST_WORD.search(lower, max(0, m.start() - 20), m.start())
        out.add(_GNU_FAMILY.get(before.group(1) if before else "", "GPL"))
    return frozenset(out)


def _implied_version(expression: str, names: frozenset[str]) -> frozenset[str]:
    # LicenseDB labels an unversioned "GNU Lesser General Public License" mention with one version;
    # that guess must not override a version the text itself names.
    if any(n.startswith("v") for n in names) or not names:
        return frozenset()
    return frozenset("v" + v.removesuffix(".0") for v in re.findall(r"\b(?:A|L)?GPL-(\d\.\d)", expression))


def _grams(ids: np.ndarray) -> np.ndarray:
    # Word ids packed into one int64: unlike hash() of strings it is the same in every process,
    # so candidate choice and tie-breaks (hence the output) do not depend on the worker.
    if len(ids) < N:
        return np.zeros(0, dtype=np.int64)
    return (ids[:-2] << 42) | (ids[1:-1] << 21) | ids[2:]


def _front_matter(raw: str) -> tuple[dict[str, str], str]:
    m = _FRONT.match(raw)
    if not m:
        return {}, raw
    fields = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith(" "):
            fields[key.strip()] = value.strip()
    return fields, m.group(2)


def _read_references() -> tuple[list[tuple[str, str, bool, str]], list[str]]:
    """(file name, SPDX expression, is a pointer, text) of every usable LicenseDB license and rule,
    and the texts of LicenseDB's bare warranty disclaimers."""
    data = resources.files("licensedcode") / "data"
    out, disclaimers = [], []
    for folder, suffix in (("licenses", ".LICENSE"), ("rules", ".RULE")):
        for entry in sorted((data / folder).iterdir(), key=lambda p: p.name):
            if not entry.name.endswith(suffix):
                continue
            with entry.open("r", encoding="utf-8", errors="replace") as f:
                fields, body = _front_matter(f.read())
            if fields.get("is_deprecated") == "yes" or fields.get("is_false_positive") == "yes":
                continue
            # Intros, clues and one-line tags ("License: MIT") are not texts or notices; SPDX lines are read apart.
            if any(fields.get(k) == "yes" for k in ("is_license_intro", "is_license_clue", "is_license_tag",
                                                       "is_unknown", "is_generic")):
                continue
            key = fields.get("key") if folder == "licenses" else fields.get("license_expression")
            if key == "warranty-disclaimer":
                disclaimers.append(body)
            if not key or any(licensedb().get(k, {}).get("category") in _NOT_A_LICENSE for k in re.findall(r"[\w.+-]+", key)):
                continue
            expression = scancode_to_spdx(key)
            # A few GNU notices granting "any later version" are labelled with the "-only" id;
            # matched, they would contradict the very words they match. (Full texts are exempt:
            # their "How to apply" appendix shows a sample grant.)
            if folder == "rules" and expression and "-only" in expression \
                    and re.search(r"(?i)any\s+later\s+version", body):
                continue
            if expression:
                out.append((entry.name, expression, fields.get("is_license_reference") == "yes", body))
    return out, disclaimers


def _best_stretch(present: np.ndarray, positions: np.ndarray) -> tuple[int, int]:
    """(3-grams present, 3-grams in all) of the stretch of a reference, in reading order, that
    scores best (each present 3-gram +1, each missing one -MISSING_PENALTY): the part a truncated
    text holds, without the stray common phrases it shares with the cut-off rest."""
    in_order = present[np.argsort(positions, kind="stable")]
    sums = np.concatenate(([0], np.cumsum(np.where(in_order, 1, -MISSING_PENALTY))))
    end = int(np.argmax(sums - np.minimum.accumulate(sums)))
    start = int(np.argmin(sums[:end + 1]))
    return int(in_order[start:end].sum()), end - start


def _same_words_in_spdx(other: _Scored, found: _Scored) -> bool:
    """Whether an SPDX-listed reference fits about the words a LicenseRef-scancode-* one matched."""
    return (other.score > 0 and "LicenseRef-" not in other.ref.expression and other.lo <= found.hi
            and found.lo <= other.hi and other.fit >= found.fit - SPDX_FIT_MARGIN
            and other.matched >= SPDX_SAME_WORDS * found.matched)


class LicenseIndex:
    """An inverted index over reference 3-grams; `match` finds the references a text contains."""

    def __init__(self, references: list[tuple[str, str, bool, str]], disclaimers: Sequence[str] = ()):
        texts = [_WORD.findall(body.lower()) for *_, body in references]
        # Word ids in sorted order: the same index whatever order the files were read in.
        self.vocabulary = {w: i for i, w in enumerate(sorted({w for words in texts for w in words}), start=1)}
        if len(self.vocabulary) >= 1 << 21:
            raise ValueError("LicenseDB vocabulary too large for 21-bit word ids")
        # A text LicenseDB also files as a bare warranty disclaimer (philippe-de-muyter's whole "license"
        # is the GPL's disclaimer sentence) names no license: matched, it would add one to GPL notices.
        disclaimer = np.unique(np.concatenate([np.zeros(1, dtype=np.int64)] + [
            _grams(np.fromiter((self.vocabulary.get(w, 0) for w in _WORD.findall(d.lower())), dtype=np.int64))
            for d in disclaimers]))
        self.references: list[Reference] = []
        for (name, expression, pointer, body), words in zip(references, texts):
            grams, positions = np.unique(_grams(np.fromiter(map(self.vocabulary.__getitem__, words), dtype=np.int64)),
                                         return_index=True)
            names = _names(body.lower())
            at = np.minimum(np.searchsorted(disclaimer, grams), len(disclaimer) - 1)
            if len(grams) >= MIN_MATCHED and (disclaimer[at] == grams).sum() < DISCLAIMER_SHARE * len(grams):
                self.references.append(Reference(name, expression, pointer, grams, positions.astype(np.int32), names,
                                                 _implied_version(expression, names)))
        # How widely an id is used, for ties between equally good matches: LicenseDB's rule count.
        self.popularity = Counter(r.expression for r in self.references)
        # Document frequency of every 3-gram, then each reference's rarest ones (ties: smallest gram).
        flat = np.concatenate([r.grams for r in self.references])
        _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
        df = counts[inverse]
        key_grams, key_refs = [], []
        offset = 0
        for i, ref in enumerate(self.references):
            end = offset + len(ref.grams)
            order = np.lexsort((ref.grams, df[offset:end]))  # rarest first
            segment = ref.positions[order] * KEY_SEGMENTS // (int(ref.positions.max()) + 1)
            _, first_of_segment = np.unique(segment, return_index=True)
            stretch_keys = order[first_of_segment]
            keys = np.union1d(order[:KEYS_PER_REFERENCE], stretch_keys[df[offset:end][stretch_keys] <= MAX_STRETCH_KEY_DF])
            key_grams.append(ref.grams[keys])
            key_refs.append(np.full(len(keys), i, dtype=np.int64))
            offset = end
        # Postings as arrays: the sorted key 3-grams and, for key k, references key_refs[bounds[k]:bounds[k+1]].
        grams, refs = np.concatenate(key_grams), np.concatenate(key_refs)
        order = np.lexsort((refs, grams))
        self.key_grams, starts = np.unique(grams[order], return_index=True)
        self.key_refs = refs[order]
        self.key_bounds = np.append(starts, len(order))
        self.min_hits = np.maximum(MIN_KEY_HITS, np.ceil(MIN_KEY_SHARE * np.bincount(refs))).astype(np.int64)

    def _candidates(self, grams: np.ndarray) -> np.ndarray:
        """References whose keys the text's 3-grams hold, most keys first (ties: index), bounded."""
        at = np.minimum(np.searchsorted(self.key_grams, grams), len(self.key_grams) - 1)
        keys = at[self.key_grams[at] == grams]
        lo, n = self.key_bounds[keys], self.key_bounds[keys + 1] - self.key_bounds[keys]
        rows = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        counts = np.bincount(self.key_refs[rows], minlength=len(self.references))
        found = np.flatnonzero(counts >= self.min_hits)
        return found[np.lexsort((found, -counts[found]))][:MAX_CANDIDATES]

    def match(self, text: str) -> list[Match]:
        """Non-overlapping reference matches in the text, best first."""
        words, starts = _tokens(text[:MAX_SCAN_CHARS])
        ids = np.fromiter((self.vocabulary.get(w, 0) for w in words), dtype=np.int64)  # 0: no reference has it
        grams, first = np.unique(_grams(ids), return_index=True)
        if len(grams) < MIN_MATCHED:
            return []
        scored = []
        named: frozenset[str] | None = None
        for i in self._candidates(grams).tolist():
            ref = self.references[i]
            pos = np.minimum(np.searchsorted(grams, ref.grams), len(grams) - 1)
            present = grams[pos] == ref.grams
            matched = int(present.sum())
            coverage = matched / len(ref.grams)
            if matched < MIN_MATCHED:
                continue
            span = len(ref.grams)  # the part of the reference the text is compared with: all of it ...
            if coverage < MIN_COVERAGE:  # ... or, for a truncated text, the stretch it holds
                # One license only: of a cut "MIT OR Unlicense" text the missing part may be the other one.
                if matched < TRUNCATED_MATCHED or coverage < TRUNCATED_SHARE * TRUNCATED_COVERAGE \
                        or " " in ref.expression:
                    continue
                matched, span = _best_stretch(present, ref.positions)
                if span < TRUNCATED_SHARE * len(ref.grams) or matched < TRUNCATED_COVERAGE * span:
                    continue
            if ref.names or ref.implied:  # read the text's names only when a candidate needs them
                named = named if named is not None else _names(text[:MAX_SCAN_CHARS].lower())
                versions = {n for n in named if n.startswith("v")}
                if not ref.names <= named or (versions and ref.implied and not ref.implied & versions):
                    continue
            found = first[pos[present]]
            score = matched - MISSING_PENALTY * (span - matched)
            rank = ("LicenseRef-" in ref.expression, -self.popularity[ref.expression], ref.name)
            scored.append(_Scored(score, coverage, rank, ref, int(found.min()), int(found.max()), matched, matched / span))
        scored.sort(key=lambda s: (-s.score, -s.coverage, s.rank))
        taken: list[Match] = []
        spans: list[tuple[int, int]] = []
        for s in scored:
            if s.score <= 0 or len(taken) == MAX_MATCHES:
                break
            if taken and s.coverage < SECOND_COVERAGE:
                continue
            # A second license must lie outside the first's region: overlapping references are
            # alternatives for the same words (GPL "version 2" inside "version 2 or any later").
            if any(s.lo <= b and a <= s.hi for a, b in spans):
                continue
            if s.ref.expression.startswith("LicenseRef-scancode-"):
                s = next((o for o in scored if _same_words_in_spdx(o, s)
                          and (not taken or o.coverage >= SECOND_COVERAGE)
                          and not any(o.lo <= b and a <= o.hi for a, b in spans)), s)
            spans.append((s.lo, s.hi))
            end_word = min(s.hi + N - 1, len(words) - 1)
            taken.append(Match(s.ref, s.coverage, starts[s.lo], starts[end_word] + len(words[end_word])))
        return taken


@lru_cache(maxsize=1)
def license_index() -> LicenseIndex:
    """The process-wide index (built once per worker, in the stage's setup)."""
    return LicenseIndex(*_read_references())
