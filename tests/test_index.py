"""The lookup index format (formats/index.py) and its Beam writer (beam/index.py)."""

from __future__ import annotations

import hashlib
import uuid

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from opencorpus import storage
from opencorpus.beam.index import WriteIndex
from opencorpus.document import Removed
from opencorpus.formats import index
from opencorpus.formats.index import BY_SHA256, BY_URL, IndexDamaged
from opencorpus.lookup.reader import Lookup


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def located(doc_id: str, original: str, published: str | None = None, url: str | None = None,
            part: int = 0, line: int = 0, duplicates: list | None = None) -> dict:
    meta = {"sha256": original, "sha256_published": published or original, "license": "MIT",
            "license_evidence": [{"method": "spdx-identifier", "matched": "SPDX-License-Identifier: MIT"}],
            "duplicates": duplicates or []}
    if url:
        meta["url"] = url
    return {"id": doc_id, "source": "web", "metadata": meta, "part": part, "line": line}


SURVIVOR = located("web/a", sha("a"), sha("a-redacted"), url="https://example.com/a", part=1, line=3,
                   duplicates=[{"id": "web/z", "source": "web", "license": "CC-BY-4.0"}])
OTHER = located("web/b", sha("b"), line=1)
COPY = Removed(id="web/z", source="web", sha256=sha("a"), stage="dedup", reason="exact-duplicate",
               details={"duplicate_of": "web/a"})
DROPPED = Removed(id="web/q", source="web", sha256=sha("q"), stage="quality", reason="too-short")


def all_entries() -> list[tuple[str, dict]]:
    entries = index.document_entries(SURVIVOR) + index.document_entries(OTHER)
    entries.append(index.removed_entry(COPY.to_record(), SURVIVOR))
    entries.append(index.removed_entry(DROPPED.to_record(), None))
    return entries


@pytest.mark.parametrize("raw, normalized", [
    ("HTTP://Example.COM:80/a?x=1&b=2#top", "http://example.com/a?x=1&b=2"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/A/B?Q=1", "https://example.com:8443/A/B?Q=1"),
    ("  https://user:pw@EXAMPLE.org/p#frag ", "https://user:pw@example.org/p"),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
])
def test_url_normalization_rule(raw, normalized):
    assert index.normalize_url(raw) == normalized
    assert index.url_key(raw) == index.url_key(normalized)


def test_shard_prefix_grows_with_entries():
    assert index.prefix_hex_for(0) == 1
    assert index.prefix_hex_for(16 * index.TARGET_ENTRIES) == 1
    assert index.prefix_hex_for(16 * index.TARGET_ENTRIES + 1) == 2
    assert index.prefix_hex_for(1_000_000) == 3  # about 244 entries per shard


def test_document_entries_cover_both_hashes_and_url():
    entries = index.document_entries(SURVIVOR)
    by_key = {e["key"]: (name, e) for name, e in entries}
    assert by_key[sha("a")][1]["matched"] == ["original"]
    assert by_key[sha("a-redacted")][1]["matched"] == ["published"]
    assert by_key[index.url_key("https://example.com/a")][0] == BY_URL
    # Same original and published hash: one entry that says both.
    assert [e["matched"] for _, e in index.document_entries(OTHER)] == [["original", "published"]]


def test_write_and_find_round_trip_over_fsspec_url():
    root = f"memory://index-{uuid.uuid4().hex}/v1"
    counts = index.write_index(root, all_entries())
    assert counts == {BY_SHA256: 5, BY_URL: 1}
    meta = index.read_meta(root)
    # Every shard exists, empty ones too, so a missing file means damage.
    assert storage.list_files(storage.join(root, "index/by-sha256")) == [f"{i:x}.jsonl.zst" for i in range(16)]
    found = index.find(root, meta, BY_SHA256, sha("a"))
    assert [(e["id"], e.get("duplicate_of"), e.get("removed", {}).get("id")) for e in found] == [
        ("web/a", None, None), ("web/a", "web/a", "web/z")]
    assert found[1]["removed"]["license"] == "CC-BY-4.0"
    assert (found[0]["part"], found[0]["line"]) == (1, 3)
    assert index.find(root, meta, BY_SHA256, sha("nothing")) == []


def test_same_entries_give_same_bytes_in_any_order():
    a, b = f"memory://idx-{uuid.uuid4().hex}", f"memory://idx-{uuid.uuid4().hex}"
    index.write_index(a, all_entries())
    index.write_index(b, list(reversed(all_entries())))
    files = storage.list_files(a)
    assert files == storage.list_files(b)
    assert all(storage.read_bytes(storage.join(a, f)) == storage.read_bytes(storage.join(b, f)) for f in files)


def test_bad_keys_never_reach_storage():
    root = f"memory://idx-{uuid.uuid4().hex}"
    index.write_index(root, all_entries())
    meta = index.read_meta(root)
    for bad in ("../../etc/passwd", sha("a").upper(), sha("a")[:63], sha("a") + "0", "", "g" * 64):
        with pytest.raises(ValueError, match="not a sha256"):
            index.find(root, meta, BY_SHA256, bad)


def test_missing_index_or_shard_is_damage_not_absence():
    root = f"memory://idx-{uuid.uuid4().hex}"
    with pytest.raises(IndexDamaged, match="no lookup index"):
        index.read_meta(root)
    index.write_index(root, all_entries())
    storage.remove_tree(storage.join(root, "index/by-sha256/" + sha("a")[0] + ".jsonl.zst"))
    with pytest.raises(IndexDamaged, match="shard missing"):
        index.find(root, index.read_meta(root), BY_SHA256, sha("a"))


def test_lookup_answers_survivor_for_removed_copy_and_not_found_for_dropped():
    root = f"memory://idx-{uuid.uuid4().hex}"
    index.write_index(root, all_entries())
    lookup = Lookup(root)
    answer = lookup.by_sha256(sha("a"))
    assert answer["found"] and answer["id"] == "web/a" and answer["license"] == "MIT"
    assert answer["evidence"][0]["method"] == "spdx-identifier"
    assert len(answer["matches"]) == 2
    dropped = lookup.by_sha256(sha("q"))
    assert not dropped["found"]
    assert dropped["matches"][0]["removed"] == {"id": "web/q", "source": "web", "stage": "quality", "reason": "too-short"}
    assert lookup.by_url("HTTPS://EXAMPLE.COM/a#x")["id"] == "web/a"
    assert not lookup.by_url("https://example.com/A")["found"]


def test_beam_transform_writes_the_same_bytes(tmp_path):
    beam_root, plain_root = str(tmp_path / "beam"), str(tmp_path / "plain")
    options = PipelineOptions(["--direct_running_mode=in_memory", "--direct_num_workers=1"])
    with beam.Pipeline(runner=FnApiRunner(), options=options) as p:
        docs = p | "Docs" >> beam.Create([SURVIVOR, OTHER])
        removed = p | "Removed" >> beam.Create([COPY, DROPPED])
        (docs, removed) | WriteIndex(beam_root)
    index.write_index(plain_root, all_entries())
    files = storage.list_files(plain_root)
    assert storage.list_files(beam_root) == files
    assert all((tmp_path / "beam" / f).read_bytes() == (tmp_path / "plain" / f).read_bytes() for f in files)
