"""`opencorpus publish VERSION_URL DEST` (issue 15): a published version copied to another root,
to memory:// and to moto's S3 server on 127.0.0.1, then checked there with `opencorpus verify`.

The snapshot is made by hand (files, build_manifest, publish, sign): no pipeline run. It holds a
file larger than mirror.CHUNK, so copies between two kinds of store stream it in pieces.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

import pytest
import zstandard

from opencorpus import storage
from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.recipe import parse_recipe
from opencorpus.snapshot import mirror
from opencorpus.snapshot.manifest import build_manifest
from opencorpus.snapshot.publish import prepare_version, publish
from opencorpus.snapshot.signing import keygen, load_private_key, sign

from conftest import moto_s3

BUCKET = "opencorpus-publish-test"
RECIPE_YAML = """\
name: demo
date: 2026-01-15
sources:
  - {name: src-name, uri: data/*.jsonl, license: MIT}
stages: {pii: false}
"""
STATS = {
    "counts": {"input": 3, "output": 2, "removed": {"dedup": {"exact-duplicate": 1}}, "dead_letter": {}},
    "pii": {},
    "licenses": {"MIT": 2},
    "sources": {"src-name": {"input": 3, "output": 2}},
    "inputs": [{"source": "src-name", "path": "data/a.jsonl", "sha256": "1" * 64, "bytes": 123}],
    "files": {layout.documents_part(0): {"documents": 2}, layout.removed_part(0): {"documents": 1}},
}
BIG = layout.tokens_part(0, "bin")  # larger than mirror.CHUNK


def _zst(rows: list[dict]) -> bytes:
    return zstandard.ZstdCompressor().compress("".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))


def make_snapshot(root: str, version: str = "v1", key_prefix: str | None = None) -> str:
    """A published (and, given a key, signed) version of corpus `demo` under `root`; its URL."""
    url, claim = prepare_version(root, "demo", version)
    try:
        files = {
            layout.RECIPE: RECIPE_YAML.encode("utf-8"),
            layout.STATS: json.dumps(STATS).encode("utf-8"),
            layout.documents_part(0): _zst([{"id": f"src-name/{i}", "text": f"document {i} ✓"} for i in range(2)]),
            layout.removed_part(0): _zst([{"id": "src-name/2", "stage": "dedup", "reason": "exact-duplicate"}]),
            BIG: os.urandom(mirror.CHUNK * 2 + 12345),
        }
        for path, data in files.items():
            storage.write_bytes(storage.join(url, path), data)
        recipe = parse_recipe(RECIPE_YAML).resolved()
        publish(url, build_manifest(url, recipe, json.loads(json.dumps(STATS))), {"output": root})
    finally:
        claim.release()
    if key_prefix is not None:
        sign(url, load_private_key(f"{key_prefix}.key"))
    return url


def contents(version_url: str) -> dict[str, bytes]:
    return {path: storage.read_bytes(storage.join(version_url, path)) for path in storage.list_files(version_url)}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on 127.0.0.1 with an empty bucket; s3fs reaches it through the environment."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    import s3fs

    with moto_s3(tmp_path_factory.mktemp("aws"), "AKIAOPENCORPUSTEST02", "test-secret"):
        s3fs.S3FileSystem(skip_instance_cache=True).mkdir(BUCKET)
        yield


def _memory_root() -> str:
    return f"memory://publish-test-{uuid.uuid4().hex}"


@pytest.fixture(params=["memory", "s3"])
def dest(request) -> str:
    """An empty destination root: on memory://, or on the S3 server."""
    if request.param == "s3":
        request.getfixturevalue("s3")
        return f"s3://{BUCKET}/corpora-{uuid.uuid4().hex}"
    root = _memory_root()
    request.addfinalizer(lambda: storage.remove_tree(root))
    return root


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> str:
    prefix = str(tmp_path_factory.mktemp("keys") / "corpus")
    keygen(prefix)
    return prefix


@pytest.fixture(scope="module")
def source(tmp_path_factory, key) -> str:
    """A signed version v1 in a local folder."""
    return make_snapshot(str(tmp_path_factory.mktemp("source")), key_prefix=key)


def test_every_file_arrives_byte_for_byte_and_verifies(source, dest, key, capsys, caplog):
    caplog.set_level(logging.INFO)
    assert main(["publish", source, dest]) == 0
    copy = storage.join(dest, "demo", "v1")
    assert capsys.readouterr().out.splitlines()[-1] == copy
    assert contents(copy) == contents(source)
    assert {layout.MANIFEST, layout.RUN, layout.SIGNATURE, BIG} <= set(contents(copy))
    assert storage.read_bytes(storage.join(dest, "demo", layout.LATEST)) == b"v1\n"
    assert main(["verify", storage.join(dest, "demo"), "--public-key", f"{key}.pub"]) == 0
    assert "OK: 5 files checked" in capsys.readouterr().out
    assert "[publish]    copied 7 files" in caplog.text and "LATEST -> v1" in caplog.text


def test_publishing_the_same_version_again_is_refused_and_changes_nothing(source, dest, capsys):
    assert main(["publish", source, dest]) == 0
    before = contents(dest)
    capsys.readouterr()
    assert main(["publish", source, dest]) == 1
    assert "already published" in capsys.readouterr().err
    assert contents(dest) == before


def test_leftovers_of_an_interrupted_publish_are_replaced(source, dest):
    leftover = storage.join(dest, "demo", "v1")
    storage.write_bytes(storage.join(leftover, layout.documents_part(0)), b"half a part")
    storage.write_bytes(storage.join(leftover, "stray.tmp"), b"from the earlier attempt")
    assert main(["publish", source, dest]) == 0
    assert contents(leftover) == contents(source)


def test_a_corrupted_copy_is_named_and_not_published(source, dest, capsys, monkeypatch):
    copy_file = mirror._copy_file

    def flipping(src: str, dst: str) -> None:
        copy_file(src, dst)
        if dst.endswith(layout.documents_part(0)):
            data = storage.read_bytes(dst)
            storage.write_bytes(dst, bytes([data[0] ^ 1]) + data[1:])

    monkeypatch.setattr(mirror, "_copy_file", flipping)
    assert main(["publish", source, dest]) == 1
    err = capsys.readouterr().err
    assert f"{layout.documents_part(0)}: expected sha256" in err and "nothing published" in err
    assert not storage.exists(storage.join(dest, "demo", "v1", layout.MANIFEST))
    assert not storage.exists(storage.join(dest, "demo", layout.LATEST))
    monkeypatch.undo()  # the next publish replaces the bad copy
    assert main(["publish", source, dest]) == 0
    assert main(["verify", storage.join(dest, "demo", "v1")]) == 0


def test_s3_to_s3_is_copied_too(source, s3):
    first, second = (f"s3://{BUCKET}/{name}-{uuid.uuid4().hex}" for name in ("first", "second"))
    assert main(["publish", source, first]) == 0
    assert main(["publish", storage.join(first, "demo", "v1"), second]) == 0
    assert contents(storage.join(second, "demo", "v1")) == contents(source)
    assert main(["verify", storage.join(second, "demo")]) == 0


def test_a_corpus_root_names_its_latest_version():
    source_root, dest_root = _memory_root(), _memory_root()
    try:
        make_snapshot(source_root, "v1")
        v2 = make_snapshot(source_root, "v2")
        assert main(["publish", storage.join(source_root, "demo"), dest_root]) == 0
        assert contents(storage.join(dest_root, "demo", "v2")) == contents(v2)
        assert not storage.exists(storage.join(dest_root, "demo", "v1"))
    finally:
        storage.remove_tree(source_root)
        storage.remove_tree(dest_root)


def test_latest_never_moves_back():
    source_root, dest_root = _memory_root(), _memory_root()
    try:
        v1, v2 = make_snapshot(source_root, "v1"), make_snapshot(source_root, "v2")
        assert main(["publish", v2, dest_root]) == 0
        assert main(["publish", v1, dest_root]) == 0
        assert storage.read_bytes(storage.join(dest_root, "demo", layout.LATEST)) == b"v2\n"
        assert main(["verify", storage.join(dest_root, "demo", "v1")]) == 0
    finally:
        storage.remove_tree(source_root)
        storage.remove_tree(dest_root)


def test_a_version_without_a_manifest_is_refused(tmp_path, capsys):
    url, claim = prepare_version(str(tmp_path), "demo", "v1")
    claim.release()
    storage.write_bytes(storage.join(url, layout.documents_part(0)), b"unfinished")
    dest_root = _memory_root()
    assert main(["publish", url, dest_root]) == 3
    assert f"{url} has no manifest.json: an unfinished version" in capsys.readouterr().err
    assert storage.list_files(dest_root) == []


def test_a_destination_inside_the_source_version_is_refused(source, capsys):
    assert main(["publish", source, storage.join(source, "mirror")]) == 2
    assert "overlap" in capsys.readouterr().err
    assert not storage.exists(storage.join(source, "mirror"))


def test_progress_is_logged_while_copying(source, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    copy_file = mirror._copy_file

    def slow(src: str, dst: str) -> None:
        copy_file(src, dst)
        time.sleep(0.05)

    monkeypatch.setattr(mirror, "_copy_file", slow)
    monkeypatch.setattr(mirror, "PROGRESS_EVERY", 0.02)
    dest_root = _memory_root()
    try:
        assert main(["publish", source, dest_root]) == 0
    finally:
        storage.remove_tree(dest_root)
    assert any(re.fullmatch(r"\[publish\] +copied [0-7]/7 files, .* of .*", r.getMessage()) for r in caplog.records)
