"""OLMo/Dolma's token layout: `tokens/olmo/part-NNNNN.npy` + `.csv.gz` (docs/ARCHITECTURE.md "Token layouts").

Written as Dolma's tokenizer (`dolma tokens`: python/dolma/tokenizer/memmap_writer.py) writes a
part, so OLMo's MemMapDataset (olmo/data/memmap_dataset.py) and Dolma's reshard read it as is:
- `.npy`: despite the name, no NumPy header: a raw memmap of token ids back to back, each
  document's ids (BOS first when set) followed by EOS; little-endian uint16 when the vocab is
  below 65500 (the manifest's `dtype: uint16`), else uint32 (manifest `dtype: int32`: the same
  bytes, ids being below 2**31). The bytes equal Megatron's `.bin`. OLMo reads it with
  `memmap_dtype` set so; documents are delimited by EOS (its get_document_lengths) or by the rows.
- `.csv.gz`: Dolma's MemmapMetadata rows, no header, one per document: `start,end,id,src,loc`:
  the token range (end exclusive), the document id, and where Dolma's tokenizer read the text:
  the input file and its 1-based line. Here that is the part's documents file in the version
  (`documents/part-NNNNN.jsonl.zst`, relative, so the bytes do not depend on where the version
  is stored) and the document's line there. Lines end in `\\r\\n` as csv.writer's default dialect,
  which Dolma uses, writes them; gzip is deterministic (mtime 0, no file name).
Unlike `dolma tokens`, texts are not stripped and an empty one keeps its [EOS]: every published
document has its row, so rows and the documents file's lines stay one to one. The folder is
OLMo's alone (see layout.olmo_tokens_part).
"""

from __future__ import annotations

from opencorpus.formats import layout

# Keys of the layout's files among a part's token files (formats/tokens.py), and their suffixes.
TOKENS = "olmo.npy"
METADATA = "olmo.csv.gz"
SUFFIXES = {TOKENS: "npy", METADATA: "csv.gz"}
LINE_END = "\r\n"


def path(part: int, key: str) -> str:
    """The file of `key` (TOKENS or METADATA) of a part, inside the version."""
    return layout.olmo_tokens_part(part, SUFFIXES[key])


def metadata_row(start: int, end: int, doc_id: str, part: int, line: int) -> tuple[int, int, str, str, int]:
    """Dolma's row for the document on 0-based `line` of the part: loc counts from 1, as Dolma does."""
    return start, end, doc_id, layout.documents_part(part), line + 1
