"""`opencorpus reproduce`: a published version rebuilt from its manifest, through the real pipeline."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.recipe import parse_recipe
from opencorpus.snapshot import reproduce

from conftest import BEAM, DEMO_DATA

INPUTS = {"debian": "libzstd-debian.jsonl.zst", "changelogs": "debian-changelogs.jsonl.zst"}
RECIPE = """\
name: repro
date: 2026-11-01
seed: 3
sources:
  - {name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}
  - {name: changelogs, uri: data/debian-changelogs.jsonl.zst}
stages: {pii: false}
tokenizer: {train: {vocab_size: 600, sample_size: 300}}
output: {shards: 2}
"""


def copy_inputs(folder: Path) -> Path:
    (folder / "data").mkdir(parents=True)
    for name in INPUTS.values():
        shutil.copy(DEMO_DATA / name, folder / "data" / name)
    return folder


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, Path]:
    """(the recipe's folder, the version it published)."""
    folder = copy_inputs(tmp_path_factory.mktemp("reproduce") / "recipe")
    (folder / "recipe.yaml").write_text(RECIPE)
    output = folder.parent / "out"
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(output), "--no-cache", *BEAM]) == 0
    return folder, output / "repro" / "v1"


def reproduce_cli(*args: str) -> int:
    return main(["reproduce", *args, *BEAM])


def test_a_fresh_snapshot_rebuilds_identically(published, capsys):
    folder, version = published
    digest = hashlib.sha256((version / layout.MANIFEST).read_bytes()).hexdigest()
    # No --inputs: the recipe's folder comes from run.json.
    assert reproduce_cli(str(version)) == 0
    out = capsys.readouterr().out
    assert f"relative source URIs from {folder}" in out
    assert "inputs: 2 files, each with the sha256 the manifest records" in out
    assert f"identical: {len(list_files(version))} files rebuilt from the manifest; digest {digest}" in out
    assert "DIFFERS" not in out


def test_a_changed_input_is_named_before_any_work(published, tmp_path, capsys, monkeypatch):
    _, version = published
    inputs = copy_inputs(tmp_path / "inputs")
    changed = inputs / "data" / INPUTS["debian"]
    changed.write_bytes(changed.read_bytes() + b"\n")
    code, dependencies = reproduce.environment()
    monkeypatch.setattr(reproduce, "environment", lambda recipe: (code, {**dependencies, "numpy": "0.0.1"}))
    assert reproduce_cli(str(version), "--inputs", str(inputs), "--scratch", str(tmp_path / "scratch")) == 2
    captured = capsys.readouterr()
    expected = hashlib.sha256((DEMO_DATA / INPUTS["debian"]).read_bytes()).hexdigest()
    found = hashlib.sha256(changed.read_bytes()).hexdigest()
    assert (f"changed input: source debian: data/{INPUTS['debian']}: sha256 {found} "
            f"({changed.stat().st_size:,} bytes) at {changed}, the manifest records sha256 {expected}") in captured.out
    assert 'warning: dependencies.numpy: "0.0.1" here' in captured.out
    assert "nothing was run" in captured.err
    assert not (tmp_path / "scratch").exists()


def test_every_missing_input_is_named(published, tmp_path, capsys):
    _, version = published
    (tmp_path / "empty").mkdir()
    assert reproduce_cli(str(version), "--inputs", str(tmp_path / "empty"), "--scratch", str(tmp_path / "scratch")) == 2
    out = capsys.readouterr().out
    for source, name in INPUTS.items():
        sha256, size = digest_of(DEMO_DATA / name)
        assert (f"missing input: source {source}: data/{name}: sha256 {sha256} ({size:,} bytes) not found; "
                f"looked for {tmp_path / 'empty' / 'data' / name}") in out
    assert not (tmp_path / "scratch").exists()


def test_a_file_changed_after_publishing_is_named(published, tmp_path, capsys):
    folder, version = published
    copy = tmp_path / "mirror" / "repro" / "v1"
    shutil.copytree(version, copy)
    damaged = "documents/part-00001.jsonl.zst"
    shutil.copy(copy / "documents" / "part-00000.jsonl.zst", copy / damaged)
    scratch = tmp_path / "scratch"
    assert reproduce_cli(str(copy), "--inputs", str(folder), "--scratch", str(scratch)) == 1
    out = capsys.readouterr().out
    differs = [line for line in out.splitlines() if line.startswith("DIFFERS")]
    assert differs == [f"DIFFERS  {damaged}: changed after publishing: the published file has "
                       f"{reproduce._show_digest(digest_of(copy / damaged))}; its manifest and the rebuild have "
                       f"{reproduce._show_digest(digest_of(version / damaged))}"]
    assert "different: digest" in out
    assert f"the rebuild: {scratch / 'repro' / 'v1'}" in out  # --scratch is kept


def test_a_missing_snapshot_is_not_found(tmp_path):
    assert reproduce_cli(str(tmp_path / "nowhere")) == 3


def test_inputs_are_matched_by_sha256_when_their_names_were_redacted(tmp_path):
    """With PII on, the manifest may record a file's name redacted; its bytes still identify it."""
    inputs = copy_inputs(tmp_path)
    recipe = parse_recipe("name: r\ndate: 2026-11-01\nsources: [{name: all, uri: 'data/*.jsonl.zst'}]\n",
                          base_dir=str(inputs))
    debian, changelogs = (digest_of(inputs / "data" / name) for name in INPUTS.values())
    manifest = {"inputs": [{"source": "all", "path": "data/<PERSON>.jsonl.zst", "sha256": debian[0], "bytes": debian[1]},
                           {"source": "all", "path": f"data/{INPUTS['changelogs']}", "sha256": changelogs[0],
                            "bytes": changelogs[1]}]}
    assert reproduce.input_problems(recipe, manifest) == []
    (inputs / "data" / "new.jsonl.zst").write_bytes(b"not in the manifest")
    assert [line.split(": sha256")[0] for line in reproduce.input_problems(recipe, manifest)] == [
        "unexpected input: source all: data/new.jsonl.zst"]


def test_a_tokenizer_the_recipe_names_is_checked_like_an_input(published, tmp_path):
    _, version = published
    recipe = parse_recipe("name: r\ndate: 2026-11-01\nsources: [{name: s, uri: s.jsonl}]\n"
                          "tokenizer: {path: tok.json}\n", base_dir=str(tmp_path))
    assert reproduce.tokenizer_problems(recipe, {}) == [f"unusable tokenizer: {tmp_path / 'tok.json'}: no such tokenizer file"]
    shutil.copy(version / layout.TOKENIZER, tmp_path / "tok.json")
    sha256 = hashlib.sha256((version / layout.TOKENIZER).read_bytes()).hexdigest()
    assert reproduce.tokenizer_problems(recipe, {"tokenizer": {"sha256": sha256}}) == []
    assert reproduce.tokenizer_problems(recipe, {"tokenizer": {"sha256": "0" * 64}}) == [
        f"changed input: tokenizer tok.json: sha256 {sha256} as loaded here from {tmp_path}, "
        f"the manifest records {'0' * 64}"]


def digest_of(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size


def list_files(version: Path) -> list[Path]:
    return [p for p in version.rglob("*") if p.is_file() and p.name not in layout.UNLISTED]
