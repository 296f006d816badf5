"""Token shards on disk (formats/tokens.py): .bin, Megatron .idx, .csv.gz."""

from __future__ import annotations

import csv
import gzip
import io
import struct
import uuid
from pathlib import Path

import numpy as np
import pytest

from opencorpus import storage
from opencorpus.formats.tokens import (
    TokenShardError,
    read_token_shard,
    token_dtype,
    write_token_shard,
)

GPT2_VOCAB = 50257
DOCS = [
    ("doc-a", "src1", "a" * 64, [15496, 995, 50256]),
    ('id, with "quotes"\nand a newline', "src2", "b" * 64, [50256]),
    ("dóc-ü-東京", "src1", "c" * 64, list(range(0, 65000, 1000)) + [50256]),
]


def parse_idx(data: bytes) -> dict:
    """The Megatron MMIDIDX v1 layout, read field by field with struct (independent of the writer)."""
    assert data[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack_from("<Q", data, 9)
    (code,) = struct.unpack_from("<B", data, 17)
    sequences, documents = struct.unpack_from("<QQ", data, 18)
    offset = 34
    lengths = list(struct.unpack_from(f"<{sequences}i", data, offset))
    offset += 4 * sequences
    pointers = list(struct.unpack_from(f"<{sequences}q", data, offset))
    offset += 8 * sequences
    document_indices = list(struct.unpack_from(f"<{documents}q", data, offset))
    offset += 8 * documents
    assert offset == len(data), "trailing bytes after the document indices"
    return {"version": version, "code": code, "sequences": sequences, "documents": documents,
            "lengths": lengths, "pointers": pointers, "document_indices": document_indices}


def files(version: Path, part: int = 0) -> dict[str, bytes]:
    return {s: (version / f"tokens/part-{part:05d}.{s}").read_bytes() for s in ("bin", "idx", "csv.gz")}


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(gzip.decompress(data).decode("utf-8"), newline="")))


@pytest.mark.parametrize("vocab_size, dtype", [
    (256, np.uint16), (50257, np.uint16), (65499, np.uint16), (65500, np.int32), (128256, np.int32),
])
def test_token_dtype_follows_megatron(vocab_size, dtype):
    assert token_dtype(vocab_size) == np.dtype(dtype)


def test_idx_layout_matches_megatron_and_the_bin(tmp_path):
    result = write_token_shard(str(tmp_path), 0, iter(DOCS), GPT2_VOCAB)
    lengths = [len(ids) for *_, ids in DOCS]
    assert result == {"documents": 3, "tokens": sum(lengths)}
    out = files(tmp_path)
    idx = parse_idx(out["idx"])
    assert idx["version"] == 1
    assert idx["code"] == 8  # Megatron DType.uint16
    assert (idx["sequences"], idx["documents"]) == (3, 4)
    assert idx["lengths"] == lengths
    assert idx["pointers"] == [0, 2 * lengths[0], 2 * (lengths[0] + lengths[1])]
    assert idx["document_indices"] == [0, 1, 2, 3]
    tokens = struct.unpack(f"<{len(out['bin']) // 2}H", out["bin"])
    for (*_, ids), pointer, length in zip(DOCS, idx["pointers"], idx["lengths"]):
        assert list(tokens[pointer // 2:pointer // 2 + length]) == ids


def test_int32_shard_for_a_large_vocab(tmp_path):
    docs = [("big", "s", "d" * 64, [70000, 127999, 0]), ("small", "s", "e" * 64, [1])]
    write_token_shard(str(tmp_path), 3, docs, 128256)
    out = files(tmp_path, 3)
    idx = parse_idx(out["idx"])
    assert idx["code"] == 4  # Megatron DType.int32
    assert idx["pointers"] == [0, 12]
    assert struct.unpack("<4i", out["bin"]) == (70000, 127999, 0, 1)


def test_same_bytes_as_datatrove_megatron_writer(tmp_path):
    """datatrove's independent MMIDIDX writer gives the same .bin and .idx bytes."""
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronTokenizedFile

    ours = tmp_path / "ours"
    write_token_shard(str(ours), 0, DOCS, GPT2_VOCAB)
    theirs = MegatronTokenizedFile(str(tmp_path / "theirs"), "part", token_size=2)
    for *_, ids in DOCS:
        theirs.write(ids)
    theirs.close()
    assert files(ours)["bin"] == (tmp_path / "theirs/part.bin").read_bytes()
    assert files(ours)["idx"] == (tmp_path / "theirs/part.idx").read_bytes()


def test_csv_rows_map_token_ranges_to_documents(tmp_path):
    write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB)
    rows = csv_rows(files(tmp_path)["csv.gz"])
    assert rows[0] == ["start", "end", "id", "source", "sha256_published"]
    start = 0
    for row, (doc_id, source, sha, ids) in zip(rows[1:], DOCS, strict=True):
        assert row == [str(start), str(start + len(ids)), doc_id, source, sha]
        start += len(ids)


def test_gzip_header_is_deterministic(tmp_path):
    write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB)
    header = files(tmp_path)["csv.gz"][:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # flags: no file name, no comment
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0


def test_two_writes_give_identical_bytes(tmp_path):
    write_token_shard(str(tmp_path / "one"), 0, DOCS, GPT2_VOCAB)
    write_token_shard(str(tmp_path / "two"), 0, (d for d in DOCS), GPT2_VOCAB)
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_empty_shard_is_valid(tmp_path):
    assert write_token_shard(str(tmp_path), 7, [], GPT2_VOCAB) == {"documents": 0, "tokens": 0}
    out = files(tmp_path, 7)
    assert out["bin"] == b""
    idx = parse_idx(out["idx"])
    assert (idx["sequences"], idx["documents"], idx["document_indices"]) == (0, 1, [0])
    assert len(out["idx"]) == 34 + 8
    assert csv_rows(out["csv.gz"]) == [["start", "end", "id", "source", "sha256_published"]]
    assert read_token_shard(str(tmp_path), 7) == []


@pytest.mark.parametrize("bad", [65536, -1, 2**70])
def test_out_of_range_id_raises_and_leaves_no_files(tmp_path, bad):
    write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB)  # an earlier, complete write
    docs = DOCS[:2] + [("the-bad-doc", "s", "f" * 64, [1, bad, 2])] + DOCS[2:]
    with pytest.raises(TokenShardError, match="the-bad-doc"):
        write_token_shard(str(tmp_path), 0, docs, GPT2_VOCAB)
    assert list(tmp_path.rglob("*.*")) == []


def test_error_in_the_document_stream_removes_partial_files(tmp_path):
    def docs():
        yield DOCS[0]
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError):
        write_token_shard(str(tmp_path), 0, docs(), GPT2_VOCAB)
    assert list(tmp_path.rglob("*.*")) == []


def test_read_back_from_a_memory_url():
    version = f"memory://tokens-{uuid.uuid4().hex}/v1"
    try:
        write_token_shard(version, 2, DOCS, GPT2_VOCAB)
        assert storage.list_files(version) == ["tokens/part-00002.bin", "tokens/part-00002.csv.gz",
                                               "tokens/part-00002.idx"]
        assert read_token_shard(version, 2) == [(doc_id, ids) for doc_id, _, _, ids in DOCS]
    finally:
        storage.remove_tree(version.rsplit("/", 1)[0])


def test_reader_rejects_files_that_disagree(tmp_path):
    write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB)
    bin_path = tmp_path / "tokens/part-00000.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-2])
    with pytest.raises(TokenShardError, match="do not match"):
        read_token_shard(str(tmp_path), 0)
