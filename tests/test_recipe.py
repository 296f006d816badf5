"""Recipes are validated completely before any work; errors name the key."""

import pytest

from opencorpus.recipe import RecipeError, load_recipe, parse_recipe

BASE = """
name: demo
date: 2026-11-01
sources:
  - {name: docs, uri: data/docs.jsonl, license: MIT}
"""


def test_defaults_are_filled_in():
    r = parse_recipe(BASE)
    assert r.sources[0].format == "jsonl" and r.sources[0].kind == "text"
    assert r.sources[0].text_field == "text" and r.sources[0].id_field == "id"
    assert set(r.stages) == {"license", "language", "quality", "dedup", "near_dedup", "pii"}
    assert all(v is not None for v in r.stages.values())
    assert r.stage("pii")["settings"] == "default" and "entities" in r.stage("pii")  # preset inlined
    assert r.output == {"uri": "./snapshots", "shards": 1}
    assert r.tokenizer["train"]["vocab_size"] == 32000 and r.tokenizer["eos"] == "<|endoftext|>"


def test_stage_off_and_resolved_form_has_no_output_uri():
    r = parse_recipe(BASE + "stages: {pii: false}\noutput: {uri: s3://bucket/x, shard_bytes: 1MB}\n")
    assert r.stage("pii") is None
    resolved = r.resolved()
    assert resolved["stages"]["pii"] is False
    assert resolved["output"] == {"shard_bytes": 1_000_000}


@pytest.mark.parametrize(
    "extra, message",
    [
        ("stagse: {}", "unknown key 'stagse' (did you mean 'stages'?)"),
        ("stages: {dedupe: {}}", "stages: unknown key 'dedupe' (did you mean 'dedup'?)"),
        ("output: {shards: 0}", "output.shards: expected an integer from 1 to 100000"),
        ("output: {shards: 2, shard_bytes: 1MB}", "give 'shards' or 'shard_bytes', not both"),
        ("tokenizer: {path: a.json, train: {}}", "tokenizer: expected exactly one of"),
        ("tokenizer: {train: {vocab_sise: 10}}", "unknown key 'vocab_sise' (did you mean 'vocab_size'?)"),
        ("stages: {pii: {settings: nosuch}}", "stages.pii.settings: no preset 'nosuch'"),
    ],
)
def test_errors_name_the_key(extra, message):
    with pytest.raises(RecipeError) as e:
        parse_recipe(BASE + extra, path="r.yaml")
    assert message in str(e.value) and str(e.value).startswith("r.yaml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\ndate: 2026-13-01\nsources: []", "not valid YAML"),
        ("name: x\ndate: yesterday\nsources: [{name: a, uri: b}]", "date: expected YYYY-MM-DD"),
        ("name: x\ndate: 2026-11-01\nsources: []", "sources: expected at least one source"),
        ("name: x\ndate: 2026-11-01\nsources: [{name: a, uri: b.jsonl, license: Foo-1.0}]",
         "sources[0].license: not a valid SPDX"),
        ("name: x\ndate: 2026-11-01\nsources: [{name: a, uri: b.jsonl, kind: book}]", "sources[0].kind: expected one of"),
        ("name: x\ndate: 2026-11-01\nsources: [{name: a, uri: b.csv}]", "sources[0].format: expected one of"),
        ("name: x\ndate: 2026-11-01\nsources: [{name: a, uri: b.jsonl}, {name: a, uri: c.jsonl}]", "used twice"),
        ("date: 2026-11-01\nsources: [{name: a, uri: b.jsonl}]", "missing required key 'name'"),
    ],
)
def test_invalid_recipes(text, message):
    with pytest.raises(RecipeError, match=None) as e:
        parse_recipe(text)
    assert message in str(e.value)


def test_relative_source_uris_come_from_the_recipe_folder(tmp_path):
    (tmp_path / "r.yaml").write_text(BASE)
    r = load_recipe(str(tmp_path / "r.yaml"))
    assert r.source_uri(r.sources[0]) == str(tmp_path / "data" / "docs.jsonl")


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="no such recipe file"):
        load_recipe(str(tmp_path / "nope.yaml"))
