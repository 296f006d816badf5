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
    assert (result["documents"], result["tokens"]) == (3, sum(lengths))
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
    result = write_token_shard(str(tmp_path), 7, [], GPT2_VOCAB)
    assert (result["documents"], result["tokens"]) == (0, 0)
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


# --- datatrove's layout (formats/datatrove_tokens.py) ---

BOTH = ("megatron", "datatrove")


def test_same_bytes_as_datatrove_tokenized_file(tmp_path):
    """datatrove's own TokenizedFile writes the same .ds, .ds.index and .ds.metadata bytes."""
    from datatrove.pipeline.tokens.tokenizer import TokenizedFile

    write_token_shard(str(tmp_path / "ours"), 0, DOCS, GPT2_VOCAB, BOTH)
    theirs = TokenizedFile(str(tmp_path / "theirs"), "part.ds", tokenizer_name_or_path="tokenizer/tokenizer.json",
                           save_final_metadata=True, token_size=2)
    for *_, ids in DOCS:
        theirs.write(ids, None)
    theirs.close()
    for suffix in ("ds", "ds.index", "ds.metadata"):
        ours = (tmp_path / f"ours/tokens/part-00000.{suffix}").read_bytes()
        assert ours == (tmp_path / f"theirs/part.{suffix}").read_bytes(), suffix
    assert (tmp_path / "ours/tokens/part-00000.ds").read_bytes() == files(tmp_path / "ours")["bin"]


def test_datatrove_only_writes_no_megatron_files(tmp_path):
    write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB, ["datatrove"])
    assert sorted(p.name for p in (tmp_path / "tokens").iterdir()) == [
        "part-00000.csv.gz", "part-00000.ds", "part-00000.ds.index", "part-00000.ds.metadata"]
    ends = np.frombuffer((tmp_path / "tokens/part-00000.ds.index").read_bytes(), dtype="<u8").tolist()
    assert ends == [int(row[1]) for row in csv_rows((tmp_path / "tokens/part-00000.csv.gz").read_bytes())[1:]]


def test_datatrove_token_size_4_for_a_large_vocab(tmp_path):
    docs = [("big", "s", "d" * 64, [70000, 127999, 0])]
    write_token_shard(str(tmp_path), 0, docs, 128256, BOTH)
    meta = (tmp_path / "tokens/part-00000.ds.metadata").read_text()
    assert meta == "tokenizer/tokenizer.json|4\n3\n3.00 T"
    # datatrove reads token_size 4 as uint32: the same values as Megatron's int32 bytes.
    assert np.frombuffer((tmp_path / "tokens/part-00000.ds").read_bytes(), dtype="<u4").tolist() == [70000, 127999, 0]


@pytest.mark.parametrize("formats", [("megatron",), ("megatron", "datatrove", "olmo")])
def test_reported_digests_are_the_files_as_stored(tmp_path, formats):
    """Every file of the part is reported, with the sha256 and size of its bytes on disk (the
    gzip tables and the streams were hashed through the writer, the indexes from their bytes)."""
    files_written = write_token_shard(str(tmp_path), 0, DOCS, GPT2_VOCAB, formats)["files"]
    on_disk = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert sorted(files_written) == on_disk
    for path, digest in files_written.items():
        assert digest == storage.file_digest(str(tmp_path / path)), path


def test_empty_shard_in_datatrove_layout(tmp_path):
    result = write_token_shard(str(tmp_path), 0, [], GPT2_VOCAB, BOTH)
    assert (result["documents"], result["tokens"]) == (0, 0)
    tokens = tmp_path / "tokens"
    assert (tokens / "part-00000.ds").read_bytes() == b"" == (tokens / "part-00000.ds.index").read_bytes()
    assert (tokens / "part-00000.ds.metadata").read_text() == "tokenizer/tokenizer.json|2\n0\n0.00 T"
    assert read_token_shard(str(tmp_path), 0) == []


def test_error_removes_every_layout(tmp_path):
    docs = DOCS[:1] + [("bad", "s", "f" * 64, [GPT2_VOCAB + 70000])]
    with pytest.raises(TokenShardError, match="'bad'"):
        write_token_shard(str(tmp_path), 0, docs, GPT2_VOCAB, BOTH)
    assert list(tmp_path.rglob("*.*")) == []


def test_tokenizer_name_with_a_bar_is_refused():
    from opencorpus.formats.datatrove_tokens import metadata_bytes

    with pytest.raises(ValueError, match="must not contain"):
        metadata_bytes("a|b", 2, 0)


# --- the training order (formats/order.py) ---

PARTS = [(2, 1, 5000), (0, 3, 10), (1, 0, 0)]


def test_splitmix64_matches_the_reference_generator():
    from opencorpus.formats.order import splitmix64

    # SplitMix64 seeded 0 (Vigna's splitmix64.c / java.util.SplittableRandom): 0xe220a8397b1dcdaf first.
    assert [hex(int(v)) for v in splitmix64(0, 2)] == ["0xe220a8397b1dcdaf", "0x6e789e6aa1b965f4"]
    assert splitmix64(-1, 3).tolist() == splitmix64(2**64 - 1, 3).tolist()


def test_document_order_is_a_seeded_permutation_of_every_document():
    from opencorpus.formats.order import training_order

    order = training_order(PARTS, "document", 2048, seed=3)
    assert order.dtype == np.dtype("<i8") and order.shape == (4, 2)
    assert sorted(map(tuple, order.tolist())) == [(0, 0), (0, 1), (0, 2), (2, 0)]
    assert np.array_equal(order, training_order(list(reversed(PARTS)), "document", 2048, seed=3))
    orders = {tuple(map(tuple, training_order(PARTS, "document", 2048, seed=s).tolist())) for s in range(20)}
    assert len(orders) > 10  # the seed matters


def test_window_order_covers_every_token_once():
    from opencorpus.formats.order import training_order

    order = training_order(PARTS, "window", 2048, seed=0)
    assert order.shape == (1 + 3, 3)  # part 0: one short window; part 2: 2048, 2048, 904
    covered = sorted(map(tuple, order.tolist()))
    assert covered == [(0, 0, 10), (2, 0, 2048), (2, 2048, 4096), (2, 4096, 5000)]


def test_order_file_round_trips_through_storage():
    from opencorpus.formats.order import order_bytes, read_order, training_order, write_order

    rows = training_order(PARTS, "document", 2048, seed=1)
    url = f"memory://order-{uuid.uuid4().hex}/tokens/order.npy"
    try:
        write_order(url, rows)
        assert np.array_equal(read_order(url), rows)
        assert np.load(io.BytesIO(order_bytes(rows))).tolist() == rows.tolist()
    finally:
        storage.remove_tree(url.rsplit("/", 2)[0])
    empty = training_order([], "window", 8, seed=0)
    assert empty.shape == (0, 3) and np.load(io.BytesIO(order_bytes(empty))).shape == (0, 3)
