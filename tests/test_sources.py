"""Readers: every record becomes a Document or a dead letter that names file and line."""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from opencorpus.document import DeadLetter, Document, canonical_hash
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files

DATE = "2026-11-01"


def read_all(spec, uri, base):
    out = []
    for f in source_files(spec, uri, base):
        out.extend(read_source_file(spec, f, DATE))
    return out


def lines(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


GOOD = [{"id": "a", "text": "alpha\r\n"}, {"id": "b", "text": "beta"}]


@pytest.mark.parametrize("fmt, pack", [("jsonl", lambda b: b), ("jsonl.gz", lambda b: gzip.compress(b, mtime=0)),
                                       ("jsonl.zst", lambda b: zstandard.ZstdCompressor().compress(b))])
def test_jsonl_formats(tmp_path, fmt, pack):
    (tmp_path / f"x.{fmt}").write_bytes(pack(lines(*GOOD)))
    spec = SourceSpec(name="s", uri=f"x.{fmt}", format=fmt)
    docs = read_all(spec, str(tmp_path / f"x.{fmt}"), str(tmp_path))
    assert [d.id for d in docs] == ["s/a", "s/b"]
    assert docs[0].text == "alpha" and docs[0].metadata["sha256"] == canonical_hash("alpha")
    assert docs[0].added == DATE and docs[0].source == "s" and docs[0].location == f"x.{fmt}:1"


def test_bad_lines_are_dead_lettered_and_the_rest_is_read(tmp_path):
    data = lines(GOOD[0], b"{not json", b'{"id": "u", "text": "caf\xe9"}', {"id": "m"}, [1, 2],
                 {"id": {"x": 1}, "text": "t"}, {"id": "n", "text": 5}, GOOD[1])
    (tmp_path / "x.jsonl").write_bytes(data)
    out = read_all(SourceSpec(name="s", uri="x.jsonl"), str(tmp_path / "x.jsonl"), str(tmp_path))
    assert [d.id for d in out if isinstance(d, Document)] == ["s/a", "s/b"]
    dead = {d.location: d.reason for d in out if isinstance(d, DeadLetter)}
    assert dead == {"x.jsonl:2": "malformed-json", "x.jsonl:3": "invalid-utf8", "x.jsonl:4": "missing-field",
                    "x.jsonl:5": "malformed-json", "x.jsonl:6": "bad-field", "x.jsonl:7": "bad-field"}
    assert all(d.stage == "ingest" and d.source == "s" for d in out if isinstance(d, DeadLetter))


def test_truncated_zstd_keeps_what_was_read_and_dead_letters_the_rest(tmp_path):
    records = [{"id": str(i), "text": f"document number {i} " * 20} for i in range(3000)]
    packed = zstandard.ZstdCompressor().compress(lines(*records))
    (tmp_path / "t.jsonl.zst").write_bytes(packed[: len(packed) // 2])
    out = read_all(SourceSpec(name="s", uri="t.jsonl.zst", format="jsonl.zst"), str(tmp_path / "t.jsonl.zst"), str(tmp_path))
    docs = [d for d in out if isinstance(d, Document)]
    dead = [d for d in out if isinstance(d, DeadLetter)]
    assert 0 < len(docs) < 3000
    assert len(dead) == 1 and dead[0].reason == "truncated"
    assert dead[0].location.startswith("t.jsonl.zst:") and "truncated" in dead[0].detail


def test_oversized_document_is_dead_lettered(tmp_path):
    big = "x" * 20_000_000
    (tmp_path / "big.jsonl").write_bytes(lines({"id": "big", "text": big}, GOOD[1]))
    spec = SourceSpec(name="s", uri="big.jsonl")
    out = read_all(spec, str(tmp_path / "big.jsonl"), str(tmp_path))
    assert isinstance(out[0], DeadLetter) and out[0].reason == "too-large" and out[0].location == "big.jsonl:1"
    assert "max_document_bytes" in out[0].detail
    assert isinstance(out[1], Document)


def test_text_tree_ids_are_relative_paths(tmp_path):
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_text("\ufeffone")
    (tmp_path / "tree" / "sub" / "b.md").write_text("two")
    (tmp_path / "tree" / "bad.bin").write_bytes(b"\xff\xfe\x00")
    spec = SourceSpec(name="t", uri="tree", format="text")
    out = read_all(spec, str(tmp_path / "tree"), str(tmp_path))
    assert {d.id: d.text for d in out if isinstance(d, Document)} == {"t/a.txt": "one", "t/sub/b.md": "two"}
    dead = [(d.id, d.reason, d.location) for d in out if isinstance(d, DeadLetter)]
    assert dead == [("t/bad.bin", "invalid-utf8", "tree/bad.bin")]
    assert out[0].metadata["path"] == "a.txt"


def test_glob_and_parquet(tmp_path):
    table = pa.table({"id": ["p1", "p2"], "body": ["first", "second"]})
    pq.write_table(table, tmp_path / "a.parquet")
    spec = SourceSpec(name="p", uri="*.parquet", format="parquet", text_field="body")
    out = read_all(spec, str(tmp_path / "*.parquet"), str(tmp_path))
    assert [(d.id, d.text, d.location) for d in out] == [("p/p1", "first", "a.parquet:1"), ("p/p2", "second", "a.parquet:2")]


def test_memory_filesystem_and_empty_source():
    from opencorpus import storage

    storage.write_bytes("memory://src-test/d/x.jsonl", lines(*GOOD))
    spec = SourceSpec(name="m", uri="memory://src-test/d/*.jsonl")
    assert [d.id for d in read_all(spec, spec.uri, "memory://src-test")] == ["m/a", "m/b"]
    assert source_files(spec, "memory://src-test/nothing/*.jsonl", ".") == []
