"""Near-duplicate detection: shingles, MinHash signatures, LSH band keys, exact Jaccard, survivors.

Pure logic, no Beam: beam/near_dedup.py distributes these functions. Definitions follow the
shared near-dup truth (corpuslib.shingles): words are `\\w+` runs of the NFC lower-cased text,
shingles are space-joined runs of `ngram` words (a shorter text is one shingle of all its
words, an empty one has none). A shingle's 64-bit hash combines its words' xxh64
hashes (see shingle_hashes); the permutations are datatrove's MinHash family (h -> (a*h + b)
mod 2^61-1 in wrapping uint64 arithmetic, a and b drawn by numpy's RandomState(seed)), so a
signature here equals datatrove's for the same shingle hashes and seed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numba
import numpy as np
import xxhash

from opencorpus.document import Removed
from opencorpus.recipe import LICENSE_CATEGORIES
from opencorpus.stages.dedup import NEAR_RANK, Member, Node, Verdict

STAGE = "near_dedup"
REASON = "near-duplicate"
SURVIVOR_RULES = ("smallest-hash", "most-permissive-license")
WORD_RE = re.compile(r"\w+")
_PRIME = (1 << 61) - 1  # Mersenne
_MERSENNE = np.uint64(_PRIME)
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd: the shingle polynomial's base


@dataclass(frozen=True)
class MinHashParams:
    """The resolved `stages.near_dedup` options that decide which pairs are near-duplicates."""

    ngram: int
    bands: int
    rows: int
    threshold: float
    seed: int

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows



@dataclass(frozen=True)
class NearDedupOptions:
    """`stages.near_dedup` as recipe resolution checks them (and derives bands and rows)."""

    params: MinHashParams
    verify: bool  # a candidate pair stands only at an exact Jaccard >= threshold
    rounds: int  # star-contraction rounds before the rest of the graph is gathered (beam/near_dedup.py)
    survivor: str  # one of SURVIVOR_RULES

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> NearDedupOptions:
        params = MinHashParams(ngram=options["ngram"], bands=options["bands"], rows=options["rows"],
                               threshold=options["threshold"], seed=options["seed"])
        return cls(params=params, verify=options["verify"], rounds=options["rounds"], survivor=options["survivor"])


def words(text: str) -> list[str]:
    if not text.isascii():  # ASCII is NFC already
        text = unicodedata.normalize("NFC", text)
    return WORD_RE.findall(text.lower())


def shingle_hashes(text: str, ngram: int = 5) -> np.ndarray:
    """Sorted, unique 64-bit hashes of the text's shingles (uint64); what signatures and Jaccard use.

    Each word is hashed once (xxh64) and a shingle's hash is a polynomial of its words' hashes,
    mixed by splitmix64's finaliser: vectorised, so a 10 MB text takes seconds, not minutes.
    """
    w = words(text)
    known = {x: xxhash.xxh64_intdigest(x) for x in set(w)}  # words repeat: hash each distinct one once
    word_hashes = np.fromiter(map(known.__getitem__, w), dtype=np.uint64, count=len(w))
    n = min(ngram, len(w))
    if n == 0:
        return word_hashes
    span = len(w) - n + 1
    acc = np.zeros(span, dtype=np.uint64)
    with np.errstate(over="ignore"):  # arithmetic modulo 2^64 is intended
        for j in range(n):
            acc = acc * _POLY + word_hashes[j:j + span]
        acc ^= acc >> np.uint64(30)
        acc *= np.uint64(0xBF58476D1CE4E5B9)
        acc ^= acc >> np.uint64(27)
        acc *= np.uint64(0x94D049BB133111EB)
        acc ^= acc >> np.uint64(31)
    return _sorted_unique(acc)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    # np.unique's hash-table path is ~20x slower than a sort on millions of uint64
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


@lru_cache(maxsize=8)
def _permutations(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.RandomState(seed)  # datatrove's generator and draw order: same a, b per seed
    a = gen.randint(1, _MERSENNE, dtype=np.uint64, size=(1, num_perm))
    b = gen.randint(0, _MERSENNE, dtype=np.uint64, size=(1, num_perm))
    return a, b


def signature(hashes: np.ndarray, params: MinHashParams) -> np.ndarray:
    """MinHash signature (num_perm uint64) of a non-empty set of shingle hashes."""
    if hashes.size == 0:
        raise ValueError("a MinHash signature needs at least one shingle")
    a, b = _permutations(params.seed, params.num_perm)
    return _min_permuted(np.ascontiguousarray(hashes, dtype=np.uint64), a.ravel(), b.ravel())


# Compiled: numpy needs seven passes over a (shingles x permutations) block for this (multiply,
# add, fold, check, min); one loop is ~10x faster and gives the same values. cache=True keeps
# the compiled code beside the module, so a worker process compiles it once, not per run.
@numba.njit(cache=True, nogil=True)
def _min_permuted(hashes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    prime = np.uint64(_PRIME)
    top = np.uint64(61)
    sig = np.full(a.shape[0], np.uint64(0xFFFFFFFFFFFFFFFF))
    for i in range(hashes.shape[0]):
        h = hashes[i]
        for j in range(a.shape[0]):
            x = h * a[j] + b[j]  # wraps modulo 2^64: part of the hash family
            y = (x & prime) + (x >> top)  # x mod (2^61 - 1) without a division: y <= P + 7 ...
            if y >= prime:  # ... so at most one subtraction
                y -= prime
            if y < sig[j]:
                sig[j] = y
    return sig


def band_keys(sig: np.ndarray, params: MinHashParams) -> list[tuple[int, bytes]]:
    """One LSH key per band: (band index, 128-bit hash of the band's rows)."""
    r = params.rows
    return [(i, xxhash.xxh3_128_digest(sig[i * r:(i + 1) * r].tobytes())) for i in range(params.bands)]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted, unique hash arrays (0.0 when both are empty)."""
    if a.size == 0 and b.size == 0:
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def star_edges(nodes: Iterable[Node]) -> list[tuple[Node, Node]]:
    """One LSH bucket as a star around its smallest node: n-1 edges, never all pairs."""
    members = sorted(set(nodes))
    return [(v, members[0]) for v in members[1:]]


def components(edges: Iterable[tuple[Node, Node]]) -> dict[Node, Node]:
    """Single-process union-find: node -> smallest node of its connected component."""
    parent: dict[Node, Node] = {}

    def find(x: Node) -> Node:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:  # path compression keeps a giant cluster near-flat
            parent[x], x = root, parent[x]
        return root

    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return {x: find(x) for x in parent}


def permissiveness(category: str | None) -> int:
    """Rank of a license policy category (stages/licenses/policy.py), most permissive first; a
    document without one (no policy ran) ranks with "unknown", last."""
    return LICENSE_CATEGORIES.index(category or "unknown")


def _survivor_key(m: Member, rule: str) -> tuple:
    # A document the previous version published survives whatever the rule (incremental runs).
    if rule == "most-permissive-license":
        return (not m.carried, permissiveness(m.license_category), m.sha256, m.id, m.node)
    return (not m.carried, m.sha256, m.id, m.node)


def resolve_cluster(members: Iterable[Member], rule: str = "smallest-hash") -> tuple[list[Verdict], list[Removed]]:
    """One connected component -> (verdicts, the survivor's first, and the removed records).

    The survivor's entries also carry the copies exact dedup had folded into a removed member,
    so the survivor lists every document it stands for.
    """
    if rule not in SURVIVOR_RULES:
        raise ValueError(f"unknown survivor rule {rule!r} (expected one of: {', '.join(SURVIVOR_RULES)})")
    ordered = sorted(members, key=lambda m: _survivor_key(m, rule))
    survivor, copies = ordered[0], ordered[1:]
    cluster = min(m.sha256 for m in ordered)
    entries = [{"id": c.id, "source": c.source, "license": c.license} for c in copies]
    entries += [dict(d) for c in copies for d in c.duplicates]
    if survivor.carried:  # its record stays as the previous version published it; removed/ lists the copies
        entries = []
    verdicts = [Verdict(survivor.node, survivor.id, NEAR_RANK, tuple(sorted(entries, key=lambda e: e["id"])))]
    verdicts += [Verdict(c.node, c.id, NEAR_RANK, None) for c in copies]
    removed = [Removed(id=c.id, source=c.source, sha256=c.sha256, stage=STAGE, reason=REASON,
                       details={"cluster": cluster, "survivor_sha256": survivor.sha256, "duplicate_of": survivor.id})
               for c in copies]
    return verdicts, removed
