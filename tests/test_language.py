"""Offline language identification (py3langid's bundled model) on real pages."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from opencorpus.document import Document, Removed, canonical_hash
from opencorpus.recipe import RecipeError, parse_recipe
from opencorpus.stages.extract import extract_html
from opencorpus.stages.language import LanguageIdentifier, LanguageOptions

HANDBOOK = Path(__file__).parent / "data" / "html" / "debian-handbook"


def page_text(path: str) -> str:
    return extract_html((HANDBOOK / path).read_text(encoding="utf-8")).text


def doc(text: str, id: str = "s/1") -> Document:
    return Document(id=id, text=text, source="s", metadata={"sha256": canonical_hash(text)})


@functools.cache
def stage(keep: tuple[str, ...] | None) -> LanguageIdentifier:
    identifier = LanguageIdentifier(LanguageOptions(keep=frozenset(keep) if keep else None))
    identifier.setup()  # loads the model: once per option set
    return identifier


def run(options: dict, document: Document):
    [out] = stage(tuple(options["keep"]) if options["keep"] else None).process(document)
    return out


@pytest.mark.parametrize("path, text_slice, language", [
    ("en-US/sect.kali.html", slice(None), "en"),
    ("ro-RO/sect.who-is-this-book-for.html", slice(None), "ro"),
    # the Danish preface is half translated: its first paragraph is Danish, the page mostly English
    ("da-DK/preface.html", slice(0, 500), "da"),
    ("da-DK/preface.html", slice(None), "en"),
])
def test_language_and_score_in_metadata(path, text_slice, language):
    out = run({"keep": None}, doc(page_text(path)[text_slice]))
    assert out.metadata["language"] == language
    assert 0.9 <= out.metadata["language_score"] <= 1.0
    assert out.metadata["sha256"] == canonical_hash(page_text(path)[text_slice])


def test_text_without_letters_is_undetermined():
    out = run({"keep": None}, doc("1234 5678 -- 42"))
    assert (out.metadata["language"], out.metadata["language_score"]) == ("und", 0.0)


def test_keep_removes_other_languages_with_the_reason():
    ro = doc(page_text("ro-RO/sect.who-is-this-book-for.html"), "s/ro")
    out = run({"keep": ["en"]}, ro)
    assert isinstance(out, Removed)
    assert (out.stage, out.reason, out.id, out.sha256) == ("language", "not-kept:ro", "s/ro", ro.metadata["sha256"])
    assert run({"keep": ["en", "ro"]}, ro).metadata["language"] == "ro"
    code = Document(id="s/c", text=ro.text, source="s", kind="code", metadata=ro.metadata)
    assert run({"keep": ["en"]}, code).metadata["language"] == "ro"  # code sources are never dropped


def test_recipe_language_options_are_validated():
    base = "name: t\ndate: 2026-11-01\nsources: [{name: a, uri: x.jsonl}]\n"
    assert parse_recipe(base).stage("language") == {"keep": None}
    assert parse_recipe(base + "stages: {language: {keep: [ro, en, en]}}").stage("language") == {"keep": ["en", "ro"]}
    assert parse_recipe(base + "stages: {language: false}").stage("language") is None
    with pytest.raises(RecipeError, match=r"stages.language.keep: expected null"):
        parse_recipe(base + "stages: {language: {keep: en}}")
