"""Readers on hostile input (issue 12): compression bombs, corrupt and odd files, symlinks and
special files. Each outcome is a Document or a DeadLetter naming the file; nothing raises,
hangs, or takes more than bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from opencorpus import storage
from opencorpus.document import DeadLetter, Document
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files

DATE = "2026-11-01"
MiB = 1 << 20


def read_all(spec: SourceSpec, uri: str, base: Path) -> list[Document | DeadLetter]:
    return [o for f in source_files(spec, uri, str(base)) for o in read_source_file(spec, f, DATE)]


def lines(*records: dict | bytes) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def dead(outcomes: list) -> list[tuple[str, str]]:
    return [(o.location, o.reason) for o in outcomes if isinstance(o, DeadLetter)]


def doc_ids(outcomes: list) -> list[str]:
    return [o.id for o in outcomes if isinstance(o, Document)]


# ---- bombs: each is read in a fresh process whose peak RSS is measured ---------------------

# The child reads one file and reports its outcomes and how much its peak RSS grew while
# reading. Its address space is capped so that a regression fails the test, not the machine.
_MEASURE = """
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from opencorpus.recipe import SourceSpec
from opencorpus.sources import read_source_file, source_files
path, fmt = sys.argv[1], sys.argv[2]
spec = SourceSpec(name="b", uri=path, format=fmt)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = [o for f in source_files(spec, path, os.path.dirname(path)) for o in read_source_file(spec, f, "2026-11-01")]
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"grew_mb": grew // 1024,
                  "outcomes": [[type(o).__name__, o.location, getattr(o, "reason", None), getattr(o, "detail", None)]
                               for o in out]}))
"""
MAX_GROWTH_MB = 256  # the bound is 1 GB; reading holds one 16 MiB decompressed piece and one capped line


def measure(path: Path, fmt: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path), fmt],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def zstd_file(path: Path, *parts: tuple[bytes, int]) -> Path:
    """One zstd frame of each (block, times) repeated: gigabytes in a few KB, compressed as a stream."""
    cobj = zstandard.ZstdCompressor(level=1).compressobj()
    with open(path, "wb") as f:
        for block, times in parts:
            f.writelines(cobj.compress(block) for _ in range(times))
        f.write(cobj.flush())
    return path


def test_zstd_bomb_of_one_huge_line_is_one_too_large_dead_letter_in_bounded_memory(tmp_path):
    bomb = zstd_file(tmp_path / "line.jsonl.zst", (b"x" * MiB, 2560))  # 2.5 GiB, one line, 82 KB
    assert bomb.stat().st_size < 100_000
    report = measure(bomb, "jsonl.zst")
    [[kind, location, reason, detail]] = report["outcomes"]
    assert (kind, location, reason) == ("DeadLetter", "line.jsonl.zst:1", "too-large")
    assert f"line of {2560 * MiB} bytes" in detail
    assert report["grew_mb"] < MAX_GROWTH_MB, report["grew_mb"]


def test_zstd_bomb_of_blank_lines_costs_nothing_and_keeps_line_numbers(tmp_path):
    good = lines({"id": "a", "text": "alpha"})
    bomb = zstd_file(tmp_path / "blank.jsonl.zst", (good, 1), (b"\n" * MiB, 1024), (b" \r\n\t", 1), (good, 1))
    report = measure(bomb, "jsonl.zst")
    assert [o[:2] for o in report["outcomes"]] == [["Document", "blank.jsonl.zst:1"],
                                                   ["Document", f"blank.jsonl.zst:{1024 * MiB + 3}"]]
    assert report["grew_mb"] < MAX_GROWTH_MB, report["grew_mb"]


def test_gzip_bomb_of_one_huge_line_is_read_in_linear_time_and_bounded_memory(tmp_path):
    bomb = tmp_path / "line.jsonl.gz"
    cobj = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb.write_bytes(b"".join([cobj.compress(b"x" * MiB) for _ in range(256)] + [cobj.flush()]))
    report = measure(bomb, "jsonl.gz")
    assert [o[:3] for o in report["outcomes"]] == [["DeadLetter", "line.jsonl.gz:1", "too-large"]]
    assert report["grew_mb"] < MAX_GROWTH_MB, report["grew_mb"]


def warc_gz_bomb(path: Path, header: bytes, block: bytes, times: int) -> Path:
    cobj = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [cobj.compress(header)] + [cobj.compress(block) for _ in range(times)]
    path.write_bytes(b"".join(parts + [cobj.compress(b"\r\n\r\n"), cobj.flush()]))
    return path


@pytest.mark.parametrize("block, times", [(b"a" * MiB, 256), (b"a: b\r\n" * (MiB // 6), 64)], ids=["long-line", "many-lines"])
def test_warc_header_bomb_is_one_dead_letter_in_bounded_memory(tmp_path, block, times):
    # warcio parses headers with an unbounded readline(): 30 MB of "a: b" lines took 800 MB
    header = b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://x.example/\r\nX-Bomb: "
    bomb = warc_gz_bomb(tmp_path / "bomb.warc.gz", header, block, times)
    report = measure(bomb, "warc")
    assert [o[:3] for o in report["outcomes"]] == [["DeadLetter", "bomb.warc.gz@0", "unreadable"]]
    assert "headers longer than" in report["outcomes"][0][3]
    assert report["grew_mb"] < MAX_GROWTH_MB, report["grew_mb"]


# ---- corrupt and odd compressed files: a dead letter where reading stops, the rest kept --------

RECORDS = [{"id": str(i), "text": f"record {i}"} for i in range(3)]


def read_bytes_as(tmp_path: Path, name: str, data: bytes, fmt: str | None = None) -> list[Document | DeadLetter]:
    (tmp_path / name).write_bytes(data)
    fmt = fmt or name.split(".", 1)[1]
    return read_all(SourceSpec(name="s", uri=name, format=fmt), str(tmp_path / name), tmp_path)


@pytest.mark.parametrize("name", ["x.jsonl.zst", "x.jsonl.gz"])
@pytest.mark.parametrize("data", [lines(*RECORDS), b"\0" * 5000], ids=["plain", "zeros"])
def test_a_file_that_is_not_compressed_is_one_corrupt_dead_letter(tmp_path, name, data):
    out = read_bytes_as(tmp_path, name, data)
    assert dead(out) == [(f"{name}:1", "corrupt")] and not doc_ids(out)
    assert "near compressed byte 0" in out[0].detail


def test_a_damaged_second_gzip_member_keeps_the_first_members_records(tmp_path):
    first, second = gzip.compress(lines(*RECORDS), mtime=0), bytearray(gzip.compress(lines(*RECORDS), mtime=0))
    second[20] ^= 0xFF  # inside the deflate data
    out = read_bytes_as(tmp_path, "x.jsonl.gz", first + bytes(second))
    assert doc_ids(out)[:3] == ["s/0", "s/1", "s/2"]
    assert out[-1].reason == "corrupt" and out[-1].location.startswith("x.jsonl.gz:")
    assert sum(isinstance(o, DeadLetter) and o.reason == "corrupt" for o in out) == 1


def test_a_bit_flipped_gzip_checksum_is_a_corrupt_dead_letter_after_the_records(tmp_path):
    # distinct texts, so that the file spans many decompression steps: the step that meets
    # the damage yields nothing, the ones before keep their records
    records = [{"id": str(i), "text": hashlib.sha256(str(i).encode()).hexdigest()} for i in range(3000)]
    data = bytearray(gzip.compress(lines(*records), mtime=0))
    data[-6] ^= 0x01  # the CRC32 in the trailer
    out = read_bytes_as(tmp_path, "x.jsonl.gz", bytes(data))
    kept = doc_ids(out)
    assert 0 < len(kept) < 3000 and kept == [f"s/{i}" for i in range(len(kept))]
    assert dead(out) == [(f"x.jsonl.gz:{len(kept) + 1}", "corrupt")]


def test_a_zstd_checksum_mismatch_is_a_corrupt_dead_letter(tmp_path):
    data = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(lines(*RECORDS)))
    data[-1] ^= 0x01
    out = read_bytes_as(tmp_path, "x.jsonl.zst", bytes(data))
    assert dead(out)[-1][1] == "corrupt"


def test_garbage_after_a_good_zstd_frame_keeps_the_frame(tmp_path):
    data = zstandard.ZstdCompressor().compress(lines(*RECORDS)) + b"not a frame at all"
    out = read_bytes_as(tmp_path, "x.jsonl.zst", data)
    assert doc_ids(out) == ["s/0", "s/1", "s/2"] and dead(out) == [("x.jsonl.zst:4", "corrupt")]


def test_several_frames_and_members_and_gzip_zero_padding_read_whole(tmp_path):
    zst = b"".join(zstandard.ZstdCompressor().compress(lines(r)) for r in RECORDS)
    gz = b"".join(gzip.compress(lines(r), mtime=0) for r in RECORDS) + b"\0" * 1000
    assert doc_ids(read_bytes_as(tmp_path, "x.jsonl.zst", zst)) == ["s/0", "s/1", "s/2"]
    assert doc_ids(read_bytes_as(tmp_path, "x.jsonl.gz", gz)) == ["s/0", "s/1", "s/2"]


@pytest.mark.parametrize("name, pack", [("x.jsonl.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
                                        ("x.jsonl.gz", lambda b: gzip.compress(b, mtime=0))])
def test_a_truncated_file_is_a_truncated_dead_letter_at_the_cut_line(tmp_path, name, pack):
    data = pack(lines(*[{"id": str(i), "text": f"record {i} " * 50} for i in range(2000)]))
    out = read_bytes_as(tmp_path, name, data[: len(data) // 2])
    cut = len(doc_ids(out)) + 1
    assert 0 < cut < 2000 and dead(out) == [(f"{name}:{cut}", "truncated")]


def test_a_line_over_the_cap_is_too_large_and_one_at_the_cap_is_read(tmp_path):
    at_cap = json.dumps({"id": "a", "text": "x" * 100}).encode()
    over = json.dumps({"id": "b", "text": "x" * 101}).encode()
    (tmp_path / "x.jsonl").write_bytes(at_cap + b"\n\n   \n" + over + b"\n" + at_cap)
    spec = SourceSpec(name="s", uri="x.jsonl", max_document_bytes=len(at_cap))
    out = read_all(spec, str(tmp_path / "x.jsonl"), tmp_path)
    assert [(o.location, type(o).__name__) for o in out] == [("x.jsonl:1", "Document"), ("x.jsonl:4", "DeadLetter"),
                                                              ("x.jsonl:5", "Document")]
    assert out[1].reason == "too-large" and f"line of {len(over)} bytes" in out[1].detail


def test_a_url_the_index_cannot_key_is_a_bad_url_dead_letter_that_does_not_quote_it(tmp_path):
    urls = ["https://example.org/a", "http://a:port/", "http://[zz/", 5, ["x"], "", None, "https://user:s3cret@[::1]:99999999/"]
    (tmp_path / "x.jsonl").write_bytes(lines(*[{"id": str(i), "text": "t", "url": u} for i, u in enumerate(urls)]))
    out = read_all(SourceSpec(name="s", uri="x.jsonl", url_field="url"), str(tmp_path / "x.jsonl"), tmp_path)
    assert [o.metadata.get("url") if isinstance(o, Document) else o.reason for o in out] == \
        ["https://example.org/a", "bad-url", "bad-url", "bad-url", "bad-url", None, None, "bad-url"]
    assert not any("s3cret" in o.detail for o in out if isinstance(o, DeadLetter))


@pytest.mark.parametrize("data", [b"", b"PAR1", b"PAR1" + b"\0" * 100 + b"PAR1", b"not parquet at all"])
def test_a_broken_parquet_file_is_a_dead_letter(tmp_path, data):
    out = read_bytes_as(tmp_path, "x.parquet", data)
    assert [(o.location, o.reason) for o in out] == [("x.parquet:1", "unreadable")]


def test_a_truncated_parquet_file_is_a_dead_letter(tmp_path):
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": [str(i) for i in range(5000)], "text": ["t"] * 5000}), buf, row_group_size=1000)
    out = read_bytes_as(tmp_path, "x.parquet", buf.getvalue()[:-100])
    assert isinstance(out[-1], DeadLetter) and out[-1].location.startswith("x.parquet:") and out[-1].reason == "unreadable"


@pytest.mark.parametrize("data", [b"", b"WARC/1.0\r\n", b"\x1f\x8b" + b"\0" * 50,
                                  gzip.compress(b"WARC/1.0\r\nbad header\r\n\r\n", mtime=0), b"garbage" * 100])
def test_a_broken_warc_file_is_a_dead_letter_or_nothing(tmp_path, data):
    out = read_bytes_as(tmp_path, "x.warc.gz", data, "warc")
    assert all(isinstance(o, DeadLetter) and o.location.startswith("x.warc.gz") for o in out)


# ---- symlinks and special files in a tree -----------------------------------------------

@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tree/ with a file, a symlink inside the tree, and links that lead out of it or nowhere."""
    (tmp_path / "secret.txt").write_text("password=hunter2")
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "inside.txt").symlink_to(root / "a.txt")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "sub" / "dotdot.txt").symlink_to(Path("..") / ".." / "secret.txt")
    (root / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (root / "loop1.txt").symlink_to("loop2.txt")
    (root / "loop2.txt").symlink_to("loop1.txt")
    (root / "outdir").symlink_to(tmp_path, target_is_directory=True)
    return root


def by_id(outcomes: list) -> dict[str, str]:
    return {o.id: "document" if isinstance(o, Document) else o.reason for o in outcomes}


def test_text_tree_reads_links_inside_and_dead_letters_links_out(tree):
    out = read_all(SourceSpec(name="t", uri="tree", format="text"), str(tree), tree.parent)
    assert by_id(out) == {"t/a.txt": "document", "t/sub/inside.txt": "document", "t/leak.txt": "outside-root",
                          "t/sub/dotdot.txt": "outside-root", "t/dangling.txt": "unreadable",
                          "t/loop1.txt": "unreadable", "t/loop2.txt": "unreadable"}
    assert not any("hunter2" in (o.text if isinstance(o, Document) else o.detail) for o in out)
    leak = next(o for o in out if o.id == "t/leak.txt")
    assert leak.location == "tree/leak.txt" and "outside" in leak.detail


def test_html_and_glob_sources_confine_to_their_root_too(tree):
    (tree / "page.html").symlink_to(tree.parent / "secret.txt")
    html = read_all(SourceSpec(name="h", uri="tree", format="html"), str(tree), tree.parent)
    assert by_id(html)["h/page.html"] == "outside-root"
    (tree / "x.jsonl").symlink_to(tree.parent / "secret.txt")
    globbed = read_all(SourceSpec(name="j", uri="tree/*.jsonl"), str(tree / "*.jsonl"), tree.parent)
    assert [(o.location, o.reason) for o in globbed] == [("tree/x.jsonl", "outside-root")]


def test_a_linked_root_and_a_file_named_directly_are_read(tree, tmp_path):
    (tmp_path / "linked").symlink_to(tree, target_is_directory=True)
    out = read_all(SourceSpec(name="t", uri="linked", format="text"), str(tmp_path / "linked"), tmp_path)
    assert by_id(out)["t/a.txt"] == "document"
    named = read_all(SourceSpec(name="t", uri="tree/leak.txt", format="text"), str(tree / "leak.txt"), tmp_path)
    assert by_id(named) == {"t/leak.txt": "document"}  # the recipe named this link itself


def test_a_fifo_is_a_dead_letter_not_a_hang(tree):
    os.mkfifo(tree / "pipe.jsonl")

    def hung(*_):
        raise TimeoutError("the reader blocked on a FIFO")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        out = read_all(SourceSpec(name="f", uri="tree/*.jsonl"), str(tree / "*.jsonl"), tree.parent)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [(o.location, o.reason) for o in out] == [("tree/pipe.jsonl", "not-a-regular-file")]
    assert "FIFO" in out[0].detail


def test_input_refusal_is_local_only():
    storage.write_bytes("memory://hostile/x.jsonl", b"{}\n")
    assert storage.input_refusal("memory://hostile/x.jsonl", "memory://hostile") is None
