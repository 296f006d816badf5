"""The run cache (opencorpus/cache/): reused whole, never trusted when damaged, never changing
a snapshot's bytes, keyed so that one more source or other options recompute only what they change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opencorpus.cache.redactions import RedactionMemo, RedactionPacks, slice_range
from opencorpus.cli import main
from opencorpus.document import DeadLetter, Document, Removed
from opencorpus.formats import layout
from opencorpus.formats.checked import CorruptFileError, checked_writer, read_checked
from opencorpus.formats.documents import range_of
from opencorpus.formats.outcomes import outcome_from_record, outcome_record
from opencorpus.stages.pii import PiiRedactor

from conftest import BEAM, DEMO_DATA, pii_settings

RECIPE = """\
name: cached
date: 2026-11-01
sources:
  - {{name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
  - {{name: changelogs, uri: data/debian-changelogs.jsonl.zst}}
  - {{name: broken, uri: data/broken.jsonl}}
{more}tokenizer: {{train: {{vocab_size: 500, sample_size: 200}}}}
output: {{shards: 2}}
stages: {stages}
"""
# No NER: the cache does not care which recognizers run, and the runs stay short.
STAGES = "{pii: {entities: [EMAIL_ADDRESS, IP_ADDRESS], ner_kinds: []}}"
MORE = "  - {name: notices, uri: data/license-notices.jsonl.zst}\n"
BROKEN = b'{"id": "ok", "text": "Mail ada@example.org. SPDX-License-Identifier: MIT"}\n{"id": "bad", "text": \n'


def make_recipe(folder: Path, more: str = "", stages: str = STAGES) -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("libzstd-debian.jsonl.zst", "debian-changelogs.jsonl.zst", "license-notices.jsonl.zst"):
        shutil.copy(DEMO_DATA / name, data / name)
    (data / "broken.jsonl").write_bytes(BROKEN)
    path = folder / f"recipe-{len(list(folder.glob('recipe-*.yaml')))}.yaml"
    path.write_text(RECIPE.format(more=more, stages=stages))
    return path


def run(recipe: Path, output: Path, *cache: str) -> dict:
    """Run; the published version's manifest digest and run.json's cache facts."""
    assert main(["run", str(recipe), "--output", str(output), *cache, *BEAM]) == 0
    version = next((output / "cached").glob("v*"))
    run_info = json.loads((version / layout.RUN).read_text())
    return {"manifest": (version / layout.MANIFEST).read_bytes(), "cache": run_info["cache"] or {}}


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A run without a cache, and a first run filling one: (recipe, cache folder, their results)."""
    folder = tmp_path_factory.mktemp("cache")
    recipe = make_recipe(folder / "recipe")
    plain = run(recipe, folder / "plain", "--no-cache")
    cache = folder / "cache"
    filled = run(recipe, folder / "filled", "--cache", str(cache))
    return recipe, cache, plain, filled


def test_a_cache_never_changes_the_snapshot(first):
    _, _, plain, filled = first
    assert plain["cache"] == {}
    assert filled["manifest"] == plain["manifest"]
    assert filled["cache"]["files_read"] == 3 and filled["cache"].get("files_from_cache", 0) == 0
    assert filled["cache"]["pii_texts_redacted"] > 0


def test_a_second_run_takes_everything_from_the_cache(first, tmp_path):
    recipe, cache, plain, _ = first
    again = run(recipe, tmp_path / "again", "--cache", str(cache))
    assert again["manifest"] == plain["manifest"]
    assert again["cache"]["files_from_cache"] == 3 and again["cache"].get("files_read", 0) == 0
    assert again["cache"]["pii_texts_from_cache"] > 0 and again["cache"].get("pii_texts_redacted", 0) == 0


def test_damaged_entries_are_recomputed_and_rewritten(first, tmp_path):
    recipe, cache, plain, _ = first
    damaged = tmp_path / "cache"
    shutil.copytree(cache, damaged)
    entries = sorted((damaged / "files").rglob("*.jsonl.zst"))
    entries[0].write_bytes(entries[0].read_bytes()[:-40])  # cut short
    pack = sorted((damaged / "redactions").rglob("*.jsonl.zst"))[0]
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    pack.write_bytes(bytes(data))
    redone = run(recipe, tmp_path / "redone", "--cache", str(damaged))
    assert redone["manifest"] == plain["manifest"]
    assert redone["cache"]["files_read"] == 1 and redone["cache"]["files_from_cache"] == 2
    assert redone["cache"]["pii_texts_redacted"] > 0
    list(read_checked(str(entries[0])))  # rewritten whole


def test_one_more_source_reads_only_its_files(first, tmp_path):
    recipe, cache, _, _ = first
    more = make_recipe(recipe.parent, more=MORE)
    shared = tmp_path / "cache"
    shutil.copytree(cache, shared)
    grown = run(more, tmp_path / "grown", "--cache", str(shared))
    assert grown["cache"]["files_read"] == 1 and grown["cache"]["files_from_cache"] == 3
    assert grown["manifest"] == run(more, tmp_path / "plain", "--no-cache")["manifest"]


def test_recipes_sharing_a_cache_each_get_their_own_results(first, tmp_path):
    recipe, cache, _, _ = first
    other = make_recipe(recipe.parent, stages="{pii: {entities: [EMAIL_ADDRESS], ner_kinds: []}, quality: false}")
    shared = tmp_path / "cache"
    shutil.copytree(cache, shared)
    cached = run(other, tmp_path / "shared", "--cache", str(shared))
    assert cached["cache"]["files_read"] == 3  # other options: other keys
    assert cached["manifest"] == run(other, tmp_path / "plain", "--no-cache")["manifest"]


def test_a_cache_where_a_source_reads_is_refused(first, tmp_path, capsys):
    recipe, _, _, _ = first
    code = main(["run", str(recipe), "--output", str(tmp_path / "out"), "--cache", str(recipe.parent / "data"), *BEAM])
    assert code == 2
    assert "--cache" in capsys.readouterr().err


# ---- the pieces ---------------------------------------------------------------------------

def test_checked_files_are_read_whole_or_refused(tmp_path):
    url = str(tmp_path / "entry.jsonl.zst")
    records = [{"text": "caf\u00e9 \udcff"}, [1, None, 2.5], "x" * 100_000]
    with checked_writer(url) as write:
        for record in records:
            write(record)
    assert list(read_checked(url)) == records
    whole = Path(url).read_bytes()
    Path(url).write_bytes(whole[:-10])
    with pytest.raises(CorruptFileError, match="entry.jsonl.zst"):
        read_checked(url)
    with pytest.raises(FileNotFoundError):
        read_checked(str(tmp_path / "absent.jsonl.zst"))


def test_a_failed_writer_leaves_no_file(tmp_path):
    url = tmp_path / "entry.jsonl.zst"
    with pytest.raises(RuntimeError), checked_writer(str(url)) as write:
        write({"a": 1})
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_outcomes_survive_the_record_form():
    outcomes = [
        Document(id="s/1", text="text", source="s", kind="code", added="2026-11-01", created=None,
                 metadata={"license": "MIT", "license_evidence": [{"matched": "MIT", "score": 0.5}]},
                 location="s.jsonl:1", raw="<html>"),
        Removed(id="s/2", source="s", sha256="ab" * 32, stage="quality", reason="too-short", details={"words": 3}),
        DeadLetter(stage="ingest", reason="bad-json", location="s.jsonl:3", source="s", detail="line 3"),
    ]
    back = [outcome_from_record(json.loads(json.dumps(outcome_record(o)))) for o in outcomes]
    assert back[0] == Document(**{**outcomes[0].__dict__, "raw": None})
    assert back[1:] == outcomes[1:]


def test_a_memo_gives_what_the_redactor_computes_and_spares_the_work(tmp_path, monkeypatch):
    texts = [("Write to ada@example.org today.", "text"), ("Nothing here.", "text"), ("ada@example.org", "code")]
    plain = PiiRedactor(pii_settings()).redact_many(texts)
    redactor = PiiRedactor(pii_settings())
    redactor.memo = RedactionMemo()
    assert redactor.redact_many(texts) == plain
    added = redactor.memo.take_added()
    assert len(added) == 3 and added[1][1] is None  # unchanged text: not stored again

    packs = RedactionPacks(str(tmp_path), {})
    lo, hi = slice_range(3, 8)
    packs.write(lo, hi, added)
    other = RedactionPacks(str(tmp_path), {})
    memo = other.memo_for(*slice_range(6, 16))  # another slicing, overlapping the written range
    assert len(memo.known) == 3
    assert other.memo_for(*slice_range(0, 16)).known == {}
    cached = PiiRedactor(pii_settings())
    cached.memo = memo
    monkeypatch.setattr(cached, "_redact_many", lambda texts: pytest.fail("analysed again"))
    assert cached.redact_many(texts) == plain


def test_slice_ranges_are_the_slices_of_range_of():
    for slices in (1, 3, 16, 1000):
        for slice_ in (0, slices // 2, slices - 1):
            lo, hi = slice_range(slice_, slices)
            assert range_of(lo, slices) == slice_ and range_of(hi - 1, slices) == slice_
            assert hi == 1 << 64 or range_of(hi, slices) == slice_ + 1
