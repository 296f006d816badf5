"""Token shards on disk (docs/ARCHITECTURE.md "Token layouts"): .bin + Megatron .idx + .csv.gz.

Per documents part: `tokens/part-NNNNN.bin` holds every document's token ids (EOS
included) back to back, little-endian; `.idx` is Megatron's MMIDIDX v1 index, written
byte for byte as megatron-core's IndexedDatasetBuilder/_IndexWriter write it
(megatron/core/datasets/indexed_dataset.py), so Megatron trainers read the pair as is;
`.csv.gz` maps every token range back to its document id, source and published hash.
When the recipe asks for them, datatrove's `.ds` layout (formats/datatrove_tokens.py) and
OLMo/Dolma's `tokens/olmo/` `.npy` + `.csv.gz` (formats/olmo_tokens.py) are written in the
same pass from the same token bytes. All are deterministic: the same documents give the
same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import struct
from array import array
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from typing import NamedTuple, TypedDict

import numpy as np

from opencorpus import storage
from opencorpus.formats import datatrove_tokens, layout, olmo_tokens

INDEX_MAGIC = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# Megatron's DType enum: the one-byte code in the .idx header names the .bin dtype.
DTYPE_CODES = {"uint8": 1, "int8": 2, "int16": 3, "int32": 4, "int64": 5, "float64": 6, "float32": 7, "uint16": 8}
_CODE_DTYPES = {code: np.dtype(name).newbyteorder("<") for name, code in DTYPE_CODES.items()}
CSV_HEADER = ("start", "end", "id", "source", "sha256_published")
GZIP_LEVEL = 6
_HEADER = struct.Struct("<9sQBQQ")  # magic, version, dtype code, sequence count, document count
_MAX_SEQUENCE = np.iinfo(np.int32).max  # Megatron stores sequence lengths as int32
# The token stream file of each layout (a key of token_file); all hold the same bytes.
STREAMS = {"megatron": "bin", "datatrove": "ds", "olmo": olmo_tokens.TOKENS}


class TokenShardError(ValueError):
    """Token ids that cannot be stored, or token files that do not agree."""


class WrittenShard(TypedDict):
    """What write_token_shard wrote: documents, tokens, and each file's digest by its path in the version."""

    documents: int
    tokens: int
    files: dict[str, storage.Digest]


class TokenIndex(NamedTuple):
    """A parsed .idx: the .bin dtype and, per sequence, its length and byte offset."""

    dtype: np.dtype
    lengths: np.ndarray
    pointers: np.ndarray
    document_indices: np.ndarray


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's rule (DType.optimal_dtype): uint16 below 65500 ids, else int32; little-endian."""
    return np.dtype("<u2") if vocab_size < 65500 else np.dtype("<i4")


def token_file(part: int, key: str) -> str:
    """A part's token file inside the version: `key` is a suffix under tokens/ or a key of olmo_tokens."""
    return olmo_tokens.path(part, key) if key in olmo_tokens.SUFFIXES else layout.tokens_part(part, key)


def _urls(version_url: str, part: int, keys: Sequence[str] = ("bin", "idx", "csv.gz")) -> dict[str, str]:
    return {key: storage.join(version_url, token_file(part, key)) for key in keys}


def file_keys(formats: Sequence[str]) -> tuple[str, ...]:
    """The token_file keys of every file a part has with these formats (the .csv.gz always)."""
    per_format = {"megatron": ("bin", "idx"), "datatrove": datatrove_tokens.SUFFIXES, "olmo": tuple(olmo_tokens.SUFFIXES)}
    return ("csv.gz", *(s for f in formats for s in per_format[f]))


def _checked_ids(doc_id: str, ids: Sequence[int] | np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The ids as `dtype`, or TokenShardError naming the document: never a silent wrap-around."""
    arr = np.asarray(ids)
    if arr.size == 0:
        return arr.astype(dtype)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise TokenShardError(f"document {doc_id!r}: token ids must be a flat sequence of integers")
    info = np.iinfo(dtype)
    low, high = arr.min(), arr.max()
    if low < 0 or high > info.max:
        bad = low if low < 0 else high
        raise TokenShardError(f"document {doc_id!r}: token id {int(bad)} does not fit {dtype.name} "
                              f"(0..{info.max})")
    if arr.size > _MAX_SEQUENCE:
        raise TokenShardError(f"document {doc_id!r}: {arr.size} tokens exceed Megatron's int32 sequence length")
    return arr.astype(dtype)


def _csv_writer(out: storage.HashingWriter, stack: ExitStack, lineterminator: str = "\n"):
    """A CSV writer into deterministic gzip: mtime 0, no file name, fixed level."""
    gz = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=GZIP_LEVEL, mtime=0))
    text = stack.enter_context(io.TextIOWrapper(gz, encoding="utf-8", newline=""))
    return csv.writer(text, lineterminator=lineterminator)


def _write_streams(urls: dict[str, str], streams: Sequence[str], docs: Iterable[tuple[str, str, str, Sequence[int] | np.ndarray]],
                   dtype: np.dtype, part: int) -> tuple[array, dict[str, storage.Digest]]:
    """Stream documents into the token stream files and the row tables (.csv.gz, and OLMo's when
    asked for); returns the per-document token counts and the digest of each file by its key."""
    lengths = array("q")
    start = 0
    tables = ["csv.gz", *([olmo_tokens.METADATA] if olmo_tokens.METADATA in urls else [])]
    with ExitStack() as stack:
        files = {key: stack.enter_context(storage.hashed_writer(urls[key])) for key in (*streams, *tables)}
        outs = [files[s] for s in streams]
        rows = _csv_writer(files["csv.gz"], stack)
        rows.writerow(CSV_HEADER)
        olmo_rows = (_csv_writer(files[olmo_tokens.METADATA], stack, olmo_tokens.LINE_END)
                     if olmo_tokens.METADATA in files else None)
        for line, (doc_id, source, sha256_published, ids) in enumerate(docs):
            arr = _checked_ids(doc_id, ids, dtype)
            data = arr.tobytes()
            for out in outs:
                out.write(data)
            end = start + arr.size
            rows.writerow((start, end, doc_id, source, sha256_published))
            if olmo_rows is not None:
                olmo_rows.writerow(olmo_tokens.metadata_row(start, end, doc_id, part, line))
            lengths.append(arr.size)
            start = end
    return lengths, {key: f.digest for key, f in files.items()}


def index_bytes(lengths: Sequence[int], dtype: np.dtype) -> bytes:
    """The .idx of one document per sequence, as megatron-core's _IndexWriter writes it.

    Header: magic, version <Q 1, dtype code <B, sequence count <Q, document count <Q
    (= len(document_indices), n + 1); then sequence lengths int32, sequence pointers int64
    (byte offsets into .bin), document indices int64 (0, 1, ..., n: the builder starts
    them with 0 and appends the sequence count at every end_document).
    """
    sizes = np.asarray(lengths, dtype=np.int64)
    count = sizes.size
    pointers = (np.cumsum(sizes) - sizes) * dtype.itemsize
    document_indices = np.arange(count + 1, dtype=np.int64)
    header = _HEADER.pack(INDEX_MAGIC, INDEX_VERSION, DTYPE_CODES[dtype.name], count, document_indices.size)
    return b"".join((
        header,
        sizes.astype("<i4").tobytes(),
        pointers.astype("<i8").tobytes(),
        document_indices.astype("<i8").tobytes(),
    ))


def write_token_shard(version_url: str, part: int, docs: Iterable[tuple[str, str, str, Sequence[int] | np.ndarray]],
                      vocab_size: int, formats: Sequence[str] = ("megatron",),
                      tokenizer_name: str = layout.TOKENIZER) -> WrittenShard:
    """Write one part's token files in one pass; returns document and token counts, and the
    digest of every file, hashed as it was written.

    docs: (id, source, sha256_published, token ids with EOS), streamed in the given order: the
    order of the part's documents file, whose lines OLMo's rows name.
    formats: "megatron" (.bin + .idx), "datatrove" (.ds + .ds.index + .ds.metadata) and/or
    "olmo" (tokens/olmo/ .npy + .csv.gz); the .csv.gz is always written. Index files are what
    make a stream readable, so they are removed first and written only after the streams are
    complete; on any error every file of the part is removed.
    """
    urls = _urls(version_url, part, file_keys(formats))
    dtype = token_dtype(vocab_size)
    streams = [STREAMS[f] for f in formats]
    for key in urls.keys() - {"csv.gz", olmo_tokens.METADATA, *streams}:
        storage.remove_tree(urls[key])
    try:
        lengths, digests = _write_streams(urls, streams, docs, dtype, part)
        total = int(sum(lengths))
        if "datatrove" in formats:
            metadata = datatrove_tokens.metadata_bytes(tokenizer_name, dtype.itemsize, total)
            digests["ds.metadata"] = storage.write_hashed(urls["ds.metadata"], metadata)
            digests["ds.index"] = storage.write_hashed(urls["ds.index"], datatrove_tokens.index_bytes(lengths))
        if "megatron" in formats:
            digests["idx"] = storage.write_hashed(urls["idx"], index_bytes(lengths, dtype))
    except BaseException:
        for url in urls.values():
            storage.remove_tree(url)
        raise
    files = {token_file(part, key): digest for key, digest in sorted(digests.items())}
    return {"documents": len(lengths), "tokens": total, "files": files}


def parse_index(data: bytes, where: str = "<idx>") -> TokenIndex:
    """Parse an MMIDIDX v1 .idx (as megatron-core's _IndexReader does, with checks)."""
    if len(data) < _HEADER.size:
        raise TokenShardError(f"{where}: too short for an MMIDIDX header")
    magic, version, code, count, doc_count = _HEADER.unpack_from(data)
    if magic != INDEX_MAGIC or version != INDEX_VERSION:
        raise TokenShardError(f"{where}: not an MMIDIDX v1 index")
    if code not in _CODE_DTYPES:
        raise TokenShardError(f"{where}: unknown dtype code {code}")
    if len(data) != _HEADER.size + count * 12 + doc_count * 8:
        raise TokenShardError(f"{where}: {len(data)} bytes do not match {count} sequences and {doc_count} documents")
    offset = _HEADER.size
    lengths = np.frombuffer(data, dtype="<i4", count=count, offset=offset)
    pointers = np.frombuffer(data, dtype="<i8", count=count, offset=offset + 4 * count)
    document_indices = np.frombuffer(data, dtype="<i8", count=doc_count, offset=offset + 12 * count)
    return TokenIndex(_CODE_DTYPES[code], lengths, pointers, document_indices)


def read_token_rows(url: str) -> list[tuple[int, int, str, str, str]]:
    """Rows of a tokens .csv.gz: (start, end, id, source, sha256_published)."""
    with storage.open_url(url, "rb") as raw, gzip.GzipFile(fileobj=raw) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        if tuple(next(reader, ())) != CSV_HEADER:
            raise TokenShardError(f"{url}: expected the header {','.join(CSV_HEADER)}")
        return [(int(start), int(end), doc_id, source, sha) for start, end, doc_id, source, sha in reader]


def _check_agree(urls: dict[str, str], index: TokenIndex, tokens: np.ndarray, rows: list) -> None:
    count = index.lengths.size
    if not np.array_equal(index.document_indices, np.arange(count + 1)):
        raise TokenShardError(f"{urls['idx']}: expected one sequence per document")
    if int(index.lengths.sum()) != tokens.size or not np.array_equal(
            index.pointers, (np.cumsum(index.lengths) - index.lengths) * index.dtype.itemsize):
        raise TokenShardError(f"{urls['idx']}: sequence lengths and pointers do not match {urls['bin']}")
    starts = np.cumsum(index.lengths) - index.lengths
    if len(rows) != count or any(
            (start, end) != (int(s), int(s + n)) for (start, end, *_), s, n in zip(rows, starts, index.lengths)):
        raise TokenShardError(f"{urls['csv.gz']}: token ranges do not match {urls['idx']}")


def read_token_shard(version_url: str, part: int) -> list[tuple[str, list[int]]]:
    """(id, token ids) per document of a part, after checking that the three files agree."""
    urls = _urls(version_url, part)
    index = parse_index(storage.read_bytes(urls["idx"]), urls["idx"])
    data = storage.read_bytes(urls["bin"])
    if len(data) % index.dtype.itemsize:
        raise TokenShardError(f"{urls['bin']}: {len(data)} bytes is not a whole number of {index.dtype.name}")
    tokens = np.frombuffer(data, dtype=index.dtype)
    rows = read_token_rows(urls["csv.gz"])
    _check_agree(urls, index, tokens, rows)
    return [(doc_id, tokens[start:end].tolist()) for start, end, doc_id, _, _ in rows]
