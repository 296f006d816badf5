"""The manifest takes each file's digest from its writer, hashed as the bytes went out: a run and
a takedown read back no file they wrote, and the manifest is the one hashing every file gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from opencorpus import storage
from opencorpus.beam.stats import digests_bytes
from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst, write_lines_zst
from opencorpus.snapshot.manifest import ManifestError, build_manifest, file_digests, manifest_bytes
from opencorpus.snapshot.publish import publish
from opencorpus.snapshot.verify import verify

from conftest import BEAM, DEMO_DATA

# Every kind of file a run writes: documents, removed, dead letters, index, stats, the tokenizer,
# every token layout and the training order.
RECIPE = """\
name: digests
date: 2026-11-01
sources:
  - {name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}
  - {name: broken, uri: data/broken.jsonl}
stages: {pii: {entities: [EMAIL_ADDRESS], ner_kinds: []}}
tokenizer: {train: {vocab_size: 400, sample_size: 100}, formats: [megatron, datatrove, olmo]}
output: {shards: 2}
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[str]]:
    """(corpus root, every file of it the driver hashed) after a run (v1) and a takedown of one
    document (v2), with storage.file_digest watched."""
    folder = tmp_path_factory.mktemp("digests")
    (folder / "data").mkdir()
    shutil.copy(DEMO_DATA / "libzstd-debian.jsonl.zst", folder / "data")
    (folder / "data" / "broken.jsonl").write_bytes(b'{"id": "ok", "text": "fine"}\n{"id": "bad", "text": \n')
    (folder / "recipe.yaml").write_text(RECIPE)
    root = folder / "out" / "digests"
    hashed: list[str] = []
    file_digest = storage.file_digest

    def watched(url: str) -> tuple[str, int]:
        hashed.append(url)
        return file_digest(url)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "file_digest", watched)
        assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), "--no-cache", *BEAM]) == 0
        doc = next(read_jsonl_zst(str(root / "v1" / layout.documents_part(0))))
        assert main(["takedown", "--snapshot", str(root), "--hash", doc["metadata"]["sha256"], "--reason", "r"]) == 0
    return root, [url for url in hashed if url.startswith(str(root))]


def rebuilt_by_hashing(version: Path) -> bytes:
    """The manifest of a published version, every file read and hashed (as before issue 16)."""
    manifest = json.loads((version / layout.MANIFEST).read_text())
    stats = json.loads((version / layout.STATS).read_text())
    return manifest_bytes(build_manifest(str(version), manifest["recipe"], stats))


def test_a_run_and_a_takedown_read_back_no_file_they_wrote(corpus):
    root, hashed = corpus
    assert (root / "v2" / layout.MANIFEST).exists()
    assert hashed == []


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_manifest_is_the_one_hashing_every_file_gives(corpus, version):
    root, _ = corpus
    assert rebuilt_by_hashing(root / version) == (root / version / layout.MANIFEST).read_bytes()
    assert main(["verify", str(root / version)]) == 0


def unpublished_copy(version: Path, tmp_path: Path) -> tuple[Path, dict, dict[str, storage.Digest]]:
    """A copy of a version without its manifest: (folder, stats, digests its manifest recorded)."""
    copy = tmp_path / "copy" / version.name
    shutil.copytree(version, copy)
    manifest = json.loads((copy / layout.MANIFEST).read_text())
    for name in layout.UNLISTED:
        (copy / name).unlink(missing_ok=True)
    digests = {f["path"]: storage.Digest(f["sha256"], f["bytes"]) for f in manifest["files"]}
    return copy, json.loads((copy / layout.STATS).read_text()), digests


def recipe_of(version: Path) -> dict:
    return json.loads((version / layout.MANIFEST).read_text())["recipe"]


def test_a_reported_digest_that_does_not_match_is_caught_by_verify(corpus, tmp_path):
    root, _ = corpus
    copy, stats, digests = unpublished_copy(root / "v1", tmp_path)
    wrong = layout.documents_part(1)
    digests[wrong] = digests[wrong]._replace(sha256="0" * 64)  # the right size: only a re-hash can tell
    publish(str(copy), build_manifest(str(copy), recipe_of(root / "v1"), stats, digests), {})
    report = verify(str(copy))
    assert [m.split(":")[0] for m in report.mismatches] == [wrong] and not report.missing


def test_files_no_writer_reported_are_hashed_on_the_driver(corpus, tmp_path):
    root, _ = corpus
    copy, stats, digests = unpublished_copy(root / "v1", tmp_path)
    some = {path: digest for path, digest in digests.items() if path.startswith("documents/")}
    every = build_manifest(str(copy), recipe_of(root / "v1"), stats, digests)
    assert build_manifest(str(copy), recipe_of(root / "v1"), stats, some) == every
    assert build_manifest(str(copy), recipe_of(root / "v1"), stats) == every


def test_reported_files_must_be_there_with_the_size_written(corpus, tmp_path):
    root, _ = corpus
    copy, stats, digests = unpublished_copy(root / "v1", tmp_path)
    removed = layout.removed_part(0)
    (copy / removed).unlink()
    with pytest.raises(ManifestError, match=f"reported as written are not there: {removed}"):
        build_manifest(str(copy), recipe_of(root / "v1"), {**stats, "files": {}}, digests)
    (copy / removed).write_bytes(b"cut short")
    with pytest.raises(ManifestError, match=f"changed since they were written: {removed} "
                                            rf"\(written {digests[removed].bytes} bytes, listed 9\)"):
        build_manifest(str(copy), recipe_of(root / "v1"), stats, digests)


def test_a_listed_file_gone_before_it_is_hashed_is_named(tmp_path):
    with pytest.raises(ManifestError, match="gone.bin was listed but is not there"):
        file_digests(str(tmp_path), {"gone.bin": 3}, {})


def test_the_hashing_writer_sees_the_bytes_stored(tmp_path):
    url = str(tmp_path / "lines.jsonl.zst")
    written = write_lines_zst(url, (f'{{"n":{i}}}\n'.encode() for i in range(10_000)))
    assert written.lines == 10_000 and written.digest == storage.Digest(*storage.file_digest(url))
    with storage.hashed_writer(str(tmp_path / "raw.bin")) as out:
        out.write(memoryview(b"abc"))
        out.write(b"")
    assert out.digest == storage.bytes_digest(b"abc") == storage.Digest(*storage.file_digest(str(tmp_path / "raw.bin")))


def test_one_file_reported_with_two_digests_is_refused():
    a, b = storage.bytes_digest(b"a"), storage.bytes_digest(b"b")
    assert json.loads(digests_bytes([("x", a), ("x", a)])) == {"x": {"sha256": a.sha256, "bytes": 1}}
    with pytest.raises(ValueError, match="x: reported written twice"):
        digests_bytes([("x", a), ("x", b)])
