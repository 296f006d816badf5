"""The training order: a seeded global shuffle of the token parts, `tokens/order.npy`.

A trainer that reads the rows of the order file in turn sees the data in the order the
snapshot discloses. The file is a NumPy `.npy` (format 1.0, C order) of little-endian int64:
- unit "document": shape (n, 2), rows (part, document), `document` being the sequence index
  in the part's Megatron `.idx` (= row of its `.csv.gz`, = entry of its `.ds.index`);
- unit "window": shape (n, 3), rows (part, start, end): each part's token stream cut into
  windows of `window_tokens` tokens, end exclusive; a part's last window may be shorter (no
  token is left out of the order; windows may cross document boundaries, as datatrove's
  chunk shuffling does).
Units are numbered i = 0, 1, ... part by part, in part order (window or document order
inside a part), and written sorted by keys[i], the i-th output of SplitMix64 seeded with the
recipe seed (mod 2**64): z = seed + (i + 1) * 0x9E3779B97F4A7C15,
z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9, z = (z ^ z >> 27) * 0x94D049BB133111EB, z ^ z >> 31
(all mod 2**64). The keys are distinct (an odd multiplier and a bijective mix), so the order
has no ties and is rebuilt from (seed, per-part counts) alone, with no dependence on
NumPy's random generators or on any runner.

Memory: about 40 bytes per unit at build time (keys, argsort, rows), so a corpus of 10**8
documents needs ~4 GB; beyond that use windows of more tokens per unit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from opencorpus import storage

ALGORITHM = "splitmix64-argsort"
COLUMNS = {"document": ["part", "document"], "window": ["part", "start", "end"]}
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of SplitMix64 seeded with `seed` (mod 2**64), as uint64."""
    state = np.uint64(seed % 2**64)
    with np.errstate(over="ignore"):  # uint64 arithmetic is meant to wrap
        z = state + (np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def units(parts: Sequence[tuple[int, int, int]], unit: str, window_tokens: int) -> np.ndarray:
    """The units in part order, before shuffling; parts: (part, documents, tokens), any order."""
    blocks = []
    for part, documents, tokens in sorted(parts):
        if unit == "document":
            index = np.arange(documents, dtype=np.int64)
            blocks.append(np.column_stack((np.full_like(index, part), index)))
        else:
            start = np.arange(0, tokens, window_tokens, dtype=np.int64)
            end = np.minimum(start + window_tokens, tokens)
            blocks.append(np.column_stack((np.full_like(start, part), start, end)))
    if not blocks:
        return np.zeros((0, len(COLUMNS[unit])), dtype=np.int64)
    return np.concatenate(blocks).astype("<i8")


def training_order(parts: Sequence[tuple[int, int, int]], unit: str, window_tokens: int, seed: int) -> np.ndarray:
    """The shuffled units: rows as described in the module docstring."""
    rows = units(parts, unit, window_tokens)
    return rows[np.argsort(splitmix64(seed, len(rows)), kind="stable")]


def order_bytes(rows: np.ndarray) -> bytes:
    """The `.npy` bytes (np.save: a fixed header for a given dtype and shape)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(rows, dtype="<i8"), allow_pickle=False)
    return buffer.getvalue()


def write_order(url: str, rows: np.ndarray) -> storage.Digest:
    return storage.write_hashed(url, order_bytes(rows))


def read_order(url: str) -> np.ndarray:
    return np.load(io.BytesIO(storage.read_bytes(url)), allow_pickle=False)


def describe(file: str, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """What the manifest says about the order file, enough to read and rebuild it."""
    info = {"file": file, "unit": config["unit"], "seed": seed, "algorithm": ALGORITHM,
            "columns": COLUMNS[config["unit"]], "dtype": "int64"}
    if config["unit"] == "window":
        info["window_tokens"] = config["window_tokens"]
    return info
