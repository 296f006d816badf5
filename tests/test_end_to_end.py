"""The whole path through the real Beam pipeline (FnApiRunner), from recipe to verified snapshot."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from opencorpus import storage
from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.documents import order_key, shard_of
from opencorpus.formats.jsonl import read_jsonl_zst
from opencorpus.formats.tokens import read_token_shard
from opencorpus.stages.tokenize import TokenEncoder

from conftest import BEAM, DEMO_DATA, make_e2e_recipe, read_documents, read_manifest


def run(recipe: Path, output: Path, capsys) -> tuple[int, str]:
    code = main(["run", str(recipe), "--output", str(output), *BEAM])
    return code, capsys.readouterr().out


@pytest.fixture
def snapshot(e2e_snapshot):
    return e2e_snapshot


def test_every_input_is_accounted_for(snapshot):
    counts = read_manifest(snapshot)["counts"]
    removed = sum(n for r in counts["removed"].values() for n in r.values())
    dead = sum(n for r in counts["dead_letter"].values() for n in r.values())
    assert counts["input"] == 56 + 33 + 400 + 5
    assert counts["input"] == counts["output"] + removed + dead
    assert counts["output"] == len(read_documents(snapshot))


def test_bad_records_go_to_dead_letters_with_file_and_line(snapshot):
    dead = list(read_jsonl_zst(str(snapshot / layout.DEAD_LETTER)))
    assert {(d["location"], d["reason"]) for d in dead} == {
        ("data/broken.jsonl:2", "malformed-json"), ("data/broken.jsonl:3", "invalid-utf8"),
        ("data/broken.jsonl:5", "missing-field")}
    assert read_manifest(snapshot)["counts"]["dead_letter"] == {
        "ingest": {"invalid-utf8": 1, "malformed-json": 1, "missing-field": 1}}
    docs = {d["id"]: d for d in read_documents(snapshot)}
    assert docs["broken/ok-1"]["metadata"]["license"] == "Apache-2.0"
    assert docs["broken/unknown-spdx"]["metadata"]["license"] == "NOASSERTION"


def test_exact_duplicates_are_removed_and_disclosed(snapshot):
    records = [r for part in sorted((snapshot / "removed").iterdir()) for r in read_jsonl_zst(str(part))]
    removed = [r for r in records if r["stage"] == "dedup"]
    near = {r["id"]: r for r in records if r["stage"] == "near_dedup"}
    assert removed and all(r["reason"] == "exact-duplicate" for r in removed)
    assert all("text" not in r for r in records)
    docs = {d["id"]: d for d in read_documents(snapshot)}
    for r in removed:
        kept = r["details"]["duplicate_of"]
        if kept in near:  # the exact survivor was then a near-duplicate: the near survivor lists the copy
            kept = near[kept]["details"]["duplicate_of"]
        else:
            assert docs[kept]["metadata"]["sha256"] == r["sha256"] and kept < r["id"]
        assert r["id"] in [c["id"] for c in docs[kept]["metadata"]["duplicates"]]
    for r in near.values():
        assert r["reason"] == "near-duplicate"
        survivor = docs[r["details"]["duplicate_of"]]
        assert r["details"]["survivor_sha256"] == survivor["metadata"]["sha256"]
        assert r["id"] in [c["id"] for c in survivor["metadata"]["duplicates"]]
    assert len({d["metadata"]["sha256"] for d in docs.values()}) == len(docs)


def test_pii_is_redacted_and_counted(snapshot):
    emails = set()
    for r in read_jsonl_zst(str(DEMO_DATA / "debian-changelogs.jsonl.zst")):
        emails |= set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", r["text"]))
    published = "\n".join(d["text"] for d in read_documents(snapshot))
    assert emails and not [e for e in emails if e in published]
    m = read_manifest(snapshot)
    assert m["pii"]["EMAIL_ADDRESS"] >= 400 and m["pii"]["PERSON"] > 0
    stats_text = (snapshot / layout.STATS).read_text() + (snapshot / layout.MANIFEST).read_text()
    assert not [e for e in emails if e in stats_text]


def test_documents_are_dolma_records_in_their_key_range_and_order(snapshot):
    parts = sorted((snapshot / "documents").iterdir())
    for i, part in enumerate(parts):
        ids = [d["id"] for d in read_jsonl_zst(str(part))]
        assert ids and ids == sorted(ids, key=order_key)
        assert {shard_of(doc_id, len(parts)) for doc_id in ids} == {i}
    doc = read_documents(snapshot)[0]
    assert set(doc) == {"id", "text", "source", "added", "created", "metadata"}
    assert doc["added"] == "2026-11-01"
    assert {"sha256", "sha256_published", "license", "license_evidence", "pii", "duplicates"} <= set(doc["metadata"])


def test_token_shards_decode_to_the_published_text(snapshot):
    m = read_manifest(snapshot)
    tok = m["tokenizer"]
    assert tok["origin"] == "train" and tok["vocab_size"] == 600 and tok["dtype"] == "uint16"
    encoder = TokenEncoder((snapshot / layout.TOKENIZER).read_text(), tok["eos"], tok["bos"])
    total = 0
    for part in range(3):
        docs = list(read_jsonl_zst(str(snapshot / layout.documents_part(part))))
        shard = read_token_shard(str(snapshot), part)
        assert [i for i, _ in shard] == [d["id"] for d in docs]
        for doc, (_, ids) in zip(docs, shard):
            assert ids[-1] == tok["eos_id"]
            assert encoder.tokenizer.decode(ids[:-1], skip_special_tokens=False) == doc["text"]
            total += len(ids)
    assert total == m["tokens"]["total"]


def test_snapshot_verifies_and_a_flipped_byte_is_named(snapshot, tmp_path, capsys):
    copy = tmp_path / "mirror"
    shutil.copytree(snapshot, copy)
    assert main(["verify", str(copy)]) == 0
    assert "OK" in capsys.readouterr().out
    part = copy / layout.documents_part(1)
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and layout.documents_part(1) in out and layout.documents_part(0) not in out


def test_rebuild_is_byte_identical_elsewhere(snapshot, tmp_path, capsys):
    recipe = make_e2e_recipe(tmp_path / "elsewhere")
    code, out = run(recipe, tmp_path / "out2", capsys)
    assert code == 0
    again = tmp_path / "out2" / "e2e" / "v1"
    assert out.strip().splitlines()[-1] == str(again)
    assert (again / layout.MANIFEST).read_bytes() == (snapshot / layout.MANIFEST).read_bytes()
    for path in storage.list_files(str(snapshot)):
        if path != layout.RUN:
            assert (again / path).read_bytes() == (snapshot / path).read_bytes(), path


def test_publishing_onto_an_existing_version_stops_before_work(tmp_path, capsys):
    recipe = make_e2e_recipe(tmp_path / "r", extra="version: v1\nstages: {pii: false}\ntokenizer: false\n")
    assert run(recipe, tmp_path / "out", capsys)[0] == 0
    before = (tmp_path / "out" / "e2e" / "v1" / layout.MANIFEST).read_bytes()
    code = main(["run", str(recipe), "--output", str(tmp_path / "out"), *BEAM])
    assert code == 1
    assert "already published" in capsys.readouterr().err
    assert (tmp_path / "out" / "e2e" / "v1" / layout.MANIFEST).read_bytes() == before


def test_recipe_typo_is_a_usage_error(tmp_path, capsys):
    recipe = make_e2e_recipe(tmp_path / "r", extra="stages: {dedupe: {}}\n")
    assert main(["run", str(recipe), "--output", str(tmp_path / "out")]) == 2
    assert "unknown key 'dedupe' (did you mean 'dedup'?)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_hash_command(tmp_path, capsys):
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfhello\r\n")
    (tmp_path / "bad.txt").write_bytes(b"\xff")
    assert main(["hash", str(tmp_path / "a.txt")]) == 0
    assert capsys.readouterr().out.split()[0] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert main(["hash", str(tmp_path / "bad.txt")]) == 1
    assert "invalid UTF-8 at byte 0" in capsys.readouterr().err
    assert main(["hash", str(tmp_path / "missing.txt")]) == 3


def test_an_empty_source_is_reported_and_the_run_goes_on(tmp_path, capsys, caplog):
    recipe = make_e2e_recipe(tmp_path / "r", extra="stages: {pii: false}\ntokenizer: false\n")
    code, out = run(recipe, tmp_path / "out", capsys)
    assert code == 0
    assert "source nothing: no files match data/absent-*.jsonl" in caplog.text
    assert "nothing" not in read_manifest(tmp_path / "out" / "e2e" / "v1")["sources"]
