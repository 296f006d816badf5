"""What several test modules share: the e2e recipe and one session-wide run of it (the real
pipeline, FnApiRunner, as the `e2e_snapshot` fixture), and readers of a version folder
(imported: `from conftest import read_documents`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from opencorpus.cli import main
from opencorpus.formats import layout
from opencorpus.formats.jsonl import read_jsonl_zst

DEMO_DATA = Path(__file__).parent / "data" / "demo"
BEAM = ["--", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
E2E_RECIPE = """\
name: e2e
date: 2026-11-01
seed: 7
sources:
  - {{name: debian, uri: data/libzstd-debian.jsonl.zst, kind: code, license: MIT}}
  - {{name: vendored, uri: data/vendored-python.jsonl.zst, kind: code}}
  - {{name: changelogs, uri: data/debian-changelogs.jsonl.zst}}
  - {{name: broken, uri: data/broken.jsonl}}
  - {{name: nothing, uri: "data/absent-*.jsonl", optional: true}}
tokenizer: {{train: {{vocab_size: 600, sample_size: 300}}}}
output: {{shards: 3}}
{extra}"""
BROKEN = (
    b'{"id": "ok-1", "text": "A good line. SPDX-License-Identifier: Apache-2.0"}\n'
    b'{"id": "bad-json", "text": \n'
    b'{"id": "bad-utf8", "text": "caf\xe9"}\n'
    b'{"id": "unknown-spdx", "text": "SPDX-License-Identifier: Nonsense-9.9"}\n'
    b'{"id": "no-text"}\n'
)


def make_e2e_recipe(folder: Path, extra: str = "") -> Path:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("libzstd-debian.jsonl.zst", "vendored-python.jsonl.zst", "debian-changelogs.jsonl.zst"):
        shutil.copy(DEMO_DATA / name, data / name)
    (data / "broken.jsonl").write_bytes(BROKEN)
    (folder / "recipe.yaml").write_text(E2E_RECIPE.format(extra=extra))
    return folder / "recipe.yaml"



def read_documents(version: Path) -> list[dict[str, Any]]:
    """Every published document of a version folder, in part and line order."""
    return [d for part in sorted((version / "documents").iterdir()) for d in read_jsonl_zst(str(part))]


def read_manifest(version: Path) -> dict[str, Any]:
    return json.loads((version / layout.MANIFEST).read_text())


@pytest.fixture(scope="session")
def e2e_snapshot(tmp_path_factory) -> Path:
    """The version folder of one run of the e2e recipe (every stage, a trained tokenizer, dead
    letters), shared by every test that only reads it."""
    folder = tmp_path_factory.mktemp("e2e")
    recipe = make_e2e_recipe(folder / "recipe")
    assert main(["run", str(recipe), "--output", str(folder / "out"), *BEAM]) == 0
    return folder / "out" / "e2e" / "v1"

