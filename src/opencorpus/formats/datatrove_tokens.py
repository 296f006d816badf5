"""datatrove's token layout: `.ds` + `.ds.index` + `.ds.metadata` (docs/ARCHITECTURE.md "Token layouts").

Written as datatrove 0.10.1's TokenizedFile writes them (datatrove/pipeline/tokens/tokenizer.py),
so its DatatroveFolderDataset and DocumentTokenizerMerger read a part as is:
- `.ds`: the token ids back to back, little-endian, `token_size` bytes each: the same bytes
  as Megatron's `.bin` (uint16, or int32 whose bytes equal datatrove's uint32 for ids < 2**31);
- `.ds.index`: every document's end offset in tokens (exclusive), uint64 little-endian,
  no header;
- `.ds.metadata`: three lines without a final newline: `<tokenizer>|<token_size>`, the token
  count, and the count in humanize's metric form (e.g. `123 kT`). The tokenizer is named by
  its path in the snapshot (`tokenizer/tokenizer.json`).
"""

from __future__ import annotations

from collections.abc import Sequence

import humanize
import numpy as np

SUFFIXES = ("ds", "ds.index", "ds.metadata")


def index_bytes(lengths: Sequence[int]) -> bytes:
    """The `.ds.index`: cumulative document ends as uint64."""
    return np.cumsum(np.asarray(lengths, dtype=np.int64), dtype=np.int64).astype("<u8").tobytes()


def metadata_bytes(tokenizer_name: str, token_size: int, token_count: int) -> bytes:
    """The `.ds.metadata` text; datatrove's merger splits its first line on '|'."""
    if "|" in tokenizer_name:
        raise ValueError(f"tokenizer name {tokenizer_name!r} must not contain '|'")
    lines = (f"{tokenizer_name}|{token_size}", str(token_count), humanize.metric(token_count, unit="T"))
    return "\n".join(lines).encode("utf-8")


def parse_index(data: bytes, where: str = "<ds.index>") -> np.ndarray:
    """Document ends from a `.ds.index`; ValueError when the bytes are not whole uint64s."""
    if len(data) % 8:
        raise ValueError(f"{where}: {len(data)} bytes is not a whole number of uint64 document ends")
    return np.frombuffer(data, dtype="<u8")
