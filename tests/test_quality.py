"""Quality presets (filters/quality/*.yaml) running datatrove's filters as a stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencorpus.document import Document, Removed, canonical_hash
from opencorpus.recipe import RecipeError, parse_recipe
from opencorpus.stages.extract import extract_html
from opencorpus.stages.quality import QualityFilter, QualityOptions

HTML = Path(__file__).parent / "data" / "html"
BASE = "name: t\ndate: 2026-11-01\nsources: [{name: a, uri: x.jsonl}]\n"
PROSE = extract_html((HTML / "python-docs" / "tutorial" / "appetite.html").read_text()).text
ROMANIAN = extract_html((HTML / "debian-handbook" / "ro-RO" / "sect.who-is-this-book-for.html").read_text()).text
SHORT = ("Debian is a free operating system that many people use on servers, desktops and small devices; "
         "its developers publish stable releases every two years with security updates.")
CODE = "\n".join(f"static int add_{i}(int a, int b) {{ return a + b * {i}; }}" for i in range(40))


def quality(stages: str = "") -> QualityFilter:
    stage = QualityFilter(QualityOptions.from_options(parse_recipe(BASE + stages).stage("quality")))
    stage.setup()
    return stage


def run(stage: QualityFilter, text: str, kind: str = "web", language: str | None = None):
    metadata = {"sha256": canonical_hash(text), **({"language": language} if language else {})}
    [out] = stage.process(Document(id="s/1", text=text, source="s", kind=kind, metadata=metadata))
    return out


def test_presets_follow_the_source_kind_and_are_inlined_in_the_recipe():
    presets = parse_recipe(BASE).stage("quality")["presets"]
    assert {k: p["name"] for k, p in presets.items()} == {"text": "off", "code": "code", "web": "web"}
    assert list(presets["web"]["filters"]) == ["gopher_quality", "c4", "fineweb", "gopher_repetition"]
    assert presets["text"]["filters"] == {}


def test_web_preset_keeps_good_prose_and_names_filter_and_reason_for_drops():
    stage = quality()
    assert run(stage, PROSE).text == PROSE  # kept, and never rewritten (C4 would drop lines)
    repeated = "The best way to learn the language is to read and write with it every day.\n" * 40
    out = run(stage, repeated)
    assert isinstance(out, Removed)
    assert (out.stage, out.reason, out.sha256) == ("quality", "fineweb:char_dup_ratio", canonical_hash(repeated))
    assert run(stage, SHORT).reason == "gopher_quality:gopher_short_doc"


def test_other_languages_are_not_judged_by_english_stop_words():
    stage = quality()
    assert run(stage, ROMANIAN, language="en").reason == "gopher_quality:gopher_enough_stop_words"
    assert run(stage, ROMANIAN, language="ro").text == ROMANIAN


def test_code_and_text_kinds_get_their_own_presets():
    stage = quality()
    assert run(stage, CODE, kind="code").text == CODE
    assert isinstance(run(stage, CODE, kind="web"), Removed)  # prose rules would drop code
    assert run(stage, "Thanks for visiting our small website.", kind="text").text == "Thanks for visiting our small website."
    assert isinstance(run(stage, "x = 1\n" * 200, kind="code"), Removed)


def test_a_recipe_can_pick_presets_per_kind():
    stage = quality("stages: {quality: {presets: {text: web}}}")
    assert run(stage, SHORT, kind="text").reason == "gopher_quality:gopher_short_doc"
    assert parse_recipe(BASE + "stages: {quality: false}").stage("quality") is None


def test_bad_presets_are_recipe_errors(tmp_path):
    with pytest.raises(RecipeError, match=r"stages.quality.presets.web: no preset 'nope'"):
        parse_recipe(BASE + "stages: {quality: {presets: {web: nope}}}")
    with pytest.raises(RecipeError, match=r"stages.quality.presets: unknown key 'book'"):
        parse_recipe(BASE + "stages: {quality: {presets: {book: web}}}")
    (tmp_path / "mine.yaml").write_text("filters: {gopher_quality: {min_doc_wordz: 3}}\n")
    options = parse_recipe(BASE + "stages: {quality: {presets: {web: mine.yaml}}}", base_dir=str(tmp_path)).stage("quality")
    with pytest.raises(ValueError, match=r"quality.presets.web \(mine.yaml\): filter 'gopher_quality'.*min_doc_wordz"):
        QualityOptions.from_options(options)
