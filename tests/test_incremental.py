"""Incremental versions (recipe `previous`): only what is new is added; the previous records
stay as published; takedowns stay in force."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.lookup.reader import Lookup

from conftest import BEAM, DEMO_DATA

RECIPE = """\
name: grow
date: 2026-11-01
{previous}sources:
  - {{name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
{more}stages: {{pii: {{entities: [EMAIL_ADDRESS], ner_kinds: []}}}}
tokenizer: {{train: {{vocab_size: 500, sample_size: 200}}}}
output: {{shards: 2}}
"""
MORE = "  - {name: changelogs, uri: data/debian-changelogs.jsonl.zst}\n"


def write_recipe(folder: Path, name: str, previous: str = "", more: str = "") -> Path:
    path = folder / name
    path.write_text(RECIPE.format(previous=f"previous: {previous}\n" if previous else "", more=more))
    return path


def published(version: Path) -> dict[str, dict]:
    parts = sorted((version / "documents").glob("*.jsonl.zst"))
    return {d["id"]: d for p in parts for d in read_jsonl_zst(str(p))}


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """v1 from one source; v2 a takedown of one of its documents; v3 incremental on v1 with a second source."""
    folder = tmp_path_factory.mktemp("grow")
    (folder / "data").mkdir()
    for name in ("libzstd-debian.jsonl.zst", "debian-changelogs.jsonl.zst"):
        shutil.copy(DEMO_DATA / name, folder / "data" / name)
    out = folder / "out"
    assert main(["run", str(write_recipe(folder, "v1.yaml")), "--output", str(out), "--no-cache", *BEAM]) == 0
    v1 = out / "grow" / "v1"
    gone = sorted(published(v1).values(), key=lambda d: d["id"])[3]
    assert main(["takedown", "--snapshot", str(v1), "--hash", gone["metadata"]["sha256"], "--reason", "asked"]) == 0
    recipe = write_recipe(folder, "v3.yaml", previous="out/grow/v1", more=MORE)
    assert main(["run", str(recipe), "--output", str(out), "--no-cache", *BEAM]) == 0
    return out / "grow", gone


def test_the_previous_documents_stay_as_published_and_only_new_ones_are_added(grown, capsys):
    corpus, gone = grown
    v1, v3 = published(corpus / "v1"), published(corpus / "v3")
    for doc_id, doc in v1.items():
        if doc_id != gone["id"]:
            assert v3[doc_id] == doc  # the record as published, duplicates entries and all
    new = set(v3) - set(v1)
    assert new and all(v3[i]["source"] == "changelogs" for i in new)
    capsys.readouterr()
    assert main(["diff", str(corpus / "v1"), str(corpus / "v3"), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert {d["id"] for d in diff["added"]} == new and not diff["changed"]
    assert [(d["id"], d["reason"]) for d in diff["removed"]] == [(gone["id"], "takedown/request")]


def test_documents_read_again_are_removed_as_already_published(grown):
    corpus, gone = grown
    manifest = json.loads((corpus / "v3" / layout.MANIFEST).read_text())
    assert manifest["previous"]["version"] == "v1"
    assert manifest["recipe"]["previous"] == "out/grow/v1"
    removed = manifest["counts"]["removed"]
    # Every debian record of v1 is read again: the published ones, and v1's exact copies of them, are already
    # there; the one taken down stays out (read anew and carried: two takedown records).
    before = json.loads((corpus / "v1" / layout.MANIFEST).read_text())["counts"]["removed"]
    copies = before.get("dedup", {}).get("exact-duplicate", 0)
    assert removed["dedup"]["already-published"] == len(published(corpus / "v1")) - 1 + copies
    assert removed["takedown"]["request"] == 2
    assert main(["verify", str(corpus / "v3")]) == 0


def test_a_taken_down_document_stays_out_and_lookups_say_so(grown):
    corpus, gone = grown
    answer = Lookup(str(corpus / "v3")).by_sha256(gone["metadata"]["sha256"])
    assert not answer["found"]
    assert answer["taken_down"]["version"] == "v2" and answer["taken_down"]["reason"] == "asked"
    assert answer["older_versions_with_it"] == [str(corpus / "v1")]
