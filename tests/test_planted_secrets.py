"""Secrets and addresses planted in every place they can hide (document text, license files,
file names, record ids and URLs, lines that become dead letters, duplicates that are removed)
appear in no published file and no log line of the run (issue 12)."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest
import zstandard

from opencorpus.cli import main

EMAIL = "planted.owner@leak-example.org"
IP = "81.169.145.77"
ACCESS_KEY = "AKIAQ3PLANTEDK7XZQ4W"
PASSWORD = "Plant3dPassw0rd"
SECRETS = (EMAIL, IP, ACCESS_KEY, PASSWORD)

RECIPE = """\
name: planted
date: 2026-11-01
sources:
  - {name: records, uri: "data/*.jsonl", kind: text, url_field: url, created_field: created}
  - {name: tree, uri: tree, format: text, kind: code}
tokenizer: {train: {vocab_size: 400, sample_size: 100}}
output: {shards: 2}
"""
PROSE = ("The build farm reports to the maintainers every night, and the summary lists each failed "
         "package with the reason it failed and the log where the reason can be read in full. ")


def _record(**fields: object) -> bytes:
    return json.dumps(fields).encode() + b"\n"


def plant(folder: Path) -> Path:
    data, tree = folder / "data", folder / "tree"
    (tree / "debian").mkdir(parents=True)
    data.mkdir()
    text = f"{PROSE}Write to {EMAIL} or connect to {IP}; key {ACCESS_KEY}; " \
           f"db postgres://admin:{PASSWORD}@db.example.org/x. {PROSE}"
    (data / f"dump-{IP}.jsonl").write_bytes(
        _record(id="plain-1", text=text)
        + _record(id=f"user-{EMAIL}", text=PROSE + " first copy.", url=f"https://admin:{PASSWORD}@example.org/p",
                  created=f"by {EMAIL}")
        + _record(id=f"dup-{EMAIL}", text=PROSE + " first copy.")  # an exact duplicate: removed/ names it
        + f'{{"id": "broken-{EMAIL}", "text": "{EMAIL} \n'.encode()  # malformed JSON
        + f'{{"id": "latin-{EMAIL}", "text": "caf\xe9 {EMAIL}"}}\n'.encode("latin-1")  # not UTF-8
        + _record(id=f"number-{EMAIL}", text=7)  # a bad field
        + _record(id=f"{IP}", text=f"{PROSE} {IP}"))
    (tree / "debian" / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Contact: Planted Owner <{EMAIL}>\n\n"
        f"Files: *\nCopyright: 2024 Planted Owner <{EMAIL}>\nLicense: Expat\n")
    (tree / f"notes-{EMAIL}.txt").write_text(f"{PROSE}Ask {EMAIL} for access.\n")
    (tree / "settings.py").write_text(f'# deploy settings\nAWS_ACCESS_KEY_ID = "{ACCESS_KEY}"\nHOST = "{IP}"\n'
                                      f'DATABASE = "postgres://admin:{PASSWORD}@db.example.org/app"\n')
    (folder / "recipe.yaml").write_text(RECIPE)
    return folder / "recipe.yaml"


def readable(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    elif path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        code = main(["run", str(plant(folder)), "--output", str(folder / "out"),
                     "--", "--direct_running_mode=in_memory", "--direct_num_workers=1"])
    finally:
        logging.getLogger().removeHandler(handler)
    return code, folder / "out" / "planted" / "v1", [r.getMessage() for r in records]


def test_the_run_completes_with_the_planted_records_accounted_for(planted_run):
    code, version, _ = planted_run
    assert code == 0
    stats = json.loads((version / "stats.json").read_text())
    assert sum(stats["counts"]["dead_letter"]["ingest"].values()) == 3
    assert stats["counts"]["removed"]["dedup"] == {"exact-duplicate": 1}
    assert stats["pii"]["EMAIL_ADDRESS"] >= 3 and stats["pii"]["ACCESS_KEY"] >= 2


def test_no_published_file_holds_a_planted_secret(planted_run):
    _, version, _ = planted_run
    files = [p for p in version.rglob("*") if p.is_file() and p.suffix not in (".bin", ".idx", ".npy", ".ds", ".index")]
    assert len(files) > 10
    for path in files:
        text = readable(path)
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {path.relative_to(version)}"
    for path in version.rglob("*"):
        assert not any(secret in path.name for secret in SECRETS), path


def test_no_log_line_holds_a_planted_secret(planted_run, capsys):
    _, _, messages = planted_run
    assert any("[publish]" in m for m in messages)
    for message in messages:
        for secret in SECRETS:
            assert secret not in message, message


def test_names_keep_their_shape_around_the_placeholders(planted_run):
    _, version, _ = planted_run
    records = [json.loads(line) for folder in ("documents", "removed") for part in sorted((version / folder).glob("*.zst"))
               for line in readable(part).splitlines()]
    ids = {record["id"] for record in records}
    assert {"records/<EMAIL_ADDRESS>", "records/<IP_ADDRESS>", "tree/<EMAIL_ADDRESS>.txt"} <= ids
    letters = [json.loads(line) for line in readable(version / "dead_letter" / "dead_letter.jsonl.zst").splitlines()]
    assert {letter["location"] for letter in letters} == {f"data/dump-<IP_ADDRESS>.jsonl:{n}" for n in (4, 5, 6)}
