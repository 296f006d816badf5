"""croissant.json of a real run, checked by mlcroissant (the consumers extra) with no network.

The run is the session's e2e run (conftest.e2e_snapshot); each test copies the files it needs,
never writing to it.
mlcroissant reads the token ranges as published and the documents once decompressed, as the
file set's description tells a reader to (cards/croissant.py says why).
"""

from __future__ import annotations

import copy
import csv
import gzip
import hashlib
import json
import re
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import zstandard

from opencorpus.cards import croissant
from opencorpus.formats import layout

from conftest import reversed_keys

mlc = pytest.importorskip("mlcroissant",
                          reason="the consumers extra is not installed (pip install -r requirements-consumers.txt)")

# rdflib, under mlcroissant, warns about its own API on every parse.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
# mlcroissant wants MAJOR.MINOR.PATCH versions; a version folder is named v1, v2, ...
VERSION_WARNING = "Version doesn't follow MAJOR.MINOR.PATCH"
# A version with no documents has no license terms to name.
NO_LICENSE_WARNING = 'Property "https://schema.org/license" is recommended'
# Strings a source, license or id may hold that JSON must escape, or that break naive HTML/JS embedding.
AWKWARD = 'q"uote \\back\\slash\nnew\tline \u2028\u2029 </script> \u00e9\U0001F600 \x00\x1f'


@pytest.fixture(scope="module")
def demo(e2e_snapshot: Path) -> Path:
    """A real run's version folder (conftest.e2e_snapshot), only read."""
    return e2e_snapshot


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Every connection attempt fails: mlcroissant must find everything in the folder."""
    def refuse(*args, **kwargs):
        raise OSError("network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def inputs(version: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, stats) as cards/__init__.py hands them to a renderer: the cards not listed."""
    manifest = json.loads((version / layout.MANIFEST).read_text(encoding="utf-8"))
    stats = json.loads((version / layout.STATS).read_text(encoding="utf-8"))
    return {**manifest, "files": [f for f in manifest["files"] if f["path"] not in layout.CARDS]}, stats


def copy_files(version: Path, folder: Path, paths: list[str]) -> None:
    for path in paths:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(version / path, folder / path)  # copyfile: not the fixture's read-only modes


def write_croissant(folder: Path, manifest: dict[str, Any], stats: dict[str, Any]) -> Path:
    path = folder / layout.CROISSANT
    path.write_bytes(croissant.render(manifest, stats))
    return path


def load(path: Path, *expected_warnings: str):
    """mlcroissant's validation: raises on any error; warnings only the expected ones."""
    dataset = mlc.Dataset(jsonld=path)
    issues = dataset.metadata.ctx.issues
    assert not issues.errors
    assert all(any(w in warning for w in (VERSION_WARNING, *expected_warnings)) for warning in issues.warnings), \
        issues.warnings
    return dataset


def read_zst_lines(path: Path) -> list[dict[str, Any]]:
    data = zstandard.ZstdDecompressor().stream_reader(path.read_bytes()).read()
    # Split at "\n" only: str.splitlines would also split at a U+2028 that JSON leaves unescaped.
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


def decompress_documents(folder: Path) -> None:
    """What the file set's description asks of an mlcroissant reader: `zstd -d --rm documents/*.jsonl.zst`."""
    for part in sorted((folder / "documents").glob("*.jsonl.zst")):
        part.with_suffix("").write_bytes(zstandard.ZstdDecompressor().stream_reader(part.read_bytes()).read())
        part.unlink()


def plain(value: Any) -> Any:
    """An mlcroissant value as JSON has it: sc:Text comes as bytes, sc:Date as a pandas Timestamp."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if hasattr(value, "date"):
        return value.date().isoformat()
    return value


def expected_value(document: dict[str, Any], source: dict[str, Any]) -> Any:
    """A declared field's value, found in the JSON line by the field's own source."""
    value = document[source["extract"]["column"]]
    if "transform" in source:
        value = value[source["transform"]["jsonPath"]]
    return value


def record_set(rendered: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in rendered["recordSet"] if r["@id"] == name)


def test_mlcroissant_reads_every_document_and_token_range(demo, tmp_path):
    manifest, stats = inputs(demo)
    parts = sorted(f["path"] for f in manifest["files"] if f["path"].startswith("documents/"))
    ranges = sorted(f["path"] for f in manifest["files"] if re.fullmatch(r"tokens/part-\d+\.csv\.gz", f["path"]))
    copy_files(demo, tmp_path, parts + ranges)
    path = write_croissant(tmp_path, manifest, stats)
    rendered = json.loads(path.read_bytes())
    documents = [doc for part in parts for doc in read_zst_lines(demo / part)]
    assert len(documents) == manifest["counts"]["output"] > 0

    # As published: the token ranges load; the zstd parts do not (mlcroissant 1.1.1 decompresses gzip only).
    dataset = load(path)
    rows = [row for part in ranges for row in csv.DictReader(gzip.open(demo / part, "rt", encoding="utf-8", newline=""))]
    got = [{k.removeprefix("token_ranges/"): plain(v) for k, v in r.items()} for r in dataset.records("token_ranges")]
    assert [{k: v for k, v in g.items() if k != "part"} for g in got] == [
        {"start": int(r["start"]), "end": int(r["end"]), "id": r["id"], "source": r["source"],
         "sha256_published": r["sha256_published"]} for r in rows]
    assert [(g["id"], g["source"], g["sha256_published"]) for g in got] == [
        (d["id"], d["source"], d["metadata"]["sha256_published"]) for d in documents]
    assert {g["part"] for g in got} == set(range(len(ranges)))
    with pytest.raises(mlc.GenerationError):
        list(dataset.records("documents"))

    decompress_documents(tmp_path)
    fields = record_set(rendered, "documents")["field"]
    got = [{k: plain(v) for k, v in r.items()} for r in load(path).records("documents")]
    assert got == [{f["@id"]: expected_value(doc, f["source"]) for f in fields} for doc in documents]
    assert {f["name"] for f in fields} >= {"id", "text", "source", "added", "license", "language", "sha256"}


def test_every_file_is_described_with_its_digest_by_a_relative_url(demo):
    manifest, stats = inputs(demo)
    rendered = json.loads(croissant.render(manifest, stats))
    objects = [d for d in rendered["distribution"] if d["@type"] == "cr:FileObject"]
    assert [(o["contentUrl"], o["sha256"], o["contentSize"]) for o in objects] == [
        (f["path"], f["sha256"], f"{f['bytes']} B") for f in manifest["files"]]
    assert rendered["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert rendered["@context"]["rai"] == "http://mlcommons.org/croissant/RAI/"
    assert rendered["datePublished"] == manifest["recipe"]["date"]
    assert rendered["version"] == manifest["version"]
    assert "NOASSERTION" in rendered["license"] and "https://spdx.org/licenses/MIT.html" in rendered["license"]
    used = {u["@id"]: u["sha256"] for u in rendered["prov:wasGeneratedBy"]["prov:used"]}
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert used == {layout.RECIPE: digests[layout.RECIPE], layout.TOKENIZER: manifest["tokenizer"]["sha256"]}
    assert rendered["prov:wasGeneratedBy"]["prov:wasAssociatedWith"]["softwareVersion"] == manifest["code"]["opencorpus"]
    steps = {s.split(", ", 1)[1].split(":")[0]: s for s in rendered["rai:dataPreprocessingProtocol"]}
    assert list(steps) == ["license", "language", "quality", "dedup", "near_dedup", "pii", "tokenize"]  # run order
    for stage, reasons in manifest["counts"]["removed"].items():
        assert all(f"{reason} {n}" in steps[stage] for reason, n in reasons.items())
    replaced = rendered["rai:personalSensitiveInformation"][1]
    assert manifest["pii"] and all(f"{kind} {n}" in replaced for kind, n in manifest["pii"].items())


def test_rendering_is_deterministic(demo):
    manifest, stats = inputs(demo)
    first = croissant.render(manifest, stats)
    assert croissant.render(copy.deepcopy(manifest), copy.deepcopy(stats)) == first
    assert croissant.render(reversed_keys(manifest), reversed_keys(stats)) == first


def test_zero_documents_still_give_a_valid_file(demo, tmp_path):
    """Every document removed: one empty documents part, no tokenizer, nothing counted."""
    manifest, stats = inputs(demo)
    empty = zstandard.ZstdCompressor().compress(b"")
    (tmp_path / "documents").mkdir()
    (tmp_path / layout.documents_part(0)).write_bytes(empty)
    part = {"path": layout.documents_part(0), "sha256": hashlib.sha256(empty).hexdigest(), "bytes": len(empty),
            "documents": 0}
    kept = [f for f in manifest["files"] if f["path"] in (layout.RECIPE, layout.STATS)]
    removed = {"dedup": {"exact-duplicate": manifest["counts"]["input"]}}
    manifest.update(files=sorted(kept + [part], key=lambda f: f["path"]), tokenizer=None, tokens=None, pii={},
                    licenses={}, sources={}, counts={**manifest["counts"], "output": 0, "removed": removed})
    stats["documents"] = {"characters": 0, "by_length": {}}
    path = write_croissant(tmp_path, manifest, stats)
    rendered = json.loads(path.read_bytes())
    load(path, NO_LICENSE_WARNING)
    assert [r["@id"] for r in rendered["recordSet"]] == ["documents"]
    assert "rai:dataBiases" not in rendered and "license" not in rendered
    assert "This version holds no documents." in rendered["rai:dataLimitations"]
    decompress_documents(tmp_path)
    assert list(load(path, NO_LICENSE_WARNING).records("documents")) == []


def test_one_source_still_gives_a_valid_file(demo, tmp_path):
    manifest, stats = inputs(demo)
    spec = manifest["recipe"]["sources"][0]
    manifest["recipe"]["sources"] = [spec]
    manifest["sources"] = {spec["name"]: manifest["sources"][spec["name"]]}
    manifest["inputs"] = [i for i in manifest["inputs"] if i["source"] == spec["name"]]
    path = write_croissant(tmp_path, manifest, stats)
    load(path)
    rendered = json.loads(path.read_bytes())
    output = manifest["sources"][spec["name"]]["output"]
    assert rendered["rai:dataBiases"][0] == f"Documents by source: {spec['name']} {output} (100.0%)."


def test_only_noassertion_licenses_still_give_a_valid_file(demo, tmp_path):
    manifest, stats = inputs(demo)
    manifest["licenses"] = {"NOASSERTION": manifest["counts"]["output"]}
    stats["documents"]["by_license_category"] = {"unknown": manifest["counts"]["output"]}
    dataset = load(write_croissant(tmp_path, manifest, stats))
    assert dataset.metadata.license == ["NOASSERTION"]


def test_strings_from_the_data_are_escaped(demo, tmp_path):
    manifest, stats = inputs(demo)
    spec = manifest["recipe"]["sources"][0]
    name = spec["name"]
    spec.update(name=AWKWARD, license=f"LicenseRef-{AWKWARD}")
    manifest["sources"][AWKWARD] = manifest["sources"].pop(name)
    manifest["licenses"] = {f"LicenseRef-x OR {AWKWARD}": 1, **manifest["licenses"]}
    manifest["counts"]["dead_letter"] = {"ingest": {AWKWARD: 1}}
    manifest["takedowns"] = [{"version": "v1", "previous": "v0", "previous_digest": "0" * 64,
                              "request": AWKWARD, "reason": AWKWARD, "documents": 1}]
    path = write_croissant(tmp_path, manifest, stats)
    rendered = json.loads(path.read_bytes().decode("utf-8"))
    assert (f"{AWKWARD} ({spec['kind']}, {spec['format']}, declared license LicenseRef-{AWKWARD})"
            in rendered["rai:dataCollection"])
    assert f"{AWKWARD} {manifest['sources'][AWKWARD]['output']} (" in rendered["rai:dataBiases"][0]
    assert f"ingest: {AWKWARD} 1." in rendered["rai:dataCollectionMissingData"]
    assert rendered["rai:dataReleaseMaintenancePlan"].endswith(f"({AWKWARD}).")
    load(path)
