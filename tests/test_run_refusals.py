"""`opencorpus run` refuses what it cannot do well with a message and exit 2, before any work
(issue 12: billion laughs, odd recipe files, unknown protocols, unwritable or self-reading
output, a source that matches nothing)."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest

from opencorpus.cli import EXIT_USAGE, main

RECIPE = """\
name: refusals
date: 2026-11-01
sources:
  - {{name: docs, uri: {uri}, format: {format}}}
stages: {{license: false, language: false, quality: false, dedup: false, near_dedup: false, pii: false}}
tokenizer: false
"""


def write_recipe(folder: Path, uri: str = "data/docs.jsonl") -> Path:
    """A recipe reading `uri`, beside a folder data/ holding one JSON-lines file."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "docs.jsonl").write_text(json.dumps({"id": "a", "text": "hello world"}) + "\n")
    recipe = folder / "recipe.yaml"
    fmt = "jsonl" if "jsonl" in uri else "text"
    recipe.write_text(RECIPE.format(uri=uri, format=fmt))
    return recipe


def refused(capsys, *argv: str) -> str:
    """The one-line error of a refused run (no traceback), checked to be exit 2."""
    assert main(["run", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("opencorpus: error: ")
    return err


def test_yaml_aliases_are_refused_at_once(tmp_path, capsys):
    # 615 bytes that expand to billions of list items once walked.
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    recipe = tmp_path / "laughs.yaml"
    recipe.write_text("name: x\ndate: 2026-11-01\nseed: 1\nlaughs:\n" + "".join(f"  {line}\n" for line in laughs)
                      + "version: *i\nsources: [{name: a, uri: a.jsonl}]\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    err = refused(capsys, str(recipe))
    assert "aliases (*name) are not allowed" in err and "line 6" in err
    assert time.monotonic() - started < 5  # not a timing goal: on today's code this never ends
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


@pytest.mark.parametrize("content, message", [
    (b"name: caf\xe9\n", "not UTF-8 (invalid byte at offset 9)"),
    (b"name: " + b"[" * 5000, "nested too deeply"),
    (b"name: x\n" + b"#" * 1_000_001, "a recipe is at most 1,000,000 bytes"),
])
def test_odd_recipe_files_are_usage_errors(tmp_path, capsys, content, message):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_bytes(content)
    assert message in refused(capsys, str(recipe))


def test_unknown_protocols_are_usage_errors(tmp_path, capsys):
    assert "Protocol not known: nope" in refused(capsys, "nope://bucket/recipe.yaml")
    recipe = write_recipe(tmp_path / "r", uri="nope://bucket/docs.jsonl")
    assert "sources[0].uri: cannot list nope://bucket/docs.jsonl" in refused(capsys, str(recipe))
    recipe = write_recipe(tmp_path / "r")
    assert "output nope://bucket/out: Protocol not known" in refused(capsys, str(recipe), "--output", "nope://bucket/out")


def test_unwritable_output_is_a_usage_error(tmp_path, capsys):
    recipe = write_recipe(tmp_path / "r")
    (tmp_path / "a-file").write_text("not a folder")
    err = refused(capsys, str(recipe), "--output", str(tmp_path / "a-file" / "out"))
    assert f"output {tmp_path / 'a-file' / 'out'}: cannot write the snapshot there" in err


def test_a_source_matching_nothing_is_an_error_unless_optional(tmp_path, capsys):
    recipe = write_recipe(tmp_path / "r", uri='"data/docz-*.jsonl"')
    err = refused(capsys, str(recipe), "--output", str(tmp_path / "out"))
    assert "sources[0].uri: no files match data/docz-*.jsonl (source docs)" in err and "optional: true" in err
    assert not (tmp_path / "out").exists()  # nothing published, LATEST untouched


@pytest.mark.parametrize("uri, output", [
    ("data", "data/snapshots"),                 # a folder source reads every file below it
    ('"data/**/*.jsonl"', "data/out"),          # a recursive glob too
    ("data", "data"),
])
def test_output_inside_a_source_folder_is_refused(tmp_path, capsys, uri, output):
    recipe = write_recipe(tmp_path / "r", uri=uri)
    err = refused(capsys, str(recipe), "--output", str(tmp_path / "r" / output))
    assert "the next run would read this snapshot as input" in err


def test_an_earlier_snapshot_among_the_inputs_is_refused(tmp_path, capsys):
    recipe = write_recipe(tmp_path / "r", uri='"data/*/*.jsonl"')
    (tmp_path / "r" / "data" / "out").mkdir()
    (tmp_path / "r" / "data" / "out" / "old.jsonl").write_text('{"id": "b", "text": "published before"}\n')
    err = refused(capsys, str(recipe), "--output", str(tmp_path / "r" / "data" / "out"))
    assert "reads data/out/old.jsonl from inside it" in err
