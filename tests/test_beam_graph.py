"""The curation graph on the real runner: no shuffle carries document text, and the output does
not depend on how documents were spilled or sliced on the way to their part."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from opencorpus import storage
from opencorpus.beam.pipeline import CurateCorpus, Plan
from opencorpus.beam.tokenizer import tokenizer_info
from opencorpus.beam.write import MeasuredEncoder
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.recipe import load_recipe
from opencorpus.sources import source_files
from opencorpus.stages.tokenize import TokenizerError, load_tokenizer, tokenizer_bytes

DATA = Path(__file__).parent / "data" / "demo"
# In every document's text, and nowhere else: found in a shuffle's input, it means text crossed.
SENTINEL = "qzxv-sentinel-of-the-document-body"
RECIPE = """\
name: graph
date: 2026-11-01
seed: 3
sources:
  - {{name: debian, uri: data/debian.jsonl, kind: code, license: MIT}}
  - {{name: vendored, uri: data/vendored.jsonl, kind: code}}
stages: {{pii: {pii}}}
tokenizer: {{train: {{vocab_size: 400, sample_size: 40}}}}
output: {{shards: 3}}
"""


def make_recipe(folder: Path, pii: str = "{}") -> Path:
    """Real documents with the sentinel in each, plus an exact and a near copy of some."""
    data = folder / "data"
    data.mkdir(parents=True)
    for name, source in (("debian", "libzstd-debian"), ("vendored", "vendored-python")):
        records = list(read_jsonl_zst(str(DATA / f"{source}.jsonl.zst")))
        records += [{**r, "id": f"{r['id']}-copy"} for r in records[:5]]
        records += [{**r, "id": f"{r['id']}-near", "text": r["text"] + "\nOne more line."} for r in records[5:10]]
        with open(data / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for r in records:
                out.write(json.dumps({**r, "text": f"{r['text']}\n{SENTINEL}\n"}) + "\n")
    (folder / "recipe.yaml").write_text(RECIPE.format(pii=pii))
    return folder / "recipe.yaml"


def build(recipe_path: Path, version: Path, slices: int = 16, spill_chars: int = 1 << 26,
          tokenizer: dict | None = None) -> beam.Pipeline:
    recipe = load_recipe(str(recipe_path))
    files = [f for spec in recipe.sources for f in source_files(spec, recipe.source_uri(spec), recipe.base_dir)]
    plan = Plan(recipe, files, str(version), tokenizer, str(version / "_scratch"), slices, spill_chars)
    p = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(direct_running_mode="in_memory"))
    _ = p | "Curate" >> CurateCorpus(plan)
    return p


def _refuse_text(element) -> None:
    if SENTINEL.encode("utf-8") in pickle.dumps(element):
        raise AssertionError("document text reached a shuffle")


def probe_shuffles(p: beam.Pipeline) -> int:
    """Check every element entering a GroupByKey (CoGroupByKey and Combine* are built on it)."""

    class Shuffles(PipelineVisitor):
        def __init__(self) -> None:
            self.inputs: list = []

        def visit_transform(self, node) -> None:
            if isinstance(node.transform, beam.GroupByKey):
                self.inputs.append(node.inputs[0])

    found = Shuffles()
    p.visit(found)
    for i, pcoll in enumerate(found.inputs):
        pcoll | f"Probe{i}" >> beam.Map(_refuse_text)
    return len(found.inputs)


def test_no_shuffle_input_carries_document_text(tmp_path):
    recipe = make_recipe(tmp_path / "r")
    p = build(recipe, tmp_path / "v")
    assert probe_shuffles(p) > 20  # exact and near dedup, slices, parts, index, stats
    p.run().wait_until_finish()
    published = [d for part in sorted((tmp_path / "v" / "documents").iterdir()) for d in read_jsonl_zst(str(part))]
    assert published and all(SENTINEL in d["text"] for d in published)
    removed = [r for part in sorted((tmp_path / "v" / "removed").iterdir()) for r in read_jsonl_zst(str(part))]
    assert {r["stage"] for r in removed} == {"dedup", "near_dedup"}


def test_the_probe_catches_text_in_a_shuffle(tmp_path):
    p = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(direct_running_mode="in_memory"))
    _ = p | beam.Create([("k", f"some text {SENTINEL}")]) | beam.GroupByKey()
    assert probe_shuffles(p) == 1
    with pytest.raises(Exception, match="document text reached a shuffle"):
        p.run().wait_until_finish()


def test_output_does_not_depend_on_spill_size_or_slices(tmp_path):
    recipe = make_recipe(tmp_path / "r", pii="false")
    for name, slices, spill_chars in (("one-slice-big-runs", 1, 1 << 26), ("many-slices-tiny-runs", 37, 2000)):
        build(recipe, tmp_path / name, slices, spill_chars).run().wait_until_finish()
        storage.remove_tree(str(tmp_path / name / "_scratch"))
    a, b = tmp_path / "one-slice-big-runs", tmp_path / "many-slices-tiny-runs"
    files = storage.list_files(str(a))
    assert files == storage.list_files(str(b)) and "documents/part-00002.jsonl.zst" in files
    assert [f for f in files if (a / f).read_bytes() != (b / f).read_bytes()] == []


def given_gpt2(recipe: Path) -> tuple[str, dict]:
    """GPT-2's tokenizer JSON, and the recipe's tokenizer settings naming it instead of training one."""
    config = {**load_recipe(str(recipe)).tokenizer, "vocab": "gpt2/encoder.json", "merges": "gpt2/vocab.bpe"}
    del config["train"]
    return tokenizer_bytes(load_tokenizer(config, str(Path(__file__).parent / "data"))).decode("utf-8"), config


def test_the_job_graph_does_not_carry_a_given_tokenizer(tmp_path):
    """Workers read a given tokenizer from the version: its JSON (2 MB for GPT-2's, 30 MB for
    some) would be pickled and compressed on the driver and sent with every job otherwise."""
    recipe = make_recipe(tmp_path)
    tokenizer_json, config = given_gpt2(recipe)
    loaded = build(recipe, tmp_path / "v1", tokenizer=tokenizer_info(tokenizer_json, config, 3))
    trained = build(recipe, tmp_path / "v1")
    size = len(loaded.to_runner_api().SerializeToString())
    assert len(tokenizer_json) > 1_000_000 and size < len(trained.to_runner_api().SerializeToString()) + 20_000


def test_a_tokenizer_changed_during_the_run_is_refused(tmp_path):
    tokenizer_json, config = given_gpt2(make_recipe(tmp_path))
    info = tokenizer_info(tokenizer_json, config, 3)
    storage.write_bytes(str(tmp_path / info["file"]), tokenizer_json.encode("utf-8"))
    assert MeasuredEncoder.of_version(str(tmp_path), info).encode_batch(["Hello world"])[0].tolist() == [15496, 995, 50256]
    storage.write_bytes(str(tmp_path / info["file"]), tokenizer_json.replace("Hello", "Howdy").encode("utf-8"))
    with pytest.raises(TokenizerError, match="tokenizer.json: changed during the run"):
        MeasuredEncoder.of_version(str(tmp_path), info)
