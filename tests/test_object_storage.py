"""Object storage for real (issue 13): a recipe read from s3:// and published to s3://, against
moto's S3 server on 127.0.0.1, started and stopped here; then verify, license and the lookup
service on the s3 snapshot, and the same bytes as a local publish of the same recipe.

Credentials and the endpoint reach s3fs (botocore) through the environment only:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL. The recipe and the manifest hold
neither. An unreachable or misconfigured store stops a command in seconds with one line (exit 2).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from opencorpus import storage
from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.lookup.server import create_app

from conftest import free_port, moto_s3

s3fs = pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

DATA = Path(__file__).parent / "data" / "demo"
# In-process workers keep the test short; that the driver sees what workers in other processes
# wrote is test_listings_see_what_other_processes_wrote.
IN_MEMORY = ["--", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
BUCKET = "opencorpus-test"
KEY_ID = "AKIAOPENCORPUSTEST01"
SECRET = "opencorpus-test-secret-never-in-a-snapshot"
BROKEN = (
    b'{"id": "ok-1", "text": "A good line. SPDX-License-Identifier: Apache-2.0"}\n'
    b'{"id": "bad-json", "text": \n'
    b'{"id": "ok-2", "text": "Write to jane.roe@example.org about it."}\n'
)
# Sources of three kinds: a file, a glob and a folder (every file below it, at any depth).
RECIPE = f"""\
name: s3demo
date: 2026-11-01
seed: 7
sources:
  - {{name: debian, uri: s3://{BUCKET}/sources/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
  - {{name: vendored, uri: "s3://{BUCKET}/sources/vendored-*.jsonl.zst", kind: code}}
  - {{name: notes, uri: s3://{BUCKET}/sources/notes, format: jsonl}}
tokenizer: {{train: {{vocab_size: 400, sample_size: 100}}}}
output: {{shards: 2}}
"""


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on 127.0.0.1 with the sources uploaded; yields its endpoint URL."""
    with moto_s3(tmp_path_factory.mktemp("aws"), KEY_ID, SECRET) as endpoint:
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir(BUCKET)
        fs.put_file(str(DATA / "libzstd-debian.jsonl.zst"), f"{BUCKET}/sources/libzstd-debian.jsonl.zst")
        fs.put_file(str(DATA / "vendored-python.jsonl.zst"), f"{BUCKET}/sources/vendored-python.jsonl.zst")
        fs.pipe_file(f"{BUCKET}/sources/notes/2026/11/notes.jsonl", BROKEN)
        yield endpoint


@pytest.fixture(scope="module")
def published(s3, tmp_path_factory):
    """The recipe published to s3:// and, the same recipe, to a local folder: (s3 version URL,
    local version folder, what the s3 run printed and logged)."""
    folder = tmp_path_factory.mktemp("s3run")
    (folder / "recipe.yaml").write_text(RECIPE)
    capture, printed = _Capture(), io.StringIO()
    logging.getLogger().addHandler(capture)
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = main(["run", str(folder / "recipe.yaml"), "--output", f"s3://{BUCKET}/snapshots", *IN_MEMORY])
    finally:
        logging.getLogger().removeHandler(capture)
    assert code == 0, printed.getvalue()
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "local"), "--quiet", *IN_MEMORY]) == 0
    return f"s3://{BUCKET}/snapshots/s3demo/v1", folder / "local" / "s3demo" / "v1", printed.getvalue() + capture.text()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_s3_publish_equals_the_local_publish_of_the_same_recipe(published):
    s3_url, local, _ = published
    s3_files = storage.list_files(s3_url)
    assert s3_files == storage.list_files(str(local))
    assert {layout.MANIFEST, layout.DEAD_LETTER, layout.TOKENIZER} <= set(s3_files)
    assert not any(p.startswith(layout.SCRATCH) for p in s3_files)  # the scratch folder is gone
    for path in s3_files:
        if path != layout.RUN:
            assert storage.read_bytes(storage.join(s3_url, path)) == (local / path).read_bytes(), path
    s3_manifest = storage.read_bytes(storage.join(s3_url, layout.MANIFEST))
    assert _digest(s3_manifest) == _digest((local / layout.MANIFEST).read_bytes())
    assert storage.read_bytes(f"s3://{BUCKET}/snapshots/s3demo/{layout.LATEST}") == b"v1\n"
    assert storage.list_dir(f"s3://{BUCKET}/snapshots/s3demo/{layout.RUNNING}") == []  # claim released
    manifest = json.loads(s3_manifest)
    assert manifest["counts"]["input"] == 56 + 33 + 3
    assert manifest["counts"]["dead_letter"] == {"ingest": {"malformed-json": 1}}
    assert sorted(i["path"] for i in manifest["inputs"]) == [
        f"s3://{BUCKET}/sources/libzstd-debian.jsonl.zst", f"s3://{BUCKET}/sources/notes/2026/11/notes.jsonl",
        f"s3://{BUCKET}/sources/vendored-python.jsonl.zst"]
    dead = list(read_jsonl_zst(storage.join(s3_url, layout.DEAD_LETTER)))
    assert [(d["location"], d["reason"]) for d in dead] == [
        (f"s3://{BUCKET}/sources/notes/2026/11/notes.jsonl:2", "malformed-json")]


def test_no_credential_nor_endpoint_is_recorded(published, s3):
    s3_url, _, logs = published
    recorded = {name: storage.read_bytes(storage.join(s3_url, name)).decode("utf-8")
                for name in (layout.MANIFEST, layout.RUN, layout.RECIPE, layout.STATS)}
    recorded["printed and logged"] = logs
    assert "[publish]" in logs and "snapshot digest" in logs
    for name, text in recorded.items():
        for secret in (KEY_ID, SECRET, s3, s3.split("://", 1)[1]):
            assert secret not in text, (name, secret)


def test_verify_license_and_lookup_on_the_s3_snapshot(published, capsys):
    s3_url, local, _ = published
    local_digest = _digest((local / layout.MANIFEST).read_bytes())
    capsys.readouterr()
    assert main(["verify", f"s3://{BUCKET}/snapshots/s3demo"]) == 0  # a corpus root, through LATEST
    out = capsys.readouterr().out
    assert out.startswith("OK: ") and f"in {s3_url} (digest {local_digest})" in out

    doc = next(read_jsonl_zst(str(local / layout.documents_part(0))))
    sha = doc["metadata"]["sha256"]
    assert main(["license", sha, "--snapshot", f"s3://{BUCKET}/snapshots/s3demo"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and answer["id"] == doc["id"] and answer["snapshot"] == s3_url
    assert main(["license", "0" * 64, "--snapshot", s3_url]) == 3

    client = TestClient(create_app(s3_url))  # what `opencorpus serve --snapshot s3://...` serves
    info = client.get("/v1/snapshots").json()["snapshots"][0]
    assert info["digest"] == local_digest and info["url"] == "s3demo/v1"
    got = client.get(f"/v1/documents/{sha}")
    assert got.status_code == 200 and got.json()["id"] == doc["id"] and got.json()["license"] == doc["metadata"]["license"]
    assert client.get("/v1/documents/" + "0" * 64).status_code == 404


def test_a_flipped_byte_on_s3_is_named_by_verify(published, capsys):
    s3_url = published[0]
    copy = f"s3://{BUCKET}/mirror/s3demo/v1"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.copy(s3_url.removeprefix("s3://"), copy.removeprefix("s3://"), recursive=True)
    part = storage.join(copy, layout.documents_part(1))
    data = bytearray(storage.read_bytes(part))
    data[len(data) // 2] ^= 0x01
    fs.pipe_file(part.removeprefix("s3://"), bytes(data))
    capsys.readouterr()
    assert main(["verify", copy]) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH {layout.documents_part(1)}" in out and layout.documents_part(0) not in out


def test_listings_see_what_other_processes_wrote(s3):
    """A run's driver lists a folder, its workers (other processes, other clients) write into
    it, the driver lists again: it must see their files, not fsspec's cached listing."""
    other = s3fs.S3FileSystem(skip_instance_cache=True)  # another process's client
    folder = f"s3://{BUCKET}/fresh"
    storage.write_bytes(f"{folder}/a.txt", b"a")
    assert storage.list_dir(folder) == ["a.txt"] and storage.list_files(folder) == ["a.txt"]
    other.pipe_file(f"{BUCKET}/fresh/sub/b.txt", b"b")
    assert storage.list_dir(folder) == ["a.txt", "sub"]
    assert storage.list_files(folder) == ["a.txt", "sub/b.txt"]
    assert storage.exists(f"{folder}/sub/b.txt") and storage.read_bytes(f"{folder}/sub/b.txt") == b"b"
    assert [m.relative for m in storage.expand(folder)] == ["a.txt", "sub/b.txt"]
    other.rm(f"{BUCKET}/fresh", recursive=True)
    assert storage.list_files(folder) == [] and not storage.exists(f"{folder}/a.txt")


def test_exclusive_create_on_s3(s3):
    """A claim is created with a conditional PUT: of two runs, the second gets FileExistsError."""
    url = f"s3://{BUCKET}/claims/v9.json"
    storage.write_exclusive(url, b"first")
    with pytest.raises(FileExistsError):
        storage.write_exclusive(url, b"second")
    assert storage.read_bytes(url) == b"first"


def test_a_store_without_exclusive_create_falls_back_to_check_then_write(tmp_path, monkeypatch):
    calls = []

    def no_x(url, mode="rb"):
        if "x" in mode:
            calls.append(url)
            raise NotImplementedError("File mode not supported")
        return real_open(url, mode)

    real_open = storage.open_url
    monkeypatch.setattr(storage, "open_url", no_x)
    url = str(tmp_path / "claim.json")
    storage.write_exclusive(url, b"one")
    with pytest.raises(FileExistsError):
        storage.write_exclusive(url, b"two")
    assert calls == [url, url] and Path(url).read_bytes() == b"one"


# ---- unreachable or misconfigured stores: one line, exit 2, in seconds, before any work --------


@pytest.fixture
def endpoint(s3, monkeypatch):
    """Sets AWS_ENDPOINT_URL for one test (fresh s3fs clients before and after)."""

    def point_at(url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        s3fs.S3FileSystem.clear_instance_cache()

    yield point_at
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def no_beam(monkeypatch):
    """The pipeline must not start."""

    def boom(*args, **kwargs):
        raise AssertionError("the pipeline started")

    monkeypatch.setattr("opencorpus.beam.runner.run_plan", boom)


def _local_recipe(folder: Path, source: str | None = None) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "notes.jsonl").write_bytes(BROKEN)
    uri = source or "data/notes.jsonl"
    (folder / "recipe.yaml").write_text(f"name: bad\ndate: 2026-11-01\nsources:\n  - {{name: n, uri: \"{uri}\"}}\n"
                                        "stages: {pii: false}\ntokenizer: false\n")
    return folder / "recipe.yaml"


def _fails_fast(argv: list[str], capsys) -> str:
    capsys.readouterr()
    t0 = time.monotonic()
    code = main(argv)
    seconds = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 2, err
    assert seconds < 10, seconds
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opencorpus: error: "), err
    assert "Traceback" not in err and KEY_ID not in err and SECRET not in err
    return lines[0]


def test_an_output_on_a_closed_port_fails_in_seconds(endpoint, no_beam, tmp_path, capsys):
    closed = free_port()
    endpoint(f"http://127.0.0.1:{closed}")
    line = _fails_fast(["run", str(_local_recipe(tmp_path)), "--output", f"s3://{BUCKET}/snapshots"], capsys)
    assert line == (f"opencorpus: error: output s3://{BUCKET}/snapshots: cannot connect to the object store "
                    f"at http://127.0.0.1:{closed}")


def test_a_source_on_a_closed_port_fails_in_seconds(endpoint, no_beam, tmp_path, capsys):
    closed = free_port()
    endpoint(f"http://127.0.0.1:{closed}")
    recipe = _local_recipe(tmp_path, source=f"s3://{BUCKET}/sources/*.jsonl.zst")
    line = _fails_fast(["run", str(recipe), "--output", str(tmp_path / "out")], capsys)
    assert f"sources[0].uri: s3://{BUCKET}/sources/*.jsonl.zst: cannot connect" in line
    assert not (tmp_path / "out").exists()


def test_an_output_in_a_missing_bucket_fails_and_creates_no_bucket(s3, no_beam, tmp_path, capsys):
    line = _fails_fast(["run", str(_local_recipe(tmp_path)), "--output", "s3://no-such-bucket/snapshots"], capsys)
    assert line.startswith("opencorpus: error: output s3://no-such-bucket/snapshots: bucket 'no-such-bucket' "
                           "does not exist")
    assert not s3fs.S3FileSystem(skip_instance_cache=True).exists("no-such-bucket")


def test_a_source_in_a_missing_bucket_fails(s3, no_beam, tmp_path, capsys):
    recipe = _local_recipe(tmp_path, source="s3://no-such-bucket/data.jsonl")
    line = _fails_fast(["run", str(recipe), "--output", str(tmp_path / "out")], capsys)
    assert "sources[0].uri: s3://no-such-bucket/data.jsonl: bucket 'no-such-bucket' does not exist" in line


def test_missing_credentials_fail_in_seconds(endpoint, monkeypatch, no_beam, tmp_path, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    endpoint(os.environ["AWS_ENDPOINT_URL"])
    line = _fails_fast(["run", str(_local_recipe(tmp_path)), "--output", f"s3://{BUCKET}/snapshots"], capsys)
    assert f"output s3://{BUCKET}/snapshots: no credentials for the object store" in line


def test_verify_and_license_on_an_unreachable_store(endpoint, capsys):
    closed = free_port()
    endpoint(f"http://127.0.0.1:{closed}")
    line = _fails_fast(["verify", f"s3://{BUCKET}/snapshots/s3demo"], capsys)
    assert line.endswith(f"s3://{BUCKET}/snapshots/s3demo: cannot connect to the object store at http://127.0.0.1:{closed}")
    line = _fails_fast(["license", "0" * 64, "--snapshot", f"s3://{BUCKET}/snapshots/s3demo"], capsys)
    assert "cannot connect to the object store" in line


def test_a_recipe_on_s3_takes_its_relative_sources_from_its_folder(s3):
    from opencorpus.recipe import load_recipe

    url = f"s3://{BUCKET}/recipes/r.yaml"
    storage.write_bytes(url, b"name: r\ndate: 2026-11-01\nsources:\n  - {name: d, uri: ../sources/notes, format: jsonl}\n")
    recipe = load_recipe(url)
    uri = recipe.source_uri(recipe.sources[0])
    assert uri == f"s3://{BUCKET}/sources/notes"  # an object store takes '..' for part of a key
    assert [m.relative for m in storage.expand(uri)] == ["2026/11/notes.jsonl"]
