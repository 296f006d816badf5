"""A published snapshot's life: takedown (every artifact agrees), diff, signatures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.formats.order import read_order
from opencorpus.formats.tokens import read_token_shard
from opencorpus.lookup.reader import Lookup
from opencorpus.lookup.server import create_app
from opencorpus.snapshot import takedown
from opencorpus.stages.tokenize import TokenEncoder

from conftest import BEAM, DEMO_DATA

RECIPE = """\
name: life
date: 2026-11-01
sources:
  - {name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}
  - {name: changelogs, uri: data/debian-changelogs.jsonl.zst}
stages: {pii: {entities: [EMAIL_ADDRESS], ner_kinds: []}}
tokenizer: {train: {vocab_size: 500, sample_size: 200}, formats: [megatron, datatrove]}
output: {shards: 3}
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A corpus root with one published version, v1 (copied before each test changes it)."""
    folder = tmp_path_factory.mktemp("life")
    (folder / "data").mkdir()
    for name in ("libzstd-debian.jsonl.zst", "debian-changelogs.jsonl.zst"):
        shutil.copy(DEMO_DATA / name, folder / "data" / name)
    (folder / "recipe.yaml").write_text(RECIPE)
    assert main(["run", str(folder / "recipe.yaml"), "--output", str(folder / "out"), "--no-cache", *BEAM]) == 0
    return folder / "out"


@pytest.fixture
def root(published, tmp_path) -> Path:
    shutil.copytree(published, tmp_path / "out")
    return tmp_path / "out"


def documents(version: Path) -> list[list[dict]]:
    return [list(read_jsonl_zst(str(version / layout.documents_part(p)))) for p in range(3)]


def pick(version: Path, count: int) -> list[dict]:
    """Documents spread over parts, some in the middle of a part (so later lines move up)."""
    parts = documents(version)
    return [parts[p][i] for p, i in [(0, 1), (0, 5), (1, 0), (2, 7), (2, 8)][:count]]


def test_a_takedown_rewrites_every_artifact_to_agree(root, capsys):
    v1 = root / "life" / "v1"
    gone = pick(v1, 5)
    hashes = [d["metadata"]["sha256"] for d in gone]
    assert main(["takedown", "--snapshot", str(root / "life"), "--hash", *hashes, "--reason", "asked by the author"]) == 0
    out = capsys.readouterr().out
    v2 = root / "life" / "v2"
    assert out.strip().splitlines()[-1] == str(v2)
    assert (root / "life" / "LATEST").read_text().strip() == "v2"

    assert main(["verify", str(v2)]) == 0
    gone_ids = {d["id"] for d in gone}
    before, after = documents(v1), documents(v2)
    assert [[d for d in part if d["id"] not in gone_ids] for part in before] == after

    manifest = json.loads((v2 / layout.MANIFEST).read_text())
    tok = manifest["tokenizer"]
    encoder = TokenEncoder((v2 / layout.TOKENIZER).read_text(), tok["eos"], tok["bos"])
    total = 0
    for part, docs in enumerate(after):
        shard = read_token_shard(str(v2), part)
        assert [i for i, _ in shard] == [d["id"] for d in docs]
        for doc, (_, ids) in zip(docs, shard):
            assert encoder.tokenizer.decode(ids[:-1], skip_special_tokens=False) == doc["text"]
            total += len(ids)
        ds = np.fromfile(v2 / layout.tokens_part(part, "ds"), dtype=np.uint16)
        assert ds.tolist() == [t for _, ids in shard for t in ids]
    assert total == manifest["tokens"]["total"]
    order = read_order(str(v2 / layout.TOKEN_ORDER))
    assert len(order) == sum(len(docs) for docs in after) == manifest["counts"]["output"]
    assert manifest["counts"]["removed"]["takedown"] == {"request": 5}
    [record] = manifest["takedowns"]
    assert record["previous"] == "v1" and record["documents"] == 5 and record["reason"] == "asked by the author"
    removed = [r for p in range(3) for r in read_jsonl_zst(str(v2 / layout.removed_part(p))) if r["stage"] == "takedown"]
    assert sorted(r["id"] for r in removed) == sorted(gone_ids)
    assert all(r["details"]["request"] == record["request"] for r in removed)

    lookup = Lookup(str(v2))
    answer = lookup.by_sha256(hashes[0])
    assert not answer["found"]
    assert answer["taken_down"] == {"version": "v2", "reason": "asked by the author", "request": record["request"]}
    assert answer["older_versions_with_it"] == [str(v1)]
    served = TestClient(create_app(str(v2), public_url="https://corpora.example/life/v2")).get(f"/v1/documents/{hashes[0]}")
    assert served.status_code == 404
    assert served.json()["taken_down"]["version"] == "v2"
    assert served.json()["older_versions_with_it"] == ["https://corpora.example/life/v1"]
    for part, docs in enumerate(after):  # every kept document is found where it now is
        for line, doc in enumerate(docs):
            found = lookup.by_sha256(doc["metadata"]["sha256_published"])
            assert found["found"] and {"part": part, "line": line} in [
                {"part": m.get("part"), "line": m.get("line")} for m in found["matches"] if m["id"] == doc["id"]]

    capsys.readouterr()
    assert main(["diff", str(v1), str(v2), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in diff["removed"]) == sorted(gone_ids) and not diff["added"] and not diff["changed"]
    assert {r["reason"] for r in diff["removed"]} == {"takedown/request"}
    assert main(["diff", str(root / "life"), "v1", "v2", "--fail-on-change"]) == 1
    assert main(["diff", str(v1), str(v1), "--fail-on-change"]) == 0


def test_a_takedown_by_source_and_from_a_file(root, tmp_path, capsys):
    listing = tmp_path / "list.txt"
    v1 = root / "life" / "v1"
    [doc] = pick(v1, 1)
    listing.write_text(f"# one hash\n{doc['metadata']['sha256_published']}\n\n")
    assert main(["takedown", "--snapshot", str(v1), "--from-file", str(listing), "--source", "debian",
                 "--reason", "r"]) == 0
    v2 = root / "life" / "v2"
    assert main(["verify", str(v2)]) == 0
    remaining = [d for part in documents(v2) for d in part]
    assert remaining and all(d["source"] == "changelogs" and d["id"] != doc["id"] for d in remaining)
    manifest = json.loads((v2 / layout.MANIFEST).read_text())
    assert manifest["sources"]["debian"]["output"] == 0 and "debian" not in manifest["tokens"]["by_source"]


def test_a_takedown_matching_nothing_publishes_nothing(root, capsys):
    code = main(["takedown", "--snapshot", str(root / "life"), "--hash", "0" * 64, "--reason", "r"])
    assert code == 3
    assert "nothing published" in capsys.readouterr().err
    assert sorted(p.name for p in (root / "life").iterdir() if p.name.startswith("v")) == ["v1"]


def test_a_malformed_list_is_rejected_whole_with_line_numbers(root, tmp_path, capsys):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{'a' * 64}\nnot a hash\n# fine\nftp//broken\n")
    code = main(["takedown", "--snapshot", str(root / "life"), "--from-file", str(listing), "--reason", "r"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{listing}:2" in err and f"{listing}:4" in err and f"{listing}:1" not in err
    assert not (root / "life" / "v2").exists()


def test_an_interrupted_takedown_leaves_latest_and_no_version(root, monkeypatch, capsys):
    [doc] = pick(root / "life" / "v1", 1)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill would: in the middle, before the manifest

    monkeypatch.setattr(takedown, "_rewrite_index", killed)
    with pytest.raises(KeyboardInterrupt):
        main(["takedown", "--snapshot", str(root / "life"), "--hash", doc["metadata"]["sha256"], "--reason", "r"])
    assert (root / "life" / "LATEST").read_text().strip() == "v1"
    assert not (root / "life" / "v2" / layout.MANIFEST).exists()
    monkeypatch.undo()
    assert main(["takedown", "--snapshot", str(root / "life"), "--hash", doc["metadata"]["sha256"], "--reason", "r"]) == 0
    assert main(["verify", str(root / "life" / "v2")]) == 0


# ---- signatures ---------------------------------------------------------------------------

def test_keygen_sign_and_verify(root, tmp_path, capsys):
    v1 = root / "life" / "v1"
    assert main(["keygen", str(tmp_path / "me")]) == 0
    assert os.stat(tmp_path / "me.key").st_mode & 0o777 == 0o600
    assert main(["keygen", str(tmp_path / "me")]) == 2  # never overwrites a key
    assert main(["verify", str(v1), "--public-key", str(tmp_path / "me.pub")]) == 1  # not signed yet
    assert "not signed" in capsys.readouterr().out
    assert main(["sign", str(v1), "--key", str(tmp_path / "me.key")]) == 0
    assert (v1 / layout.SIGNATURE).exists()
    assert main(["sign", str(v1), "--key", str(tmp_path / "me.key")]) == 1  # signed already
    capsys.readouterr()
    assert main(["verify", str(v1), "--public-key", str(tmp_path / "me.pub")]) == 0
    assert "signed by key" in capsys.readouterr().out
    assert main(["verify", str(v1)]) == 0  # the signature is not an unlisted file


def test_a_wrong_key_or_a_changed_byte_fails(root, tmp_path, capsys):
    v1 = root / "life" / "v1"
    main(["keygen", str(tmp_path / "me")])
    main(["keygen", str(tmp_path / "other")])
    main(["sign", str(v1), "--key", str(tmp_path / "me.key")])
    capsys.readouterr()
    assert main(["verify", str(v1), "--public-key", str(tmp_path / "other.pub")]) == 1
    assert "not by the given public key" in capsys.readouterr().out

    manifest = v1 / layout.MANIFEST
    data = manifest.read_bytes()
    manifest.write_bytes(data.replace(b'"corpus": "life"', b'"corpus": "lifE"'))
    assert main(["verify", str(v1), "--public-key", str(tmp_path / "me.pub")]) == 1
    assert "does not match manifest.json" in capsys.readouterr().out
    manifest.write_bytes(data)

    part = v1 / layout.documents_part(0)
    blob = bytearray(part.read_bytes())
    blob[-5] ^= 0xFF
    part.write_bytes(bytes(blob))
    assert main(["verify", str(v1), "--public-key", str(tmp_path / "me.pub")]) == 1
    out = capsys.readouterr().out
    assert layout.documents_part(0) in out and "signature" not in out  # the signature holds; the file does not


def test_reproduce_replays_the_takedowns_of_a_version(root, published, capsys):
    [doc] = pick(root / "life" / "v1", 1)
    assert main(["takedown", "--snapshot", str(root / "life"), "--hash", doc["metadata"]["sha256"], "--reason", "r"]) == 0
    capsys.readouterr()
    assert main(["reproduce", str(root / "life" / "v2"), "--inputs", str(published.parent), *BEAM]) == 0
    out = capsys.readouterr().out
    assert "replayed takedown" in out and "identical" in out
