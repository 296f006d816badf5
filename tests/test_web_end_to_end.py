"""A `warc` and an `html` source through the real Beam pipeline (FnApiRunner, in memory)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opencorpus.cli import main
from opencorpus.document import canonical_hash
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst

from conftest import BEAM

DATA = Path(__file__).parent / "data"
RECIPE = """\
name: web
date: 2026-11-01
sources:
  # kind text: no quality preset, so example.com's one-paragraph pages stay (web would drop them)
  - {name: archive, uri: warcs, format: warc, kind: text}
  - {name: handbook, uri: handbook, format: html, kind: web, base_url: "https://debian-handbook.info/browse/"}
stages:
  language: {keep: [en, da]}
  pii: false
tokenizer: false
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    (folder / "warcs").mkdir()
    for name in ("example.warc.gz", "example-extra.warc", "example.arc.gz", "bad.arc", "example-bad.warc.gz.bad"):
        shutil.copy(DATA / "warc" / name, folder / "warcs" / name)
    shutil.copytree(DATA / "html" / "debian-handbook", folder / "handbook")
    (folder / "recipe.yaml").write_text(RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), *BEAM]) == 0
    return folder / "out" / "web" / "v1"


def records(path: Path) -> list[dict]:
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return [r for f in files for r in read_jsonl_zst(str(f))]


def test_web_sources_are_extracted_identified_filtered_and_accounted_for(snapshot):
    docs = {d["id"]: d for d in records(snapshot / "documents")}
    removed = {r["id"]: r for r in records(snapshot / "removed")}
    dead = records(snapshot / layout.DEAD_LETTER)
    counts = json.loads((snapshot / layout.MANIFEST).read_text())["counts"]
    # 1 + 2 + 1 HTML responses from the archives, 3 handbook pages
    assert counts["input"] == 7 + len(dead)
    assert counts["input"] == counts["output"] + len(removed) + len(dead)

    assert [(d["location"], d["reason"]) for d in dead] == [("warcs/example-bad.warc.gz.bad@0", "unreadable")]
    assert removed["handbook/ro-RO/sect.who-is-this-book-for.html"]["reason"] == "not-kept:ro"
    assert removed["handbook/en-US/sect.kali.html"]["reason"] == "gopher_quality:gopher_short_doc"
    assert {r["stage"] for r in removed.values()} <= {"language", "quality", "dedup"}

    page = docs["handbook/da-DK/preface.html"]
    assert page["metadata"]["url"] == "https://debian-handbook.info/browse/da-DK/preface.html"
    assert page["metadata"]["title"] == "Forord"
    assert page["metadata"]["language"] == "en" and page["metadata"]["language_score"] > 0.9
    assert page["metadata"]["sha256"] == canonical_hash(page["text"])
    assert "<" not in page["text"] and "raw" not in page


def test_warc_documents_keep_target_uri_and_warc_date(snapshot):
    removed = {r["id"]: r for r in records(snapshot / "removed")}
    docs = {d["id"]: d for d in records(snapshot / "documents")}
    everything = set(removed) | set(docs)
    assert {"archive/http://example.com/", "archive/http://example.com?example=1",
            "archive/http://example.com?example=2"} <= everything
    archived = [d for d in docs.values() if d["source"] == "archive"]
    assert archived  # the captures of example.com are one text: dedup keeps one
    for doc in archived:
        assert doc["metadata"]["url"] in doc["id"] and doc["created"].startswith("2014-")
        assert doc["metadata"]["title"] == "Example Domain" and doc["text"].startswith("This domain")
